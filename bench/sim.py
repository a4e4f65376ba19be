"""The simulator with a stopwatch: `python bench/sim.py --port 0 --latency S --stopwatch`.

The stock simulator app (`fw_mcp.simulator`), wrapped in an ASGI layer that notes the
`time.monotonic()` at which each piece of a chat-completions response body is handed to the
socket. `GET /_bench/sends` returns them (and forgets them), keyed by the request's last user
message; `GET /_bench/ports` lists the client ports of all chat requests (one per TCP
connection). Linux's monotonic clock is shared by all processes, so these stamps compare directly
with the ones the benchmark takes when a progress notification reaches the host.

Used by the streaming measurement only; the others run `python -m fw_mcp.simulator` as shipped.
"""

from __future__ import annotations

import json
import sys
import time
from typing import Any

from fw_mcp.simulator.__main__ import main as simulator_main

SENDS_PATH = "/_bench/sends"
PORTS_PATH = "/_bench/ports"


def request_key(raw: bytes) -> str:
    """The last user message of a chat request: the benchmark makes it unique per call."""
    try:
        body = json.loads(raw)
        return str(body["messages"][-1]["content"])
    except (ValueError, KeyError, IndexError, TypeError):
        return ""


class Stopwatch:
    """ASGI middleware: records (monotonic time, bytes) for every response body piece sent."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.sends: dict[str, list[tuple[float, str]]] = {}
        self.ports: set[int] = set()  # client ports of chat requests: one per upstream TCP connection

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if scope["path"] == SENDS_PATH:
            data, self.sends = self.sends, {}
            await self._answer(send, data)
            return
        if scope["path"] == PORTS_PATH:
            await self._answer(send, sorted(self.ports))
            return
        if not scope["path"].endswith("/chat/completions"):
            await self.app(scope, receive, send)
            return
        if scope.get("client"):
            self.ports.add(scope["client"][1])
        body: list[bytes] = []
        stamps: list[tuple[float, bytes]] = []

        async def timed_receive() -> dict[str, Any]:
            message = await receive()
            if message["type"] == "http.request":
                body.append(message.get("body", b""))
            return message

        async def timed_send(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.body" and message.get("body"):
                stamps.append((time.monotonic(), message["body"]))  # stamped before the write
            await send(message)

        try:
            await self.app(scope, timed_receive, timed_send)
        finally:
            self.sends[request_key(b"".join(body))] = [
                (t, data.decode("utf-8", "replace")) for t, data in stamps
            ]

    @staticmethod
    async def _answer(send: Any, payload: Any) -> None:
        data = json.dumps(payload).encode()
        headers = [(b"content-type", b"application/json"), (b"content-length", str(len(data)).encode())]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": data})


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    wrap = Stopwatch if "--stopwatch" in argv else None
    return simulator_main([a for a in argv if a != "--stopwatch"], wrap=wrap)


if __name__ == "__main__":
    sys.exit(main())
