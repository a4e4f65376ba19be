"""Request limits: body size (413), body time (408) and requests in flight per token (429).

A declared Content-Length over the limit is refused before a byte of the body is read; a chunked
body is counted as it arrives, and a body must arrive whole within [http] request_timeout (a
client dribbling it would otherwise hold its connection and task for ever). The concurrency cap
counts POSTs (each carries one JSON-RPC message and, for a tool call, holds until the answer is
streamed); long-lived GET streams are not counted. It is per process: with N workers a token may have up to
N times the limit in flight, which keeps it a guard against one runaway client, not a quota.
"""

from __future__ import annotations

from collections import Counter

import anyio
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from fw_mcp.http.answers import reject
from fw_mcp.http.auth import principal_of

__all__ = ["BodyLimit", "PerTokenConcurrency"]

RETRY_AFTER_SECONDS = 1


class BodyLimit:
    """413 for a body over the limit; 408 for one that does not arrive within `timeout` (slowloris).

    A POST body is read here, whole, before the app sees the request (then handed on as one
    message), so a client dribbling its body holds nothing past the deadline.
    """

    def __init__(self, app: ASGIApp, *, max_bytes: int, timeout: float = 10.0) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.timeout = timeout

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = Headers(scope=scope).get("content-length", "")
        if declared.isdigit() and int(declared) > self.max_bytes:
            await self._too_large(send, f"{int(declared)} bytes")
            return
        if scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []
        size, complete = 0, False
        with anyio.move_on_after(self.timeout):
            while not complete:
                message = await receive()
                if message["type"] == "http.disconnect":
                    return
                chunks.append(message.get("body", b""))
                size += len(chunks[-1])
                if size > self.max_bytes:
                    await self._too_large(send, f"over {self.max_bytes} bytes")
                    return
                complete = not message.get("more_body", False)
        if not complete:
            await reject(
                send,
                408,
                f"The request body did not arrive within {self.timeout:g} s ([http] request_timeout).",
                headers=[("connection", "close")],
            )
            return
        await self.app(scope, _replay(b"".join(chunks), receive), send)

    async def _too_large(self, send: Send, size: str) -> None:
        await reject(
            send,
            413,
            f"The request body is {size}; this server accepts at most {self.max_bytes} "
            "([http] max_body_bytes). Send less (fewer or smaller images, shorter text).",
            headers=[("connection", "close")],
        )


def _replay(body: bytes, receive: Receive) -> Receive:
    """The body as one message, then the connection's own messages (the disconnect)."""
    sent = False

    async def replayed() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replayed


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
