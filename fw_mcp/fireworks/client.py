"""The only code that speaks HTTP to Fireworks. Knows nothing of MCP.

One `httpx2.AsyncClient` per process (made by `create_http_client`, owned by the server's
lifespan). Every chat call streams; retries happen only before any output arrived, so a retry can
neither bill twice nor change an answer the user already saw part of.
"""

from __future__ import annotations

import json
import logging
import math
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import anyio
import httpx2

from fw_mcp import __version__
from fw_mcp.errors import (
    DeadlineExceeded,
    FireworksError,
    FireworksHTTPError,
    FireworksTransportError,
    StreamInterrupted,
)
from fw_mcp.fireworks.retry import backoff_delay, retry_after_seconds, should_retry_status
from fw_mcp.fireworks.sse import SSEDecoder
from fw_mcp.fireworks.stream import Completion, MalformedChunk, StreamAccumulator
from fw_mcp.settings import Settings

__all__ = ["DeltaHook", "FireworksClient", "StatusHook", "create_http_client"]

logger = logging.getLogger(__name__)

DeltaHook = Callable[[StreamAccumulator], None]
StatusHook = Callable[[str], Awaitable[None]]

_MAX_ERROR_BODY = 64 * 1024
_DRAIN_SECONDS = 1.0  # after [DONE]: how long to wait for the end of the body before giving up the connection
_TAG = re.compile(r"<[^>]+>")


def create_http_client(
    settings: Settings, transport: httpx2.AsyncBaseTransport | None = None
) -> httpx2.AsyncClient:
    """The process's pooled client: base URL, explicit timeouts, a pool as large as the concurrency cap."""
    from fw_mcp.fireworks.transport import pooled_transport  # loads httpcore2: not before a first call

    t = settings.timeouts
    limit = settings.limits.max_concurrent_requests
    limits = httpx2.Limits(max_connections=limit, max_keepalive_connections=min(limit, 64))
    return httpx2.AsyncClient(
        base_url=settings.base_url + "/",
        timeout=httpx2.Timeout(connect=t.connect, read=t.read, write=t.write, pool=None),
        limits=limits,
        headers={"user-agent": f"fw-mcp/{__version__}", "accept": "text/event-stream"},
        transport=transport or pooled_transport(limits),
    )


@dataclass
class _Call:
    """What one chat call has done so far, readable after a deadline cancelled it."""

    attempts: int = 0
    acc: StreamAccumulator | None = None

    def partial(self) -> Completion | None:
        return self.acc.completion() if self.acc and self.acc.received_output else None


class _Retryable(Exception):
    def __init__(self, error: FireworksError, asked_wait: float | None = None) -> None:
        self.error = error
        self.asked_wait = asked_wait


