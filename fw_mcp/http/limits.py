"""Request limits: body size (413) and requests in flight per token (429 with Retry-After).

The body check reads only Content-Length, so it answers before a byte of an oversized body is
read; chunked bodies are capped by the SDK with the same limit. The concurrency cap counts POSTs
(each carries one JSON-RPC message and, for a tool call, holds until the answer is streamed);
long-lived GET streams are not counted. It is per process: with N workers a token may have up to
N times the limit in flight, which keeps it a guard against one runaway client, not a quota.
"""

from __future__ import annotations

from collections import Counter

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

from fw_mcp.http.answers import reject
from fw_mcp.http.auth import principal_of

__all__ = ["BodyLimit", "PerTokenConcurrency"]

RETRY_AFTER_SECONDS = 1


class BodyLimit:
    def __init__(self, app: ASGIApp, *, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            declared = Headers(scope=scope).get("content-length", "")
            if declared.isdigit() and int(declared) > self.max_bytes:
                await reject(
                    send,
                    413,
                    f"The request body is {int(declared)} bytes; this server accepts at most {self.max_bytes} "
                    "([http] max_body_bytes). Send less (fewer or smaller images, shorter text).",
                )
                return
        await self.app(scope, receive, send)


class PerTokenConcurrency:
    def __init__(self, app: ASGIApp, *, limit: int) -> None:
        self.app = app
        self.limit = limit
        self.in_flight: Counter[str] = Counter()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        who = principal_of(scope)
        if self.in_flight[who] >= self.limit:
            await reject(
                send,
                429,
                f"Too many requests in flight for this token ({self.limit}, the [http] "
                f"max_concurrent_per_token setting). Wait for some to finish, then retry.",
                headers=[("retry-after", str(RETRY_AFTER_SECONDS))],
            )
            return
        self.in_flight[who] += 1
        try:
            await self.app(scope, receive, send)
        finally:
            self.in_flight[who] -= 1
            if not self.in_flight[who]:
                del self.in_flight[who]
