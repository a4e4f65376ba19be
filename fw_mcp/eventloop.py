"""Which event loop runs the server: uvloop where it is installed, unless configured otherwise.

uvloop (libuv, in C) spends markedly less CPU per socket read, pipe write and callback than
asyncio's pure-Python selector loop; under many concurrent calls that CPU is the server's limit.
"""

from __future__ import annotations

import importlib.util
from typing import Any

from fw_mcp.errors import ConfigError
from fw_mcp.settings import Settings

__all__ = ["anyio_backend_options", "uses_uvloop", "uvicorn_loop"]


def _uvloop_installed() -> bool:
    return importlib.util.find_spec("uvloop") is not None


def uses_uvloop(settings: Settings) -> bool:
    """Raises ConfigError when uvloop is asked for by name but is not installed."""
    choice = settings.server.event_loop
    if choice == "asyncio":
        return False
    installed = _uvloop_installed()
    if choice == "uvloop" and not installed:
        raise ConfigError(
            "[server] event_loop is 'uvloop' but uvloop is not installed: `pip install uvloop`, "
            "or set event_loop (FW_MCP_EVENT_LOOP) to 'auto' or 'asyncio'."
        )
    return installed


def anyio_backend_options(settings: Settings) -> dict[str, Any]:
    """For `anyio.run(..., backend_options=...)` (the stdio server and the one-shot commands)."""
    return {"use_uvloop": True} if uses_uvloop(settings) else {}


def uvicorn_loop(settings: Settings) -> str:
    """For `uvicorn.Config(loop=...)`: its own "auto" would ignore our setting."""
    return "uvloop" if uses_uvloop(settings) else "asyncio"