class FireworksClient:
    """Chat completions over one pooled HTTP client, with the retry policy and a concurrency cap."""

    def __init__(
        self, settings: Settings, http: httpx2.AsyncClient | Callable[[], httpx2.AsyncClient]
    ) -> None:
        """`http` is the client, or a function that makes it on first use (the server's lifespan passes
        one: making a client loads httpcore2 and h11 and builds an SSL context, ~80 ms that hosts
        would otherwise wait for before `initialize` is answered)."""
        self._settings = settings
        self._client = http if isinstance(http, httpx2.AsyncClient) else None
        self._make_client = http if self._client is None else None
        self._limiter = anyio.CapacityLimiter(settings.limits.max_concurrent_requests)

    @property
    def _http(self) -> httpx2.AsyncClient:
        if self._client is None:
            assert self._make_client is not None
            self._client = self._make_client()
        return self._client

    async def chat(
        self,
        body: dict[str, Any],
        *,
        on_delta: DeltaHook | None = None,
        on_status: StatusHook | None = None,
        deadline: float | None = None,
        api_key: str | None = None,
    ) -> Completion:
        """Stream one chat completion and return the whole answer.

        `deadline` is an absolute `anyio.current_time()`; `api_key` overrides the configured key.

        Raises:
            ConfigError: no API key.
            FireworksHTTPError / FireworksTransportError: failed, after the retries the policy allows.
            StreamInterrupted: the stream broke after output arrived (carries the partial answer).
            DeadlineExceeded: `deadline` passed (carries any partial answer).
        """
        key = api_key or self._settings.require_api_key()
        wire = {**body, "stream": True, "stream_options": {"include_usage": True}}
        call = _Call()
        with anyio.CancelScope(deadline=math.inf if deadline is None else deadline):
            try:
                return await self._with_retries(call, wire, key, on_delta, on_status, deadline)
            except FireworksError as exc:
                raise _redacted(exc, key) from None
        raise DeadlineExceeded(self._settings.timeouts.total, call.partial()).with_attempts(call.attempts)

    async def _with_retries(
        self,
        call: _Call,
        body: dict[str, Any],
        key: str,
        on_delta: DeltaHook | None,
        on_status: StatusHook | None,
        deadline: float | None,
    ) -> Completion:
        policy = self._settings.retries
        for retry_number in range(policy.max_retries + 1):
            call.attempts = retry_number + 1
            try:
                return await self._attempt(call, body, key, on_delta, on_status)
            except _Retryable as failure:
                error = failure.error.with_attempts(call.attempts)
                delay = backoff_delay(retry_number, policy, failure.asked_wait)
                if retry_number == policy.max_retries or _past(deadline, delay):
                    raise error from None
                await _announce_retry(on_status, error, delay, call.attempts, policy.max_retries + 1)
                await anyio.sleep(delay)
        raise AssertionError("unreachable")  # pragma: no cover

    async def _attempt(
        self,
        call: _Call,
        body: dict[str, Any],
        key: str,
        on_delta: DeltaHook | None,
        on_status: StatusHook | None,
    ) -> Completion:
        acc = call.acc = StreamAccumulator(model=str(body.get("model", "")))
        headers = {"authorization": f"Bearer {key}"}
        try:
            async with (
                self._slot(on_status),
                self._http.stream("POST", "chat/completions", json=body, headers=headers) as response,
            ):
                if response.status_code >= 400:
                    raise await _http_failure(response)
                await _consume(response, acc, on_delta)
                return acc.completion()
        except httpx2.HTTPError as exc:
            reason = _describe_transport_error(exc)
            if acc.received_output:
                raise StreamInterrupted(reason, acc.completion()) from None
            raise _Retryable(FireworksTransportError(reason, self._settings.base_url)) from None
        except MalformedChunk as exc:
            if acc.received_output:
                raise StreamInterrupted(str(exc), acc.completion()) from None
            raise _Retryable(
                FireworksTransportError(f"malformed stream ({exc})", self._settings.base_url)
            ) from None

    async def list_models(self, *, api_key: str | None = None) -> list[dict[str, Any]]:
        """The account's models from `GET /models`: one cheap authenticated request, not retried.

        Raises:
            ConfigError: no API key.
            FireworksHTTPError: Fireworks answered with an error status (401: the key was refused).
            FireworksTransportError: no usable answer (network, timeout, not a JSON model list).
        """
        key = api_key or self._settings.require_api_key()
        headers = {"authorization": f"Bearer {key}", "accept": "application/json"}
        try:
            response = await self._http.get("models", headers=headers)
        except httpx2.HTTPError as exc:
            raise FireworksTransportError(_describe_transport_error(exc), self._settings.base_url) from None
        if response.status_code >= 400:
            message = _error_message(response.content[:_MAX_ERROR_BODY], response.reason_phrase)
            error = FireworksHTTPError(response.status_code, message, retry_after_seconds(response.headers))
            raise _redacted(error, key)
        try:
            data = response.json().get("data")
        except (ValueError, AttributeError):
            raise FireworksTransportError(
                "GET /models did not answer a JSON model list", self._settings.base_url
            ) from None
        return [m for m in data or [] if isinstance(m, dict) and isinstance(m.get("id"), str)]

    @asynccontextmanager
    async def _slot(self, on_status: StatusHook | None) -> AsyncIterator[None]:
        """Queue beyond the concurrency cap instead of tripping Fireworks' rate limit."""
        if self._limiter.available_tokens < 1 and on_status is not None:
            await on_status(
                f"Waiting for a free upstream slot ({self._limiter.borrowed_tokens} requests in flight)."
            )
        async with self._limiter:
            yield


