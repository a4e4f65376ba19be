"""One HTTP exchange on the raw ASGI interface, with prompt detection of a client that leaves.

Frameworks only look for ``http.disconnect`` when they next write, so a stream paused between
tokens (or before its first byte) would not notice a cancelled client until much later. Here a
watcher task listens on ``receive()`` for the whole response and every wait is cut short by it,
which is what lets tests assert that a cancellation closed the upstream request within a second.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from typing import Any

from .state import Record, Simulator

Scope = dict[str, Any]
Message = dict[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]


class ScriptedDrop(Exception):
    """Raised after the response started to make the server abort the connection mid-body."""


class Exchange:
    """Reads a request, sends a response, and records what happened in the simulator."""

    def __init__(self, sim: Simulator, scope: Scope, receive: Receive, send: Send) -> None:
        self.sim = sim
        self.scope = scope
        self._receive = receive
        self._send = send
        self.record: Record | None = None
        self.disconnected = asyncio.Event()
        self.first_byte_delay = 0.0
        self._started = False
        self._done = False
        self._completed_at: float | None = None
        self._watcher: asyncio.Task[None] | None = None

    # -- request -------------------------------------------------------------------------
    async def read_body(self) -> bytes | None:
        """The whole request body, or None if the client left before sending it."""
        chunks: list[bytes] = []
        while True:
            message = await self._receive()
            if message["type"] == "http.disconnect":
                return None
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                return b"".join(chunks)

    async def body_chunks(self) -> AsyncIterator[bytes]:
        """The request body as it arrives (for large uploads); stops early if the client leaves."""
        while True:
            message = await self._receive()
            if message["type"] == "http.disconnect":
                return
            yield message.get("body", b"")
            if not message.get("more_body", False):
                return

    def headers(self) -> dict[str, str]:
        """Request headers, lowercased; repeated headers are joined as HTTP allows."""
        out: dict[str, str] = {}
        for raw_name, raw_value in self.scope.get("headers", []):
            name, value = raw_name.decode("latin-1").lower(), raw_value.decode("latin-1")
            out[name] = f"{out[name]}, {value}" if name in out else value
        return out

    # -- disconnect watching -------------------------------------------------------------
    def watch(self) -> None:
        """Start listening for ``http.disconnect`` while the response is produced."""
        self._watcher = asyncio.get_running_loop().create_task(self._watch())

    async def _watch(self) -> None:
        while True:
            message = await self._receive()
            if message["type"] == "http.disconnect":
                if not self._done:  # servers also report disconnect after a complete response
                    self._mark_disconnected()
                return

    def _mark_disconnected(self) -> None:
        self.disconnected.set()
        if self.record is not None and self.record["outcome"] is None:
            self.sim.update_record(self.record, outcome="disconnected", disconnected_at=time.monotonic())

    async def pause(self, seconds: float) -> bool:
        """Wait ``seconds``; return False at once if the client disconnects meanwhile."""
        if self.disconnected.is_set():
            return False
        if seconds <= 0:
            return True
        try:
            async with asyncio.timeout(seconds):
                await self.disconnected.wait()
        except TimeoutError:
            return True
        return False

    async def finish(self) -> None:
        """Stop watching and close the record; the outcome defaults from the status sent."""
        if self._watcher is not None:
            self._watcher.cancel()
            await asyncio.wait([self._watcher])
        if self.record is None:
            return
        fields: dict[str, Any] = {"ended_at": self._completed_at or time.monotonic()}
        if self.record["outcome"] is None:
            status = self.record["status"]
            fields["outcome"] = "error" if status is None or status >= 400 else "completed"
        self.sim.update_record(self.record, **fields)

    def set_outcome(self, outcome: str) -> None:
        """Record how the exchange ended, unless a disconnect was recorded first."""
        if self.record is not None and self.record["outcome"] is None:
            self.sim.update_record(self.record, outcome=outcome)

    # -- response ------------------------------------------------------------------------
    async def start(self, status: int, headers: Iterable[tuple[str, str]]) -> bool:
        """Wait out the first-byte delay, then send the status line and headers.

        Returns False (sending nothing) when the client disconnected during the wait.
        """
        if not await self.pause(self.first_byte_delay):
            return False
        if self.record is not None:
            self.sim.update_record(self.record, status=status)
        raw = [(k.lower().encode("latin-1"), str(v).encode("latin-1")) for k, v in headers]
        await self._send({"type": "http.response.start", "status": status, "headers": raw})
        self._started = True
        return True

    async def write(self, data: bytes, *, events: int = 0) -> bool:
        """Send part of the body holding ``events`` SSE events; False if the client is gone."""
        return await self._body(data, more=True, events=events)

    async def end(self, data: bytes = b"", *, events: int = 0) -> bool:
        """Send the last part of the body, completing the response; False if the client is gone."""
        return await self._body(data, more=False, events=events)

    async def _body(self, data: bytes, *, more: bool, events: int) -> bool:
        if self.disconnected.is_set():
            return False
        if events and self.record is not None:
            self.sim.count_events(self.record, events)
        self._done = self._done or not more  # the server reports a disconnect after completion too
        if not more:  # stamped before the write: a client reusing the connection cannot start sooner
            self._completed_at = time.monotonic()
        await self._send({"type": "http.response.body", "body": data, "more_body": more})
        return not self.disconnected.is_set()

    async def send_bytes(
        self, status: int, data: bytes, content_type: str, headers: dict[str, str] | None = None
    ) -> None:
        """A whole response in one go, with a content-length."""
        all_headers = {"content-type": content_type, "content-length": str(len(data)), **(headers or {})}
        if await self.start(status, all_headers.items()):
            await self.end(data)

    async def send_json(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        """A JSON response (compact, like the API's)."""
        data = json.dumps(body, separators=(",", ":")).encode()
        await self.send_bytes(status, data, "application/json", headers)
