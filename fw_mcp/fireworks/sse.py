"""Server-sent events framing over raw bytes: the `data` of each event, nothing else.

Fireworks streams data-only events (`data: {json}` and a blank line). httpx2's `EventSource`
decodes every chunk to text (looking up the charset through `email.message` per response) and
builds an event object per line group; for a chat stream's small events that machinery cost
more than the JSON inside. This splits bytes and hands back each event's data as bytes, which
`json.loads` takes directly. The WHATWG rules that matter are kept: LF, CRLF or CR line ends (also
split across chunks), `:` comment lines, multi-line data joined with LF, other fields ignored,
and an event size bound so a hostile or broken upstream cannot grow memory without end.
"""

from __future__ import annotations

from fw_mcp.fireworks.stream import MalformedChunk

__all__ = ["EventTooLarge", "SSEDecoder"]

_LINE_ENDS = (b"\n", b"\r")


class EventTooLarge(MalformedChunk):
    """An event (or a line still being received) passed the size bound."""


class SSEDecoder:
    """Feed byte chunks in order; get back the data of each completed event."""

    def __init__(self, max_event_bytes: int = 1024 * 1024) -> None:
        self._max = max_event_bytes
        self._partial = bytearray()  # an incomplete line (or one ending in CR: maybe CRLF)
        self._data: list[bytes] = []
        self._size = 0

    def feed(self, chunk: bytes) -> list[bytes]:
        if b"\n" not in chunk and b"\r" not in chunk:
            self._partial += chunk  # the middle of a long line: no re-scan of what came before
            self._check(len(self._partial))
            return []
        if self._partial:
            chunk = bytes(self._partial) + chunk
            self._partial.clear()
        lines = chunk.splitlines(keepends=True)  # bytes: splits on LF, CRLF and CR only
        last = lines[-1]
        if not last.endswith(b"\n"):  # incomplete, or a CR whose LF may be in the next chunk
            self._partial += lines.pop()
            self._check(len(self._partial))
        events: list[bytes] = []
        for line in lines:
            self._line(_strip_end(line), events)
        return events

    def flush(self) -> list[bytes]:
        """At the end of the body: a pending line ends there, and so does a pending event."""
        events: list[bytes] = []
        if self._partial:
            self._line(_strip_end(bytes(self._partial)), events)
            self._partial.clear()
        self._line(b"", events)
        return events

    def _line(self, line: bytes, events: list[bytes]) -> None:
        if not line:
            if self._data:
                events.append(b"\n".join(self._data))
            self._data = []
            self._size = 0
            return
        if line[0] == 0x3A:  # ":" a comment (keep-alive)
            return
        field, colon, value = line.partition(b":")
        if field != b"data":
            return  # event, id, retry: Fireworks sends none that change an answer
        if colon and value[:1] == b" ":
            value = value[1:]
        self._size += len(value) + 1
        self._check()
        self._data.append(value)

    def _check(self, pending: int = 0) -> None:
        if self._size + pending > self._max:
            raise EventTooLarge(f"an event passed {self._max} bytes")


def _strip_end(line: bytes) -> bytes:
    if line.endswith(b"\r\n"):
        return line[:-2]
    if line.endswith(_LINE_ENDS):
        return line[:-1]
    return line
