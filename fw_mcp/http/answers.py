"""The refusals this package sends before the MCP app sees a request: JSON-RPC error bodies.

MCP clients parse the body of a failed POST as JSON-RPC, so a refusal is a JSON-RPC error with no
id (as the SDK's own transport errors are), and its message says what to change.
"""

from __future__ import annotations

import json
from collections.abc import Iterable

from starlette.types import Send

__all__ = ["INTERNAL_ERROR", "INVALID_REQUEST", "reject"]

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
