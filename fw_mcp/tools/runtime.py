"""What every tool call needs from the process: settings, the one Fireworks client, and any watcher."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from mcp.server.mcpserver import Context

from fw_mcp.files.cache import EmbeddingCache
from fw_mcp.fireworks.client import FireworksClient
from fw_mcp.fireworks.events import ClientEvent
from fw_mcp.fireworks.stream import StreamAccumulator
from fw_mcp.settings import Settings
from fw_mcp.spend.budget import Spend

__all__ = ["CallWatcher", "Runtime", "api_key_of", "identity_of", "runtime_of"]


class CallWatcher(Protocol):
    """Sees every call's output and client events as data, besides the host's progress messages.

    `fw-mcp call` is one: it runs the server in-process and renders these for a terminal.
    """

    def on_delta(self, acc: StreamAccumulator) -> None: ...

    async def on_event(self, event: ClientEvent) -> None: ...


@dataclass(frozen=True)
class Runtime:
    """Yielded by the server's lifespan; shared by all calls in this process."""

    settings: Settings
    client: FireworksClient
    spend: Spend
    watcher: CallWatcher | None = None
    # search's passage embeddings, shared by the calls of this process (bounded by [embeddings] cache_bytes)
    embedding_cache: EmbeddingCache = field(default_factory=lambda: EmbeddingCache(0))


def runtime_of(ctx: Context[Any, Any]) -> Runtime:
    runtime = ctx.request_context.lifespan_context
    assert isinstance(runtime, Runtime)
    return runtime


def api_key_of(ctx: Context[Any, Any]) -> str | None:
    """A per-request key the transport attached (HTTP deployments), else None for the configured key."""
    state = getattr(ctx.request_context, "request", None)
    key = getattr(getattr(state, "state", None), "fireworks_api_key", None)
    return key if isinstance(key, str) and key else None


def identity_of(ctx: Context[Any, Any]) -> str | None:
    """Who is calling over HTTP with auth: the static token's name, or the JWT's subject (one issuer is
    configured, so the subject alone names a user). None over stdio and over HTTP without auth.
    """
    scope = getattr(getattr(ctx.request_context, "request", None), "scope", None)
    user = scope.get("user") if isinstance(scope, dict) else None
    token = getattr(user, "access_token", None)
    if token is None:
        return None
    name = getattr(token, "subject", None) or getattr(token, "client_id", None)
    return str(name) if name else None
