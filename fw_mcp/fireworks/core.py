"""The one path every Fireworks request takes: key, concurrency slot, retries, deadline, error mapping.

Endpoint methods (`client.py`) say what to send and how to read a good answer; everything else is
here, once. Retries follow the official SDK's policy (`retry.py`) and happen only before an answer
was read, so a retry can neither bill twice nor change an answer the user already saw part of.
"""

from __future__ import annotations

import logging
import math
from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, TypeVar

import anyio
import httpx2

from fw_mcp.errors import (
    DeadlineExceeded,
    FireworksError,
    FireworksHTTPError,
    FireworksTransportError,
    StreamInterrupted,
)
from fw_mcp.fireworks.events import EventHook, Retrying, WaitingForSlot
from fw_mcp.fireworks.failures import MalformedResponse, Retryable, describe_transport_error, http_failure
from fw_mcp.fireworks.proxies import proxy_for
from fw_mcp.fireworks.retry import backoff_delay
from fw_mcp.fireworks.stream import Completion
from fw_mcp.redaction import REDACTOR, redact
from fw_mcp.settings import Settings

__all__ = ["CallOptions", "Core", "Outgoing", "Reader"]

logger = logging.getLogger(__name__)
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class CallOptions:
    """Per call: the key to use (None: the configured one), an absolute `anyio.current_time()`
    deadline, and who hears the call's events."""

    api_key: str | None = None
    deadline: float | None = None
    on_event: EventHook | None = None


@dataclass(frozen=True, slots=True)
class Outgoing:
    """One request, re-sent as is on a retry. `url` is relative to the base URL, or absolute.
    `content` makes a fresh body per attempt (a file streamed from disk)."""

    method: str
    url: str
    json: Any = None
    content: Callable[[], AsyncIterable[bytes]] | None = None
    headers: Mapping[str, str] = field(default_factory=dict)


Reader = Callable[[httpx2.Response], Awaitable[T]]


