"""Stream tokens to the host as MCP progress, coalesced so a fast model cannot flood the pipe.

At most one notification per `interval` in which new tokens arrived (the first goes out at once),
none while nothing new arrives, `progress` strictly increasing, and the last one always sent before
the tool returns its result (a late notification can tear down a host's stdio connection).
"""

from __future__ import annotations

import asyncio
import logging
import math
from types import TracebackType
from typing import Any

import anyio
import anyio.lowlevel
from mcp.server.mcpserver import Context

from fw_mcp.errors import FireworksError, FireworksHTTPError, FireworksTransportError
from fw_mcp.fireworks.events import ClientEvent, FirstOutput, Retrying, WaitingForSlot
from fw_mcp.fireworks.stream import StreamAccumulator

__all__ = ["ProgressReporter", "describe_event"]

logger = logging.getLogger(__name__)

_TAIL = 160


class ProgressReporter:
    """`on_delta` is the client's hook (sync, cheap); a timer arms a short send task when due.

    No task lives for the whole call (a task group per call cost more CPU than everything else
    fw-mcp does per call): a send task exists only while a notification is going out, and a timer
    only while tokens wait for the coalescing window to end.
    """

    def __init__(self, ctx: Context[Any, Any], interval: float, total: int | None) -> None:
        self._ctx = ctx
        self._interval = interval
        self._total = total
        self._acc: StreamAccumulator | None = None
        self._sent_tokens = 0
        self._offset = 0
        self._sent_statuses = 0
        self._last_sent = -math.inf
        self._closing = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self._timer: asyncio.Handle | None = None
        self._sending: asyncio.Task[None] | None = None

    async def __aenter__(self) -> ProgressReporter:
        # Always on: the SDK drops notifications when the caller sent no progress token.
        self._loop = asyncio.get_running_loop()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._closing = True
        if self._timer is not None:
            self._timer.cancel()  # a pending coalescing wait must not delay the result
            self._timer = None
        task = self._sending
        if task is not None and exc_type is not None:
            task.cancel()
            with anyio.CancelScope(shield=True):  # cancelled, it ends at its next step
                await asyncio.wait([task])
        elif task is not None:
            try:
                await asyncio.wait([task])  # a notification already going out goes first
            finally:
                task.cancel()  # a no-op once it is done; stops it if the call is cancelled meanwhile
        if exc_type is None and await self._send_tokens():  # the last notification, before the result
            # Let the writer put it on the wire now, while the result is still being built: the stdio
            # transport holds the result back until the host has read it (fw_mcp.stdio, issue 15),
            # and this gives the host that much time to read it first.
            await anyio.lowlevel.cancel_shielded_checkpoint()

    def on_delta(self, acc: StreamAccumulator) -> None:
        self._acc = acc
        if self._timer is None and self._sending is None and not self._closing:
            self._arm()

    def _arm(self) -> None:
        assert self._loop is not None
        wait = self._last_sent + self._interval - self._loop.time()
        if wait > 0:
            self._timer = self._loop.call_later(wait, self._fire)
        else:
            self._timer = self._loop.call_soon(self._fire)

    def _fire(self) -> None:
        self._timer = None
        if not self._closing and self._loop is not None:
            self._sending = self._loop.create_task(self._send_in_background())

    async def _send_in_background(self) -> None:
        try:
            await self._send_tokens()
        except Exception:  # nobody awaits this task's result: say what went wrong, do not lose it
            logger.exception("sending a progress notification failed")
        finally:
            self._sending = None
        if not self._closing and self._unsent():
            self._arm()  # tokens arrived while it was going out

    def _unsent(self) -> bool:
        acc = self._acc
        return acc is not None and self._offset + acc.tokens > self._sent_tokens

    def restart(self) -> None:
        """A new round (e.g. extract_json's repair) counts on from the tokens already sent."""
        self._offset = self._sent_tokens
        self._acc = None

    async def event(self, event: ClientEvent) -> None:
        """The client's event, in words for the host (none for the first output: tokens say it)."""
        message = describe_event(event)
        if message is not None:
            await self.status(message)

    async def status(self, message: str) -> None:
        """A message while no tokens flow (queued, retrying); still strictly increasing."""
        self._sent_statuses += 1
        await self._notify(message)

    async def _send_tokens(self) -> bool:
        """Send the tokens not yet sent, if any; True when a notification went out."""
        acc = self._acc
        if acc is None or not self._unsent():
            return False
        self._sent_tokens = self._offset + acc.tokens
        self._last_sent = asyncio.get_running_loop().time()
        text, reasoning = acc.tails(_TAIL)
        await self._notify(text if text else f"(thinking) {reasoning}")
        return True

    async def _notify(self, message: str) -> None:
        """Progress is a bonus channel: a host that went away must not fail the call."""
        try:
            await self._ctx.report_progress(self._progress_value(), self._total, message)
        except (anyio.ClosedResourceError, anyio.BrokenResourceError):
            logger.debug("progress notification dropped: the stream to the host is closed")

    def _progress_value(self) -> float:
        return float(self._sent_tokens + self._sent_statuses)


def describe_event(event: ClientEvent) -> str | None:
    """A client event as one line for a person; None when there is nothing to say."""
    if isinstance(event, WaitingForSlot):
        return f"Waiting for a free upstream slot ({event.in_flight} requests in flight)."
    if isinstance(event, Retrying):
        return (
            f"{_describe_failure(event.cause)}; trying again in {event.delay:.1f} s "
            f"(attempt {event.attempt + 1} of {event.of})."
        )
    if isinstance(event, FirstOutput):
        return None
    raise AssertionError(f"unknown event {event!r}")  # pragma: no cover


def _describe_failure(cause: FireworksError) -> str:
    """What went wrong with an attempt, without claiming Fireworks answered when nothing did."""
    if isinstance(cause, FireworksHTTPError):
        if cause.is_rate_limit:
            return f"Fireworks is rate limiting (HTTP {cause.status_code})"
        if cause.status_code >= 500:
            return f"Fireworks is busy or failing (HTTP {cause.status_code})"
        return f"Fireworks refused the request (HTTP {cause.status_code})"
    if isinstance(cause, FireworksTransportError):
        return f"No answer from Fireworks ({cause.what})"
    return "The request failed"