async def _consume(response: httpx2.Response, acc: StreamAccumulator, on_delta: DeltaHook | None) -> None:
    """Read SSE events until `[DONE]`. A JSON (non-SSE) body is taken as a whole completion."""
    content_type = response.headers.get("content-type", "")
    if content_type.startswith("application/json"):
        _apply_whole(acc, json.loads(await response.aread()))
        return
    if content_type.partition(";")[0].strip().lower() != "text/event-stream":
        raise httpx2.SSEError(f"Expected content type 'text/event-stream', got {content_type!r}.")
    done = False
    events = _event_data(response)
    async for data in events:
        if data.strip() == b"[DONE]":
            done = True
            break
        if not data:
            continue
        try:
            chunk = json.loads(data)
        except ValueError:
            raise MalformedChunk("an event was not valid JSON") from None
        if acc.apply(chunk) and on_delta is not None:
            on_delta(acc)
    if not done and acc.finish_reason is None:
        raise MalformedChunk("the stream ended before [DONE]")
    if done:
        # Read the body to its end (only the chunked-encoding terminator is left), or httpcore2
        # closes the connection instead of pooling it: a new TCP + TLS handshake on every call.
        with anyio.move_on_after(_DRAIN_SECONDS):
            async for _ in events:
                pass


async def _event_data(response: httpx2.Response) -> AsyncIterator[bytes]:
    """The data of each server-sent event, as bytes (`json.loads` takes them as they are)."""
    decoder = SSEDecoder()
    async for chunk in response.aiter_bytes():
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


async def _http_failure(response: httpx2.Response) -> Exception:
    """Map an error status to FireworksHTTPError, wrapped as retryable when the policy says so."""
    raw = b""
    async for piece in response.aiter_bytes():
        raw += piece
        if len(raw) > _MAX_ERROR_BODY:
            break
    message = _error_message(raw[:_MAX_ERROR_BODY], response.reason_phrase)
    asked = retry_after_seconds(response.headers)
    error = FireworksHTTPError(response.status_code, message, retry_after=asked)
    if should_retry_status(response.status_code, response.headers, error.is_rate_limit):
        return _Retryable(error, asked)
    return error


def _error_message(raw: bytes, reason: str) -> str:
    """The human part of an error body: `{"error": {"message"}}`, `{"error": str, "message"}`, or text."""
    text = raw.decode("utf-8", "replace")
    try:
        body = json.loads(text)
    except ValueError:
        plain = " ".join(_TAG.sub(" ", text).split())
        return (plain or reason)[:300]
    if isinstance(body, dict):
        error = body.get("error")
        if isinstance(error, dict) and error.get("message"):
            return str(error["message"])[:500]
        if body.get("message"):
            return str(body["message"])[:500]
        if isinstance(error, str):
            return error[:500]
    return (reason or text)[:300]


def _describe_transport_error(exc: httpx2.HTTPError) -> str:
    if isinstance(exc, httpx2.ConnectTimeout):
        return "connecting timed out"
    if isinstance(exc, httpx2.ReadTimeout):
        return "no data arrived within the read timeout"
    if isinstance(exc, httpx2.TimeoutException):
        return "the request timed out"
    if isinstance(exc, httpx2.ConnectError):
        return "could not connect"
    if isinstance(exc, httpx2.SSEError):
        return f"the answer was not an event stream ({exc})"
    if isinstance(exc, httpx2.RemoteProtocolError):
        return "the connection was closed mid-answer"
    return type(exc).__name__


def _past(deadline: float | None, delay: float) -> bool:
    return deadline is not None and anyio.current_time() + delay >= deadline


async def _announce_retry(
    on_status: StatusHook | None, error: FireworksError, delay: float, n: int, of: int
) -> None:
    what = f"HTTP {error.status_code}" if isinstance(error, FireworksHTTPError) else "a connection problem"
    logger.warning("Fireworks attempt %d of %d failed with %s; retrying in %.2f s", n, of, what, delay)
    if on_status is not None:
        await on_status(f"Fireworks answered {what}; retrying in {delay:.1f} s (attempt {n + 1} of {of}).")


def _redacted(exc: FireworksError, key: str) -> FireworksError:
    """Fireworks may echo the key back in an error message; it must never reach a result or a log."""
    if isinstance(exc, FireworksHTTPError) and key and key in exc.message:
        exc.message = exc.message.replace(key, "[redacted]")
    return exc
