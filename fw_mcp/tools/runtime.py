"""What every tool call needs from the process: settings, the one Fireworks client, and any watcher."""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING, Any, Protocol

from mcp.server.mcpserver import Context

if TYPE_CHECKING:  # the parts are imported when first used: hosts wait for `initialize`, which needs none
    import httpx2

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


class Runtime:
    """Yielded by the server's lifespan; shared by all calls in this process.

    The Fireworks client, the spend ledger and search's embedding cache are made on first use, with
    the modules they need: the lifespan starts before `initialize` is answered, and hosts wait for it.
    `http` is a client tests hand in; otherwise the pooled one is made on the first request.
    """

    def __init__(
        self,
        settings: Settings,
        *,
        watcher: CallWatcher | None = None,
        http: httpx2.AsyncClient | None = None,
    ) -> None:
        self.settings = settings
        self.watcher = watcher
        self._http = http
        self._made: list[httpx2.AsyncClient] = []

    @cached_property
    def client(self) -> FireworksClient:
        from fw_mcp.fireworks.client import FireworksClient

        return FireworksClient(self.settings, self._http or self._make_http)

    @cached_property
    def spend(self) -> Spend:
        from fw_mcp.spend.budget import Spend

        return Spend(self.settings.budget, self.settings.prices, "lazy")  # the store opens on first use

    @cached_property
    def embedding_cache(self) -> EmbeddingCache:
        """search's passage embeddings, shared by this process's calls ([embeddings] cache_bytes)."""
        from fw_mcp.files.cache import EmbeddingCache

        return EmbeddingCache(self.settings.embeddings.cache_bytes)

    def _make_http(self) -> httpx2.AsyncClient:
        from fw_mcp.fireworks.client import create_http_client

        self._made.append(create_http_client(self.settings))
        return self._made[-1]

    async def aclose(self) -> None:
        """Close what was made: the pooled HTTP client, and the spend store (flushing what it queued)."""
        try:
            for client in self._made:
                await client.aclose()
        finally:
            if "spend" in self.__dict__:
                await self.spend.aclose()


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
