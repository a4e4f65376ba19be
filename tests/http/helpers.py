"""Run `python -m fw_mcp --transport http` as an operator would, and talk to it as clients do."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio
import httpx2
import mcp
from mcp.client.streamable_http import streamable_http_client
from mcp.types import CallToolResult

from tests.conftest import INITIALIZE as INITIALIZE  # re-exported for the HTTP tests
from tests.conftest import TEST_KEY

ROOT = Path(__file__).resolve().parents[2]
ALICE = "alice-token-0123456789abcdef"
BOB = "bob-token-fedcba9876543210xyz"
SERVING = re.compile(r"Serving MCP at (http://\S+/mcp)")
START_TIMEOUT = 30.0
JSON_AND_SSE = "application/json, text/event-stream"


@dataclass
class HttpServer:
    proc: subprocess.Popen[bytes]
    url: str
    stderr_path: Path

    @property
    def root(self) -> str:
        return self.url.removesuffix("/mcp")

    def stderr(self) -> str:
        return self.stderr_path.read_text(errors="replace")


def server_env(base_url: str, key: str | None = TEST_KEY, **extra: str) -> dict[str, str]:
    """A minimal environment, as a service manager would give: no FIREWORKS_*/FW_MCP_* leaks in."""
    env = {
        "PATH": os.environ.get("PATH", ""),
        "FIREWORKS_BASE_URL": base_url,
        "FW_MCP_LOG_LEVEL": "INFO",
        "XDG_STATE_HOME": os.environ.get("XDG_STATE_HOME", ""),  # the test's usage ledger, not the user's
        **extra,
    }
    if key is not None:
        env["FIREWORKS_API_KEY"] = key
    return env


def write_config(directory: Path, text: str) -> Path:
    path = directory / "fw-mcp.toml"
    path.write_text(text)
    return path


def start(env: dict[str, str], *args: str) -> tuple[subprocess.Popen[bytes], Path]:
    with tempfile.NamedTemporaryFile("wb", suffix=".stderr", delete=False) as errlog:
        proc = subprocess.Popen(
            [sys.executable, "-m", "fw_mcp", "--transport", "http", "--port", "0", *args],
            env=env,
            cwd=ROOT,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=errlog,
        )
    return proc, Path(errlog.name)


def wait_until_serving(proc: subprocess.Popen[bytes], stderr_path: Path) -> str:
    """The URL from the startup line, once /healthz answers (workers may start after the line)."""
    deadline = time.monotonic() + START_TIMEOUT
    url = None
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"server exited with {proc.returncode}:\n{stderr_path.read_text()}")
        if url is None and (found := SERVING.search(stderr_path.read_text(errors="replace"))):
            url = found.group(1)
        if url is not None:
            try:
                if httpx2.get(url.removesuffix("/mcp") + "/healthz", timeout=1).status_code == 200:
                    return url
            except httpx2.HTTPError:
                pass
        time.sleep(0.05)
    raise AssertionError(f"server did not start within {START_TIMEOUT}s:\n{stderr_path.read_text()}")


def stop(proc: subprocess.Popen[bytes], timeout: float = 15.0) -> int:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    return proc.returncode


@contextmanager
def http_server(env: dict[str, str], *args: str) -> Iterator[HttpServer]:
    proc, stderr_path = start(env, *args)
    try:
        yield HttpServer(proc, wait_until_serving(proc, stderr_path), stderr_path)
    finally:
        stop(proc)


async def until(predicate: Callable[[], bool]) -> None:
    """Poll until `predicate()` holds (for state in another process or thread: no event to await)."""
    with anyio.fail_after(10):
        while True:
            if predicate():
                return
            await anyio.sleep(0.02)


def headers(token: str | None = None, **extra: str) -> dict[str, str]:
    out = {"Accept": JSON_AND_SSE, "Content-Type": "application/json", **extra}
    if token is not None:
        out["Authorization"] = f"Bearer {token}"
    return out


@dataclass
class Seen:
    """What crossed the wire, from httpx2 event hooks: proof of which protocol era was spoken."""

    session_ids: set[str] = field(default_factory=set)
    protocol_versions: set[str] = field(default_factory=set)
    statuses: list[int] = field(default_factory=list)


@asynccontextmanager
async def mcp_client(
    url: str, *, token: str | None = None, mode: str = "auto", extra_headers: dict[str, str] | None = None
) -> AsyncIterator[tuple[mcp.Client, Seen]]:
    """The official client over streamable HTTP, with the bearer token (and any extra headers)."""
    seen = Seen()

    async def on_request(request: httpx2.Request) -> None:
        if version := request.headers.get("mcp-protocol-version"):
            seen.protocol_versions.add(version)

    async def on_response(response: httpx2.Response) -> None:
        seen.statuses.append(response.status_code)
        if sid := response.headers.get("mcp-session-id"):
            seen.session_ids.add(sid)

    sent = {**(extra_headers or {})}
    if token is not None:
        sent["Authorization"] = f"Bearer {token}"
    async with (
        httpx2.AsyncClient(
            headers=sent,
            timeout=httpx2.Timeout(30.0),
            event_hooks={"request": [on_request], "response": [on_response]},
        ) as http,
        mcp.Client(streamable_http_client(url, http_client=http), mode=mode) as client,  # type: ignore[arg-type]
    ):
        yield client, seen


async def call(
    client: mcp.Client, tool: str, arguments: dict[str, Any], progress: list[float] | None = None
) -> CallToolResult:
    async def on_progress(value: float, total: float | None, message: str | None) -> None:
        if progress is not None:
            progress.append(value)

    with anyio.fail_after(30):
        return await client.call_tool(tool, arguments, progress_callback=on_progress)


def texts(result: CallToolResult) -> list[str]:
    return [block.text for block in result.content if getattr(block, "type", "") == "text"]
