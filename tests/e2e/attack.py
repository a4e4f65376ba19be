"""Run one hostile call against a stdio server and prove the server still answers while it runs."""

from __future__ import annotations

import warnings
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import anyio
from mcp.shared.exceptions import MCPDeprecationWarning
from mcp.types import CallToolResult, EmptyResult

from fw_mcp.simulator import SimulatorServer
from tests.e2e.helpers import Session, texts


async def ping_during(
    session: Session,
    tool: str,
    arguments: dict[str, Any],
    busy: Callable[[], Awaitable[object]] | None = None,
    *,
    progress: str | None = None,
) -> CallToolResult:
    """Start the attack, wait until the server is working on it, then `ping`.

    "Working on it" is `busy()` returning, or a progress notification containing `progress`. The
    ping must be answered within 1 s while the attack call is still running.
    """
    result: list[CallToolResult] = []
    seen = anyio.Event()

    async def on_progress(value: float, total: float | None, text: str | None) -> None:
        if progress is not None and progress in (text or ""):
            seen.set()

    async def attack() -> None:
        with anyio.fail_after(30):
            result.append(await session.client.call_tool(tool, arguments, progress_callback=on_progress))

    async with anyio.create_task_group() as tg:
        tg.start_soon(attack)
        with anyio.fail_after(20):
            await (busy() if busy is not None else seen.wait())
        with anyio.fail_after(1):
            await ping(session)
        assert not result, "the attack call must still be running when the ping is answered"
    return result[0]


def ping(session: Session) -> Awaitable[EmptyResult]:
    """`ping`, a 2025-era request (sessions here use mode="legacy"); the SDK warns it is gone after."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", MCPDeprecationWarning)
        return session.client.send_ping()


def first_answer_sent(sim: SimulatorServer) -> Callable[[], Awaitable[object]]:
    """Busy = the simulator has sent the whole first answer: the server is now checking it."""
    return lambda: sim.sim.wait_for_async(lambda rs: bool(rs) and rs[0]["ended_at"] is not None, timeout=20)


def attack_twice(sim: SimulatorServer, content: str, seconds: float = 3.0) -> None:
    """The same hostile answer in both rounds of extract_json; the repair round is held back a few
    seconds, so a check that is (rightly) fast still leaves the call running for the ping."""
    whole(sim)
    sim.sim.enqueue({"reply": {"content": content}}, {"delay": seconds, "reply": {"content": content}})


def whole(sim: SimulatorServer) -> None:
    """Send each answer in a few big chunks rather than token by token: the attack is the content."""
    sim.sim.configure(chunk_words=1_000_000)


def config_file(tmp_path: Path, **sections: dict[str, object]) -> dict[str, str]:
    """FW_MCP_CONFIG pointing at a file with these sections, e.g. `limits={"max_images": 2}`."""
    path = tmp_path / "fw-mcp.toml"
    lines = [
        line
        for name, values in sections.items()
        for line in (f"[{name}]", *(f"{k} = {v!r}" for k, v in values.items()))
    ]
    path.write_text("\n".join(lines) + "\n")
    return {"FW_MCP_CONFIG": str(path)}


def message(result: CallToolResult) -> str:
    return "\n".join(texts(result))
