"""Reading one streamed chat completion: SSE events into a StreamAccumulator, until `[DONE]`.

Used by `FireworksClient.chat` as the core's reader. A failure before any output is the core's to
retry; after output it ends the call as StreamInterrupted with what arrived (never retried).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import anyio
import httpx2

from fw_mcp import jsondepth
from fw_mcp.errors import StreamInterrupted
from fw_mcp.fireworks.events import EventHook, FirstOutput
from fw_mcp.fireworks.failures import MalformedResponse, describe_transport_error
from fw_mcp.fireworks.sse import SSEDecoder
from fw_mcp.fireworks.stream import Completion, MalformedChunk, StreamAccumulator
from fw_mcp.settings import LimitsSection

__all__ = ["ChatReader", "DeltaHook"]

DeltaHook = Callable[[StreamAccumulator], None]

_DRAIN_SECONDS = 1.0  # after [DONE]: how long to wait for the end of the body before giving up the connection


class ChatReader:
    """One reader per call; `acc` is the attempt in progress (a retry starts a fresh one).

    Bounded by `limits`: the bytes of one answer (max_stream_bytes, counted after decompression,
    streamed or not) and the nesting of each event (max_json_depth). Past either, the answer ends
    as unusable: with output so far, as StreamInterrupted (an `incomplete` answer).
    """

    def __init__(
        self, model: str, on_delta: DeltaHook | None, on_event: EventHook | None, limits: LimitsSection
    ) -> None:
        self._model = model
        self._on_delta = on_delta
        self._on_event = on_event
        self._max_bytes = limits.max_stream_bytes
        self._max_depth = limits.max_json_depth
        self.acc = StreamAccumulator(model=model)

    def partial(self) -> Completion | None:
        return self.acc.completion() if self.acc.received_output else None

    async def __call__(self, response: httpx2.Response) -> Completion:
        acc = self.acc = StreamAccumulator(model=self._model)
        try:
            await self._consume(response, acc)
        except (httpx2.HTTPError, MalformedResponse) as exc:
            if not acc.received_output:
                raise
            reason = describe_transport_error(exc, None) if isinstance(exc, httpx2.HTTPError) else str(exc)
            raise StreamInterrupted(reason, acc.completion()) from None
        return acc.completion()

    async def _consume(self, response: httpx2.Response, acc: StreamAccumulator) -> None:
        """Read SSE events until `[DONE]`. A JSON (non-SSE) body is taken as a whole completion."""
        content_type = response.headers.get("content-type", "")
        if content_type.startswith("application/json"):
            body = await self._read_whole(response)
            try:
                whole = jsondepth.loads(body, self._max_depth)
            except jsondepth.TooDeep as exc:
                raise MalformedChunk(f"the answer was not usable: {exc}") from None
            except ValueError:
                raise MalformedChunk("the answer was not valid JSON") from None
            _apply_whole(acc, whole)
            return
        if content_type.partition(";")[0].strip().lower() != "text/event-stream":
            raise httpx2.SSEError(f"Expected content type 'text/event-stream', got {content_type!r}.")
        done = False
        events = _event_data(response, self._max_bytes)
        async for data in events:
            if data.strip() == b"[DONE]":
                done = True
                break
            if data:
                await self._apply(acc, data)
        if not done and acc.finish_reason is None:
            raise MalformedChunk("the stream ended before [DONE]")
        if done:
            # Read the body to its end (only the chunked-encoding terminator is left), or httpcore2
            # closes the connection instead of pooling it: a new TCP + TLS handshake on every call.
            with anyio.move_on_after(_DRAIN_SECONDS):
                async for _ in events:
                    pass

    async def _read_whole(self, response: httpx2.Response) -> bytes:
        """A non-streamed body, bounded after decompression (a small gzip can inflate to GBs)."""
        body = bytearray()
        async for piece in response.aiter_bytes():
            body += piece
            if len(body) > self._max_bytes:
                raise MalformedChunk(_too_big(self._max_bytes))
        return bytes(body)

    async def _apply(self, acc: StreamAccumulator, data: bytes) -> None:
        try:
            chunk = jsondepth.loads(data, self._max_depth)
        except jsondepth.TooDeep as exc:
            raise MalformedChunk(f"an event was not usable: {exc}") from None
        except ValueError:
            raise MalformedChunk("an event was not valid JSON") from None
        first = not acc.received_output
        if acc.apply(chunk):
            if first and self._on_event is not None:
                await self._on_event(FirstOutput(reasoning=not acc.has_text))
            if self._on_delta is not None:
                self._on_delta(acc)


def _too_big(limit: int) -> str:
    return f"the answer passed {limit:,} bytes ([limits] max_stream_bytes)"


async def _event_data(response: httpx2.Response, max_bytes: int) -> AsyncIterator[bytes]:
    """The data of each server-sent event, as bytes (`json.loads` takes them as they are)."""
    decoder = SSEDecoder()
    total = 0
    async for chunk in response.aiter_bytes():
        total += len(chunk)
        if total > max_bytes:
            raise MalformedChunk(_too_big(max_bytes))
        for data in decoder.feed(chunk):
            yield data
    for data in decoder.flush():
        yield data


def _apply_whole(acc: StreamAccumulator, data: Any) -> None:
    """Fold a non-streamed `chat.completion` into the accumulator (some proxies ignore `stream`)."""
    if not isinstance(data, dict) or not isinstance(data.get("choices"), list):
        raise MalformedChunk("response is not a chat completion")
    choices = []
    for choice in data["choices"]:
        message = choice.get("message") or {} if isinstance(choice, dict) else {}
        calls = [
            {"index": i, **c} for i, c in enumerate(message.get("tool_calls") or []) if isinstance(c, dict)
        ]
        delta = {**message, "tool_calls": calls}
        choices.append(
            {"index": choice.get("index", 0), "delta": delta, "finish_reason": choice.get("finish_reason")}
        )
    acc.apply({"model": data.get("model"), "usage": data.get("usage"), "choices": choices})
