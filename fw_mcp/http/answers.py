"""The refusals this package sends before the MCP app sees a request: JSON-RPC error bodies.

MCP clients parse the body of a failed POST as JSON-RPC, so a refusal is a JSON-RPC error with no
id (as the SDK's own transport errors are), and its message says what to change.
"""

from __future__ import annotations

import json
from collections.abc import Iterable

from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from fw_mcp.errors import ConfigError

__all__ = ["INTERNAL_ERROR", "INVALID_REQUEST", "ExplainRefusals", "busy_port_error", "reject", "root_route"]

INVALID_REQUEST = -32600
INTERNAL_ERROR = -32603


async def reject(
    send: Send,
    status: int,
    message: str,
    *,
    code: int = INVALID_REQUEST,
    headers: Iterable[tuple[str, str]] = (),
) -> None:
    body = json.dumps({"jsonrpc": "2.0", "id": None, "error": {"code": code, "message": message}}).encode()
    raw_headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        *((k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers),
    ]
    await send({"type": "http.response.start", "status": status, "headers": raw_headers})
    await send({"type": "http.response.body", "body": body})


ROOT_TEXT = """fw-mcp: an MCP server (Fireworks AI models as tools). This is not a web page.
MCP clients connect to {mcp} (streamable HTTP): POST JSON-RPC there with
  Content-Type: application/json
  Accept: application/json, text/event-stream
starting with an `initialize` request (and a bearer token, if this server requires one).
Try it: npx @modelcontextprotocol/inspector, transport "Streamable HTTP", URL {mcp}
Health: /healthz (alive), /readyz (ready for calls).
"""


def root_route(mcp_path: str) -> Route:
    """`GET /`: what a person (or a mistyped client URL) finds here, and where MCP is."""

    async def root(request: Request) -> PlainTextResponse:
        base = str(request.base_url).rstrip("/")
        return PlainTextResponse(ROOT_TEXT.format(mcp=base + mcp_path))

    return Route("/", root, methods=["GET", "HEAD"])


# What to send instead, by status, for the refusals the MCP SDK writes on /mcp.
_ADVICE = {
    400: "Send JSON-RPC with `Content-Type: application/json`; after `initialize`, send the "
    "Mcp-Session-Id header it returned on every request.",
    404: "The session is unknown (expired, or the server restarted): send `initialize` again, "
    "without Mcp-Session-Id.",
    405: "POST JSON-RPC to this URL; GET opens a session's event stream; DELETE ends a session.",
    406: "Send `Accept: application/json, text/event-stream`.",
    415: "Send `Content-Type: application/json`.",
}


class ExplainRefusals:
    """Every refusal on /mcp gets a JSON-RPC error body that says what to send instead."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start: Message | None = None
        chunks: list[bytes] = []

        async def explaining_send(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start" and message["status"] in _ADVICE:
                start = message
                return
            if start is None:
                await send(message)
                return
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                await _send_explained(send, start, b"".join(chunks))

        await self.app(scope, receive, explaining_send)


async def _send_explained(send: Send, start: Message, body: bytes) -> None:
    status = start["status"]
    advice = _ADVICE[status]
    code = INVALID_REQUEST
    try:
        parsed = json.loads(body) if body.strip() else None
    except ValueError:
        parsed = None
    if isinstance(parsed, dict) and isinstance(parsed.get("error"), dict):
        message = str(parsed["error"].get("message", ""))
        code = parsed["error"].get("code", code)
    else:
        message = body.decode("utf-8", "replace").strip() or f"HTTP {status}"
    text = f"{message.rstrip('.')}. {advice}" if advice not in message else message
    kept = [
        (k, v) for k, v in start.get("headers", []) if k.lower() not in (b"content-type", b"content-length")
    ]
    payload = json.dumps({"jsonrpc": "2.0", "id": None, "error": {"code": code, "message": text}}).encode()
    headers = [*kept, (b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": payload})


def busy_port_error(host: str, port: int) -> ConfigError:
    return ConfigError(
        f"Cannot listen on {host}:{port}: the port is in use (another fw-mcp, or another server). "
        "Choose another with --port N (--port 0 picks a free one), or stop what holds it."
    )
