"""Spawn `python -m fw_mcp` over stdio with the official MCP client, as a host does."""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio
import mcp
from mcp.client.stdio import stdio_client
from mcp.types import CallToolResult

from tests.conftest import TEST_KEY

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Session:
    client: mcp.Client
    stderr_path: Path
    progress: list[tuple[float, float | None, str | None]] = field(default_factory=list)

    def stderr(self) -> str:
        return self.stderr_path.read_text(errors="replace")

    async def call(self, tool: str, arguments: dict[str, Any], *, progress: bool = True) -> CallToolResult:
        async def on_progress(value: float, total: float | None, message: str | None) -> None:
            self.progress.append((value, total, message))

        with anyio.fail_after(30):
            return await self.client.call_tool(
                tool, arguments, progress_callback=on_progress if progress else None
            )


def server_env(base_url: str, key: str | None = TEST_KEY, **extra: str) -> dict[str, str]:
    env = {"FIREWORKS_BASE_URL": base_url, "FW_MCP_LOG_LEVEL": "INFO", **extra}
    env.setdefault("XDG_STATE_HOME", os.environ.get("XDG_STATE_HOME", ""))  # the test's, not the user's
    env.setdefault("XDG_CACHE_HOME", os.environ.get("XDG_CACHE_HOME", ""))
    if key is not None:
        env["FIREWORKS_API_KEY"] = key
    return env


@asynccontextmanager
async def stdio_session(
    env: dict[str, str], *, mode: str = "auto", cwd: Path | None = None, args: list[str] | None = None
) -> AsyncIterator[Session]:
    """The server as hosts run it: a subprocess with a minimal environment, stderr kept for inspection."""
    params = mcp.StdioServerParameters(
        command=sys.executable, args=["-m", "fw_mcp", *(args or [])], env=env, cwd=str(cwd or ROOT)
    )
    with tempfile.NamedTemporaryFile("w+", suffix=".stderr", delete=False) as errlog:
        async with mcp.Client(stdio_client(params, errlog=errlog), mode=mode) as client:  # type: ignore[arg-type]
            yield Session(client=client, stderr_path=Path(errlog.name))


def texts(result: CallToolResult) -> list[str]:
    return [block.text for block in result.content if getattr(block, "type", "") == "text"]
