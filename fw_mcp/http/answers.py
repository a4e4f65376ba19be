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


# What to send instead: by status, and for 400/404 by what the SDK's message is about.
_ADVICE: dict[int, str] = {
    405: "POST JSON-RPC to this URL; GET opens a session's event stream; DELETE ends a session.",
    406: "Send `Accept: application/json, text/event-stream`.",
    415: "Send `Content-Type: application/json`.",
}
_ADVICE_BY_TOPIC: dict[tuple[int, str], str] = {
    (400, "content-type"): "Send `Content-Type: application/json`.",
    (400, "session"): "Send `initialize` first (without Mcp-Session-Id), then the Mcp-Session-Id "
    "header it returned on every request.",
    (404, "session"): "The session is unknown (expired, or the server restarted): send `initialize` "
    "again, without Mcp-Session-Id.",
}
_EXPLAINED = {400, 404, *_ADVICE}


def _advice(status: int, message: str) -> str:
    lowered = message.lower()
    topical = [a for (code, topic), a in _ADVICE_BY_TOPIC.items() if code == status and topic in lowered]
    return topical[0] if topical else _ADVICE.get(status, "")


class ExplainRefusals:
    """Every refusal on /mcp gets a JSON-RPC error body that says what to send instead.

    The SDK's own error (its id, code and data) is kept; only the message grows by a sentence.
    """

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
            if message["type"] == "http.response.start" and message["status"] in _EXPLAINED:
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
    try:
        parsed = json.loads(body) if body.strip() else None
    except ValueError:
        parsed = None
    if isinstance(parsed, dict) and isinstance(parsed.get("error"), dict):
        error = dict(parsed["error"])
        advice = _advice(status, str(error.get("message", "")))
        if advice and advice not in str(error.get("message", "")):
            error["message"] = f"{str(error.get('message', '')).rstrip('.')}. {advice}"
        answer = {**parsed, "error": error}
    else:
        text = body.decode("utf-8", "replace").strip() or f"HTTP {status}"
        advice = _advice(status, text)
        message = f"{text.rstrip('.')}. {advice}" if advice else text
        answer = {"jsonrpc": "2.0", "id": None, "error": {"code": INVALID_REQUEST, "message": message}}
    kept = [
        (k, v) for k, v in start.get("headers", []) if k.lower() not in (b"content-type", b"content-length")
    ]
    payload = json.dumps(answer).encode()
    headers = [*kept, (b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": payload})


def busy_port_error(host: str, port: int) -> ConfigError:
    return ConfigError(
        f"Cannot listen on {host}:{port}: the port is in use (another fw-mcp, or another server). "
        "Choose another with --port N (--port 0 picks a free one), or stop what holds it."
    )
