"""Per-request Fireworks key: `X-Fireworks-Api-Key` bills the caller's own account (opt-in).

When enabled the key moves from the header into `request.state.fireworks_api_key`, where
`fw_mcp.tools.runtime.api_key_of` finds it; when disabled the header is ignored. Either way it is
removed from the headers the MCP app sees, so nothing downstream (the SDK's transport context, a
debug log of headers) can repeat it. This module never logs it.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send

from fw_mcp.http.answers import reject

__all__ = ["HEADER", "PerRequestKey"]

HEADER = "X-Fireworks-Api-Key"
_RAW = HEADER.lower().encode("latin-1")
_MAX_CHARS = 512


def _plausible(key: str) -> bool:
    return 8 <= len(key) <= _MAX_CHARS and key.isascii() and key.isprintable() and " " not in key


class PerRequestKey:
    def __init__(self, app: ASGIApp, *, enabled: bool) -> None:
        self.app = app
        self.enabled = enabled

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        values = [v for k, v in scope["headers"] if k.lower() == _RAW]
        if not values:
            await self.app(scope, receive, send)
            return
        scope = {**scope, "headers": [(k, v) for k, v in scope["headers"] if k.lower() != _RAW]}
        if self.enabled:
            key = values[0].decode("latin-1").strip()
            if len(values) > 1 or not _plausible(key):
                await reject(
                    send,
                    400,
                    f"The {HEADER} header must be one Fireworks API key (8-{_MAX_CHARS} printable characters, "
                    "no spaces). Fix it, or leave it out to use the server's key.",
                )
                return
            scope["state"] = {**scope.get("state", {}), "fireworks_api_key": key}
        await self.app(scope, receive, send)
