"""Failed exchanges, mapped to the error tree: error statuses, transport errors, unusable answers.

The retry loop (`core.py`) decides what to do with them; this module only says what went wrong.
"""

from __future__ import annotations

import json
import re

import httpx2

from fw_mcp.errors import FireworksError, FireworksHTTPError
from fw_mcp.fireworks.proxies import ProxyInUse
from fw_mcp.fireworks.retry import retry_after_seconds, should_retry_status
from fw_mcp.redaction import REDACTOR, redact_head

__all__ = ["MalformedResponse", "Retryable", "describe_transport_error", "error_message", "http_failure"]

MAX_ERROR_BODY = 64 * 1024
_TAG = re.compile(r"<[^>]+>")


class MalformedResponse(ValueError):
    """A 200 whose body is not what was asked for (not JSON, not the expected shape, a broken stream)."""


class Retryable(Exception):
    """A failure the retry policy allows to try again, with the wait the server asked for if any."""

    def __init__(self, error: FireworksError, asked_wait: float | None = None) -> None:
        self.error = error
        self.asked_wait = asked_wait


async def http_failure(response: httpx2.Response) -> Exception:
    """Map an error status to FireworksHTTPError, wrapped as Retryable when the policy says so."""
    raw = b""
    # A key's length past the bound, so a key straddling it is read whole and redacted whole.
    wanted = MAX_ERROR_BODY + 4 * REDACTOR.longest
    async for piece in response.aiter_bytes():
        raw += piece
        if len(raw) > wanted:
            break
    # Redacted before anything cuts it: a key straddling a cut would survive in part.
    text = redact_head(raw.decode("utf-8", "replace"), MAX_ERROR_BODY)
    message = error_message(text, response.reason_phrase)
    asked = retry_after_seconds(response.headers)
    error = FireworksHTTPError(response.status_code, message, retry_after=asked)
    if should_retry_status(response.status_code, response.headers, error.is_rate_limit):
        return Retryable(error, asked)
    return error


def error_message(raw: bytes | str, reason: str) -> str:
    """The human part of an error body: `{"error": {"message"}}`, `{"error": str, "message"}`, or text."""
    text = raw if isinstance(raw, str) else raw.decode("utf-8", "replace")
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


def describe_transport_error(exc: httpx2.HTTPError, proxy: ProxyInUse | None) -> str:
    """What failed, in a few words; through a proxy, a failure to connect is the proxy's."""
    if proxy is not None and isinstance(exc, httpx2.ProxyError):
        return f"the proxy {proxy.url} refused the request ({exc})"
    if proxy is not None and isinstance(exc, httpx2.ConnectTimeout | httpx2.ConnectError):
        return f"could not connect to the proxy {proxy.url}"
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
