"""Caps on 2025-11-25 sessions: per token (429) and in total (503), each with a reason and Retry-After.

A session costs memory until the client deletes it or it idles out ([http] session_idle_timeout),
so one token could otherwise open thousands. The SDK's own total cap answers a bare "Too many open
sessions"; this one says which limit was hit and what to do, and adds the per-token limit. The
counts are the SDK session manager's own (its sessions and the principal that opened each), plus
openings still in flight, so simultaneous openings cannot overshoot.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from mcp.server.auth.middleware.bearer_auth import AuthenticatedUser, authorization_context
from mcp.server.streamable_http_manager import StreamableHTTPSessionManager
from mcp_types.version import HANDSHAKE_PROTOCOL_VERSIONS
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from fw_mcp.http.answers import INTERNAL_ERROR, reject
from fw_mcp.http.auth import principal_of

__all__ = ["SessionCaps"]

_SESSION_HEADER = b"mcp-session-id"
_VERSION_HEADER = b"mcp-protocol-version"
RETRY_AFTER_SECONDS = 5


class SessionCaps:
    def __init__(
        self,
        app: ASGIApp,
        *,
        manager: StreamableHTTPSessionManager,
        total: int,
        per_token: int,
        idle_timeout: float,
    ) -> None:
        self.app = app
        self.manager = manager
        self.total = total
        self.per_token = per_token
        self.idle_timeout = idle_timeout
        self.opening: Counter[str] = Counter()  # sessions being opened, per principal

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not self._opens_session(scope):
            await self.app(scope, receive, send)
            return
        user = scope.get("user")
        who = authorization_context(user) if isinstance(user, AuthenticatedUser) else None
        sessions: dict[str, Any] = self.manager._server_instances  # the SDK's own count (no public API)
        owners: dict[str, Any] = self.manager._session_owners
        mine = (
            sum(1 for owner in owners.values() if owner == who)
            if who is not None
            else len(sessions) - len(owners)
        ) + self.opening[principal_of(scope)]
        idle = f"sessions idle for {self.idle_timeout:g} s are closed ([http] session_idle_timeout)"
        if len(sessions) + self.opening.total() >= self.total:
            await reject(
                send,
                503,
                f"This server process has {len(sessions)} open sessions, its limit ([http] max_sessions). "
                f"Retry in a few seconds; {idle}.",
                code=INTERNAL_ERROR,
                headers=[("retry-after", str(RETRY_AFTER_SECONDS))],
            )
            return
        if mine >= self.per_token:
            await reject(
                send,
                429,
                f"This token already has {mine} open sessions, its limit ([http] max_sessions_per_token). "
                f"End unused ones (DELETE /mcp with their Mcp-Session-Id) or reuse one; {idle}.",
                headers=[("retry-after", str(RETRY_AFTER_SECONDS))],
            )
            return
        key = principal_of(scope)
        self.opening[key] += 1
        opened = False

        def done() -> None:
            nonlocal opened
            if not opened:
                opened = True
                self.opening[key] -= 1
                if not self.opening[key]:
                    del self.opening[key]

        async def answering(message: Message) -> None:
            done()  # the SDK registered the session (or refused it) before it answers
            await send(message)

        try:
            await self.app(scope, receive, answering)
        finally:
            done()

    def _opens_session(self, scope: Scope) -> bool:
        """As the SDK routes: a POST with no session id, in the 2025-11-25 era (handshake versions)."""
        if scope["type"] != "http" or scope["method"] != "POST" or self.manager.stateless:
            return False
        headers = dict(scope["headers"])
        version = headers.get(_VERSION_HEADER)
        modern = version is not None and version.decode("latin-1") not in HANDSHAKE_PROTOCOL_VERSIONS
        return _SESSION_HEADER not in headers and not modern