class Core:
    """Owns the pooled client (made on first use) and the process-wide concurrency limiter."""

    def __init__(
        self, settings: Settings, http: httpx2.AsyncClient | Callable[[], httpx2.AsyncClient]
    ) -> None:
        self._settings = settings
        self._client = http if isinstance(http, httpx2.AsyncClient) else None
        self._make_client = None if isinstance(http, httpx2.AsyncClient) else http
        self._limiter = anyio.CapacityLimiter(settings.limits.max_concurrent_requests)
        if settings.api_key is not None:
            REDACTOR.add(settings.api_key.get_secret_value())
        self.rate_limits: dict[str, str] = {}  # the X-Ratelimit-Limit-* values Fireworks sent last

    @property
    def http(self) -> httpx2.AsyncClient:
        if self._client is None:
            assert self._make_client is not None
            self._client = self._make_client()
        return self._client

    async def send(
        self,
        request: Outgoing,
        read: Reader[T],
        options: CallOptions,
        partial: Callable[[], Completion | None] = lambda: None,
    ) -> T:
        """Send `request` until `read` returns, under the retry policy and the deadline.

        `read` gets a response with a success status; it raises MalformedResponse (or an httpx2
        error) when the answer is unusable, which counts as a transport failure. `partial` gives
        what a deadline should keep.

        Raises:
            ConfigError: no API key.
            FireworksHTTPError / FireworksTransportError: failed, after the retries the policy allows.
            StreamInterrupted: raised by `read` (a stream broke after output arrived).
            DeadlineExceeded: the deadline passed (carries `partial()`).
        """
        key = options.api_key or self._settings.require_api_key()
        attempts = [0]
        with (
            REDACTOR.in_flight(key),  # known to the one redactor while it is used, and for a while after
            anyio.CancelScope(deadline=math.inf if options.deadline is None else options.deadline),
        ):
            try:
                return await self._with_retries(request, read, key, options, attempts)
            except FireworksError as exc:
                raise _redacted(exc) from None
        raise DeadlineExceeded(self._settings.timeouts.total, partial()).with_attempts(attempts[0])

    async def _with_retries(
        self, request: Outgoing, read: Reader[T], key: str, options: CallOptions, attempts: list[int]
    ) -> T:
        policy = self._settings.retries
        for retry_number in range(policy.max_retries + 1):
            attempts[0] = retry_number + 1
            try:
                return await self._attempt(request, read, key, options.on_event)
            except Retryable as failure:
                error = failure.error.with_attempts(attempts[0])
                delay = backoff_delay(retry_number, policy, failure.asked_wait)
                if retry_number == policy.max_retries or _past(options.deadline, delay):
                    raise error from None
                await self._announce(
                    options.on_event, Retrying(attempts[0], policy.max_retries + 1, delay, error)
                )
                await anyio.sleep(delay)
        raise AssertionError("unreachable")  # pragma: no cover

    async def _attempt(self, request: Outgoing, read: Reader[T], key: str, on_event: EventHook | None) -> T:
        headers = {**request.headers, "authorization": f"Bearer {key}"}
        content = request.content() if request.content is not None else None
        try:
            async with (
                self._slot(on_event),
                self.http.stream(
                    request.method, request.url, json=request.json, content=content, headers=headers
                ) as response,
            ):
                _note_rate_limits(self.rate_limits, response.headers)
                if response.status_code == 407:
                    raise self._proxy_refusal(request)
                if response.status_code >= 400:
                    raise await http_failure(response)
                return await read(response)
        except httpx2.HTTPError as exc:
            raise self._transport_failure(exc, request) from None
        except MalformedResponse as exc:
            raise Retryable(self._transport_error(str(exc))) from None

    def _transport_failure(self, exc: httpx2.HTTPError, request: Outgoing) -> Exception:
        """Connection-level failures are retried, except a proxy's refusal (it will refuse again)."""
        url = str(self.http.base_url.join(request.url))
        proxy = proxy_for(url)
        error = self._transport_error(describe_transport_error(exc, proxy), proxy.setting if proxy else None)
        return error if isinstance(exc, httpx2.ProxyError) else Retryable(error)

    def _proxy_refusal(self, request: Outgoing) -> FireworksTransportError:
        """407 comes from a proxy (Fireworks never asks for proxy credentials): not retried."""
        proxy = proxy_for(str(self.http.base_url.join(request.url)))
        where = f"the proxy {proxy.url}" if proxy else "a proxy"
        return self._transport_error(
            f"{where} asked for credentials (HTTP 407 Proxy Authentication Required)",
            proxy.setting if proxy else "HTTPS_PROXY",
        )

    def _transport_error(self, what: str, proxy_setting: str | None = None) -> FireworksTransportError:
        return FireworksTransportError(what, self._settings.base_url, proxy_setting)

    async def _announce(self, on_event: EventHook | None, event: Retrying) -> None:
        cause = event.cause
        what = f"HTTP {cause.status_code}" if isinstance(cause, FireworksHTTPError) else _what(cause)
        logger.info(
            "Fireworks attempt %d of %d failed (%s); retrying in %.2f s",
            event.attempt,
            event.of,
            what,
            event.delay,
        )
        if on_event is not None:
            await on_event(event)

    @asynccontextmanager
    async def _slot(self, on_event: EventHook | None) -> AsyncIterator[None]:
        """Queue beyond the concurrency cap instead of tripping Fireworks' rate limit."""
        if self._limiter.available_tokens < 1 and on_event is not None:
            await on_event(WaitingForSlot(self._limiter.borrowed_tokens))
        async with self._limiter:
            yield


def _what(error: FireworksError) -> str:
    return error.what if isinstance(error, FireworksTransportError) else type(error).__name__


def _note_rate_limits(seen: dict[str, str], headers: httpx2.Headers) -> None:
    for name, value in headers.items():
        if name.startswith("x-ratelimit-limit-"):
            seen[name] = value


def _past(deadline: float | None, delay: float) -> bool:
    return deadline is not None and anyio.current_time() + delay >= deadline


def _redacted(exc: FireworksError) -> FireworksError:
    """Fireworks may echo a key back; every text an error carries passes the one redactor (the texts
    were already redacted where they were cut short: this is the last line of defence)."""
    if isinstance(exc, FireworksHTTPError):
        exc.message = redact(exc.message)
    elif isinstance(exc, FireworksTransportError):
        exc.what = redact(exc.what)
    elif isinstance(exc, StreamInterrupted):
        exc.reason = redact(exc.reason)
    return exc
