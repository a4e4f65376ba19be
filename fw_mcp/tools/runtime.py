"""What every tool call needs from the process: settings and the one Fireworks client."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from mcp.server.mcpserver import Context

from fw_mcp.fireworks.client import FireworksClient
from fw_mcp.settings import Settings

__all__ = ["Runtime", "runtime_of"]


@dataclass(frozen=True)
class Runtime:
    """Yielded by the server's lifespan; shared by all calls in this process."""

    settings: Settings
    client: FireworksClient


def runtime_of(ctx: Context[Any, Any]) -> Runtime:
    return ctx.request_context.lifespan_context


def api_key_of(ctx: Context[Any, Any]) -> str | None:
    """A per-request key the transport attached (HTTP deployments), else None for the configured key."""
    state = getattr(ctx.request_context, "request", None)
    key = getattr(getattr(state, "state", None), "fireworks_api_key", None)
    return key if isinstance(key, str) and key else None
