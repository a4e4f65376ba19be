"""Tool calls in flight, seen from outside the tools: stopped when nobody waits, cut short at shutdown.

Two hooks, neither of which knows a transport:

- `CallWatch`: a transport that can see its client hang up (the HTTP server, for each POST) attaches
  one to the request; the server runs each tool call under it, so a closed connection cancels the
  call (closing the upstream stream) in every protocol era, and the transport can wait until the
  call has really ended before it frees what the call held (its per-token slot).
- `RUNNING`: every upstream call registers here; `cut_all()` (when a shutdown's grace period ends)
  stops them so each returns what it has so far, marked incomplete, before its stream closes.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

import anyio

__all__ = ["CALL_WATCH", "RUNNING", "CallWatch", "RunningCalls"]

logger = logging.getLogger(__name__)

CALL_WATCH = "fw_mcp_call_watch"
"""The request-state attribute (ASGI `scope["state"]`) that holds a request's CallWatch."""


class CallWatch:
    """One request's tool calls: cancelled once its client has gone; `settled()` when none runs."""

    def __init__(self) -> None:
        self.disconnected = False
        self._scopes: set[anyio.CancelScope] = set()
        self._idle = anyio.Event()
        self._idle.set()

    def disconnect(self) -> None:
        """The client closed the connection: nobody will read the answers, so stop the calls."""
        if self.disconnected:
            return
        self.disconnected = True
        for scope in list(self._scopes):
            scope.cancel()

    @contextmanager
    def running(self) -> Iterator[anyio.CancelScope]:
        """Run one call; its scope is cancelled when (or if already) the client disconnected."""
        scope = anyio.CancelScope()
        if self.disconnected:
            scope.cancel()
        if not self._scopes:
            self._idle = anyio.Event()
        self._scopes.add(scope)
        try:
            with scope:
                yield scope
        finally:
            self._scopes.discard(scope)
            if not self._scopes:
                self._idle.set()

    @property
    def busy(self) -> bool:
        """A call is running under this watch."""
        return bool(self._scopes)

    async def settled(self) -> None:
        """Return once no call runs under this watch (at once if none ever started)."""
        await self._idle.wait()


class RunningCalls:
    """The upstream calls of this process, each in a scope a shutdown can cut."""

    def __init__(self) -> None:
        self._scopes: set[anyio.CancelScope] = set()

    def __len__(self) -> int:
        return len(self._scopes)

    @contextmanager
    def track(self) -> Iterator[anyio.CancelScope]:
        """Run one upstream call; `scope.cancelled_caught` afterwards means it was cut short."""
        scope = anyio.CancelScope()
        self._scopes.add(scope)
        try:
            with scope:
                yield scope
        finally:
            self._scopes.discard(scope)

    def cut_all(self) -> int:
        """Stop every call running now; returns how many there were."""
        for scope in list(self._scopes):
            scope.cancel()
        return len(self._scopes)


RUNNING = RunningCalls()
