"""DNS-rebinding protection on every bind: a request's Host and Origin must be on the allow-lists.

A web page the user visits can make the browser send requests to this server (via a DNS name that
rebinds to its address); such requests carry the page's own Host name and Origin, so refusing
unknown ones keeps browsers out while leaving non-browser clients (no Origin) unaffected. The SDK
repeats the same check inside /mcp with the same lists; this one answers first, with advice.
"""

from __future__ import annotations

import logging

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

from fw_mcp.http.answers import reject
from fw_mcp.settings import ENV_ALLOWED_HOSTS, ENV_ALLOWED_ORIGINS

__all__ = ["HostOriginGuard", "matches"]

logger = logging.getLogger(__name__)


def matches(value: str, patterns: list[str]) -> bool:
    """Exact (case-insensitive), or `base:*` for base with any port: the SDK's semantics."""
    value = value.strip().lower()
    return any(value == p or (p.endswith(":*") and value.startswith(p[:-1])) for p in patterns)


class HostOriginGuard:
    """421 for a Host not served here, 403 for a foreign Origin."""

    def __init__(self, app: ASGIApp, *, hosts: list[str], origins: list[str]) -> None:
        self.app = app
        self.hosts = hosts
        self.origins = origins

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            headers = Headers(scope=scope)
            host = headers.get("host", "")
            if not matches(host, self.hosts):
                logger.info("Refused Host %r (not in the allowed hosts)", host[:100])
                await reject(
                    send,
                    421,
                    f"This server does not answer to the Host {host[:100]!r}. If clients reach it under this "
                    f"name, add it to [http] allowed_hosts (or {ENV_ALLOWED_HOSTS}) and restart.",
                )
                return
            origin = headers.get("origin")
            if origin is not None and not matches(origin, self.origins):
                logger.info("Refused Origin %r (not in the allowed origins)", origin[:100])
                await reject(
                    send,
                    403,
                    f"Requests from web pages at {origin[:100]!r} are refused (DNS-rebinding protection). To let "
                    f"a browser app there call this server, add it to [http] allowed_origins (or {ENV_ALLOWED_ORIGINS}).",
                )
                return
        await self.app(scope, receive, send)
