"""Graceful shutdown: on SIGTERM stop taking work, end idle streams, let running calls finish.

uvicorn already stops accepting connections on SIGTERM, waits for open ones up to
`timeout_graceful_shutdown` ([http] shutdown_grace), cancels what is left, and then runs the
lifespan shutdown, which closes the pooled Fireworks client. Two things it cannot know are added
here. A 2025-11-25 client's standalone GET stream never ends by itself, so every shutdown would
last the whole grace period: those streams are ended as soon as the signal arrives (clients
reconnect elsewhere). And a request arriving on a kept-alive connection meanwhile gets 503 with
`Connection: close`, so a client or load balancer retries on another instance.

One thing must be switched off: sse-starlette (which streams the SDK's SSE responses) ends EVERY
SSE stream the moment uvicorn sees SIGTERM, which would cut running tool calls off before their
result. Its documented switch hands that decision to us; we end streams at lifespan shutdown,
after uvicorn's bounded wait.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import signal
import threading
from collections.abc import Callable
from types import FrameType
from typing import Any

import anyio
from sse_starlette.sse import AppStatus
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from fw_mcp.calls import RUNNING
from fw_mcp.http.answers import INTERNAL_ERROR, reject

# sse-starlette's documented switch (a declared dependency: the SDK streams SSE with it). It has no
# annotations; typed here.
_disable_sse_drain: Callable[[], None] = AppStatus.disable_automatic_graceful_drain

__all__ = ["DELIVERY_MARGIN", "Drain"]

logger = logging.getLogger(__name__)

DELIVERY_MARGIN = 2.0
"""Seconds uvicorn waits beyond [http] shutdown_grace: time for the cut calls' answers to go out."""


class Drain:
    """Shared by the middleware (counts requests, holds stream scopes) and the signal hook.

    When `grace` seconds have passed since the signal, the calls still running are cut short
    (fw_mcp.calls.RUNNING): each returns its partial answer, marked incomplete, which reaches its
    client in the DELIVERY_MARGIN uvicorn waits beyond the grace period.
    """

    def __init__(self, grace: float = math.inf) -> None:
        self.draining = False
        self.in_flight = 0
        self.grace = grace
        self._streams: set[anyio.CancelScope] = set()
        self._cut: asyncio.TimerHandle | None = None

    def begin(self) -> None:
        """Start draining (idempotent); runs on the event loop."""
        if self.draining:
            return
        self.draining = True
        logger.info(
            "Shutting down: refusing new requests, ending %d idle streams, waiting for %d requests in flight.",
            len(self._streams),
            self.in_flight,
        )
        for scope in list(self._streams):
            scope.cancel()
        if math.isfinite(self.grace):
            self._cut = asyncio.get_running_loop().call_later(self.grace, self._cut_running_calls)

    def stop_timer(self) -> None:
        if self._cut is not None:
            self._cut.cancel()
            self._cut = None

    def _cut_running_calls(self) -> None:
        self._cut = None
        if count := RUNNING.cut_all():
            logger.warning(
                "Shutdown grace period (%g s) over: ending %d running calls with their partial answers.",
                self.grace,
                count,
            )

    def install_signal_hook(self) -> None:
        """Chain a handler in front of uvicorn's own for SIGTERM/SIGINT (only the main thread can)."""
        _disable_sse_drain()
        if threading.current_thread() is not threading.main_thread():
            return
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            previous = signal.getsignal(sig)
            if not callable(previous):
                continue

            def handler(signum: int, frame: FrameType | None, previous: Any = previous) -> None:
                loop.call_soon_threadsafe(self.begin)
                previous(signum, frame)

            signal.signal(sig, handler)

    @staticmethod
    def end_all_streams() -> None:
        """At lifespan shutdown, after uvicorn's bounded wait: let sse-starlette close what is left."""
        AppStatus.should_exit = True

    def middleware(self, app: ASGIApp) -> ASGIApp:
        async def drained(scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] != "http":
                await app(scope, receive, send)
                return
            if self.draining:
                await reject(
                    send,
                    503,
                    "This server is shutting down; retry (another instance will take the request).",
                    code=INTERNAL_ERROR,
                    headers=[("retry-after", "1"), ("connection", "close")],
                )
                return
            if scope["method"] == "GET":
                await self._stream(app, scope, receive, send)
                return
            self.in_flight += 1
            try:
                await app(scope, receive, send)
            finally:
                self.in_flight -= 1

        return drained

    async def _stream(self, app: ASGIApp, scope: Scope, receive: Receive, send: Send) -> None:
        """A standalone SSE stream, cancelled when draining begins and then closed cleanly."""
        state = {"started": False, "ended": False}

        async def watched(message: Message) -> None:
            if message["type"] == "http.response.start":
                state["started"] = True
            elif message["type"] == "http.response.body" and not message.get("more_body", False):
                state["ended"] = True
            await send(message)

        with anyio.CancelScope() as cancel_scope:
            self._streams.add(cancel_scope)
            try:
                await app(scope, receive, watched)
            finally:
                self._streams.discard(cancel_scope)
        if cancel_scope.cancelled_caught and state["started"] and not state["ended"]:
            with contextlib.suppress(OSError, RuntimeError):
                await send({"type": "http.response.body", "body": b"", "more_body": False})
