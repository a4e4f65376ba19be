"""Stream tokens to the host as MCP progress, coalesced so a fast model cannot flood the pipe.

At most one notification per `interval` in which new tokens arrived (the first goes out at once),
none while nothing new arrives, `progress` strictly increasing, and the last one always sent before
the tool returns its result (a late notification can tear down a host's stdio connection).
"""

from __future__ import annotations

import logging
import math
from types import TracebackType
from typing import Any

import anyio
from anyio.abc import TaskGroup
from mcp.server.mcpserver import Context

from fw_mcp.fireworks.stream import StreamAccumulator

__all__ = ["ProgressReporter"]

logger = logging.getLogger(__name__)

_TAIL = 160


class ProgressReporter:
    """`on_delta` is the client's hook (sync, cheap); a background task does the sending."""

    def __init__(self, ctx: Context[Any, Any], interval: float, total: int | None) -> None:
        self._ctx = ctx
        self._interval = interval
        self._total = total
        self._acc: StreamAccumulator | None = None
        self._sent_tokens = 0
        self._offset = 0
        self._sent_statuses = 0
        self._last_sent = -math.inf
        self._wake = anyio.Event()
        self._closing = False
        self._tg: TaskGroup | None = None

    async def __aenter__(self) -> ProgressReporter:
        # Always on: the SDK drops notifications when the caller sent no progress token.
        self._tg = anyio.create_task_group()
        await self._tg.__aenter__()
        self._tg.start_soon(self._flush_loop)
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._tg is None:
            return
        self._closing = True
        self._tg.cancel_scope.cancel()  # don't let a pending coalescing sleep delay the result
        # Exit as if clean: the only child is the flusher, now cancelled, so the body's own
        # exception (if any) propagates as itself rather than inside an ExceptionGroup.
        await self._tg.__aexit__(None, None, None)
        if exc_type is None:
            await self._send_tokens()  # the last notification, before the result

    def on_delta(self, acc: StreamAccumulator) -> None:
        self._acc = acc
        self._wake.set()

    def restart(self) -> None:
        """A new round (e.g. extract_json's repair) counts on from the tokens already sent."""
        self._offset = self._sent_tokens
        self._acc = None

    async def status(self, message: str) -> None:
        """A message while no tokens flow (queued, retrying); still strictly increasing."""
        self._sent_statuses += 1
        await self._notify(message)

    async def _flush_loop(self) -> None:
        while not self._closing:
            await self._wake.wait()
            self._wake = anyio.Event()
            if self._closing:
                return
            wait = self._last_sent + self._interval - anyio.current_time()
            if wait > 0:
                await anyio.sleep(wait)
            await self._send_tokens()

    async def _send_tokens(self) -> None:
        acc = self._acc
        if acc is None or self._offset + acc.tokens <= self._sent_tokens:
            return
        self._sent_tokens = self._offset + acc.tokens
        self._last_sent = anyio.current_time()
        text, reasoning = acc.visible()
        tail = text[-_TAIL:] if text else f"(thinking) {(reasoning or '')[-_TAIL:]}"
        await self._notify(tail)

    async def _notify(self, message: str) -> None:
        """Progress is a bonus channel: a host that went away must not fail the call."""
        try:
            await self._ctx.report_progress(self._progress_value(), self._total, message)
        except (anyio.ClosedResourceError, anyio.BrokenResourceError):
            logger.debug("progress notification dropped: the stream to the host is closed")

    def _progress_value(self) -> float:
        return float(self._sent_tokens + self._sent_statuses)
