"""Connections that send nothing, or dribble a request head, are closed: a slowloris guard.

uvicorn's h11 protocol arms a timer only after a response (keep-alive), and any byte disarms it: a
client that connects and never sends a byte, or sends a header line every few seconds, holds its
file descriptor for ever, unauthenticated (auth runs only once a request head is complete). Its
`limit_concurrency` would not help: it answers 503 to the legitimate requests once attackers hold
the connections. This subclass adds, per connection:

- a deadline for a complete request head ([http] request_timeout), armed when the connection opens
  and again after each response; bytes that do not complete a head do not move it;
- a cap on connections waiting for a head ([http] max_pending_connections): past it the one that
  has waited longest is closed, so a flood evicts itself while real clients (whose heads arrive in
  milliseconds) are served;
- a cap on all connections ([http] max_connections): past it a new connection is closed at once,
  after evicting a waiting one if there is any, so descriptors stay bounded.

Request bodies get the same deadline in `limits.BodyLimit`. The limits travel on uvicorn's Config
(pickled to `--workers` processes) as the `fw_mcp_connection_limits` attribute.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Any

from uvicorn.config import Config
from uvicorn.protocols.http.h11_impl import H11Protocol
from uvicorn.server import ServerState

__all__ = ["LIMITS_ATTR", "ConnectionLimits", "GuardedH11Protocol"]

logger = logging.getLogger(__name__)

LIMITS_ATTR = "fw_mcp_connection_limits"
_PENDING_ATTR = "fw_mcp_pending"
_REPORT_EVERY = 10.0  # seconds between warnings about closed connections


@dataclass(frozen=True)
class ConnectionLimits:
    request_timeout: float = 10.0
    max_pending: int = 256
    max_connections: int = 1000


@dataclass
class _Pending:
    """Connections of one server waiting for a request head, and what was closed lately."""

    waiting: set[GuardedH11Protocol]
    closed: int = 0
    reported_at: float = 0.0


class GuardedH11Protocol(H11Protocol):
    def __init__(
        self,
        config: Config,
        server_state: ServerState,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        super().__init__(config, server_state, app_state, _loop)
        self.limits: ConnectionLimits = getattr(config, LIMITS_ATTR, ConnectionLimits())
        pending = getattr(server_state, _PENDING_ATTR, None)
        if pending is None:
            pending = _Pending(set())
            setattr(server_state, _PENDING_ATTR, pending)
        self._pending: _Pending = pending
        self._head_timer: asyncio.TimerHandle | None = None
        self.waiting_since: float | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._await_head()
        waiting = self._pending.waiting
        if len(self.connections) > self.limits.max_connections:
            self._close(min(waiting, key=_age) if len(waiting) > 1 else self, "over [http] max_connections")
        if len(waiting) > self.limits.max_pending:
            self._close(min(waiting, key=_age), "over [http] max_pending_connections")

    def connection_lost(self, exc: Exception | None) -> None:
        self._head_done()
        super().connection_lost(exc)

    def handle_events(self) -> None:
        cycle = self.cycle
        super().handle_events()
        if self.cycle is not cycle:  # a complete request head arrived
            self._head_done()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.transport.is_closing() and (self.cycle is None or self.cycle.response_complete):
            self._await_head()  # kept alive: the next request's head is due within the limit too

    def _await_head(self) -> None:
        self._head_done()
        self.waiting_since = self.loop.time()
        self._pending.waiting.add(self)
        self._head_timer = self.loop.call_later(self.limits.request_timeout, self._head_timed_out)

    def _head_done(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None
        self.waiting_since = None
        self._pending.waiting.discard(self)

    def _head_timed_out(self) -> None:
        self._head_timer = None
        self._close(self, "no complete request within [http] request_timeout")

    def _close(self, victim: GuardedH11Protocol, why: str) -> None:
        victim._head_done()
        if not victim.transport.is_closing():
            victim.transport.abort()  # an attacker's unread bytes need no flushing: free the fd now
        pending = self._pending
        pending.closed += 1
        now = self.loop.time()
        if now - pending.reported_at >= _REPORT_EVERY:
            logger.warning("Closed %d idle or slow HTTP connections (latest: %s).", pending.closed, why)
            pending.closed, pending.reported_at = 0, now


def _age(protocol: GuardedH11Protocol) -> float:
    return protocol.waiting_since if protocol.waiting_since is not None else float("inf")
