"""The simulator's ASGI app: the Fireworks API under ``/inference/v1`` and controls under ``/_sim``.

It is written against raw ASGI (no framework) so that the streaming path can watch for client
disconnects itself; see ``exchange.py``. The control endpoints let a test script a simulator
that another process (the MCP server under test) talks to.
"""

from __future__ import annotations

import json
import logging
import time
from types import SimpleNamespace
from typing import Any

from .batch import CONTROL_PREFIX, SIGNED_PREFIX, serve_control_plane, serve_signed
from .batch_store import BatchStore
from .catalogue import model_list
from .embeddings import embeddings_response, rerank_response, serve_json
from .errors import error_vector, invalid_request
from .exchange import Exchange, Receive, Scope, ScriptedDrop, Send
from .generate import default_reply, plan_reply, scripted_reply
from .respond import is_custom, send_completion, send_custom, send_stream
from .state import Simulator
from .validate import RequestError, validate_chat

API_BASE = "/inference/v1"
CONTROL_BASE = "/_sim"


class _HideScriptedDrops(logging.Filter):
    """Keep uvicorn from logging a traceback for a drop the script asked for."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.exc_info and isinstance(record.exc_info[1], ScriptedDrop))


def _install_log_filter() -> None:
    logger = logging.getLogger("uvicorn.error")
    if not any(isinstance(f, _HideScriptedDrops) for f in logger.filters):
        logger.addFilter(_HideScriptedDrops())


def create_app(sim: Simulator | None = None, **config: Any) -> SimulatorApp:
    """Build the ASGI app around ``sim`` (or a new Simulator made from ``config``).

    Raises:
        ValueError: when both ``sim`` and ``config`` are given, or ``config`` is invalid.
    """
    if sim is not None and config:
        raise ValueError("pass either a Simulator or config keys, not both")
    _install_log_filter()
    return SimulatorApp(sim if sim is not None else Simulator(**config))


def bearer_key(headers: dict[str, str]) -> str | None:
    """The key from ``Authorization: Bearer <key>``, or None when absent or empty."""
    scheme, _, key = headers.get("authorization", "").partition(" ")
    key = key.strip()
    return key if scheme.lower() == "bearer" and key else None


class SimulatorApp:
    """ASGI callable; ``app.state.sim`` (and ``app.sim``) is the Simulator it serves."""

    def __init__(self, sim: Simulator) -> None:
        self.sim = sim
        self.state = SimpleNamespace(sim=sim)
        self.batch = BatchStore()  # the control plane's datasets and batch jobs

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
        elif scope["type"] == "http":
            if scope["path"].startswith(CONTROL_BASE + "/"):
                await self._control(Exchange(self.sim, scope, receive, send))
            elif scope["path"].startswith(CONTROL_PREFIX):
                await serve_control_plane(
                    Exchange(self.sim, scope, receive, send), self.batch, self.sim.config["api_keys"]
                )
            elif scope["path"].startswith(SIGNED_PREFIX):
                await serve_signed(Exchange(self.sim, scope, receive, send), self.batch)
            else:
                await self._api(Exchange(self.sim, scope, receive, send))

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return

    # -- API -----------------------------------------------------------------------------
    async def _api(self, ex: Exchange) -> None:
        started = time.monotonic()
        raw = await ex.read_body()
        if raw is None:
            return  # the client left before its request was complete: nothing to answer
        headers = ex.headers()
        body = parse_json(raw)
        ex.record = self.sim.open_record(
            method=ex.scope["method"],
            path=ex.scope["path"],
            body=body,
            raw_body_len=len(raw),
            api_key=bearer_key(headers),
            headers={k: v for k, v in headers.items() if k != "authorization"},
            stream=isinstance(body, dict) and body.get("stream") is True,
            started_at=started,
            peer=_peer(ex.scope),
        )
        ex.watch()
        try:
            await self._dispatch(ex, raw, body)
        finally:
            await ex.finish()

    async def _dispatch(self, ex: Exchange, raw: bytes, body: Any) -> None:
        config = self.sim.config
        ex.first_byte_delay = config["latency"]
        key = ex.record["api_key"] if ex.record else None
        if key is None or (config["api_keys"] is not None and key not in config["api_keys"]):
            vector = error_vector("401_invalid_key")
            await ex.send_json(vector["status"], vector["body"])
            return
        path, method = ex.scope["path"], ex.scope["method"]
        if path == f"{API_BASE}/chat/completions" and method == "POST":
            await self._chat(ex, raw, body, config)
        elif path == f"{API_BASE}/models" and method == "GET":
            entry = self._take(ex, raw)
            if is_custom(entry):
                await send_custom(ex, entry, config["token_delay"])
            else:
                await ex.send_json(200, model_list())
        elif path == f"{API_BASE}/embeddings" and method == "POST":
            await serve_json(ex, self._take(ex, raw), body, config, embeddings_response)
        elif path == f"{API_BASE}/rerank" and method == "POST":
            await serve_json(ex, self._take(ex, raw), body, config, rerank_response)
        elif path in (f"{API_BASE}/chat/completions", f"{API_BASE}/models"):
            await ex.send_json(
                405, invalid_request(f"Method {method} is not allowed on {path}", "METHOD_NOT_ALLOWED")
            )
        else:
            await ex.send_json(404, invalid_request(f"Not found: {path}", "NOT_FOUND"))

    def _take(self, ex: Exchange, raw: bytes) -> dict[str, Any]:
        """Consume the matching script entry (if any) and note it in the record."""
        entry = self.sim.take(ex.scope["path"], raw.decode("utf-8", errors="replace")) or {}
        if entry and ex.record is not None:
            self.sim.update_record(ex.record, script=entry)
        ex.first_byte_delay += float(entry.get("delay", 0))
        return entry

    async def _chat(self, ex: Exchange, raw: bytes, body: Any, config: dict[str, Any]) -> None:
        if body is None:
            await ex.send_json(400, invalid_request("Request body is not valid JSON"))
            return
        try:
            validate_chat(body, config["unknown_models"], config["extra_models"])
        except RequestError as exc:
            await ex.send_json(exc.status, exc.body)
            return
        entry = self._take(ex, raw)
        token_delay = float(entry.get("token_delay", config["token_delay"]))
        if is_custom(entry):
            await send_custom(ex, entry, token_delay)
            return
        reply = scripted_reply(entry["reply"]) if "reply" in entry else default_reply(body)
        plan = plan_reply(reply, body, config["chunk_words"])
        if body.get("stream") is True:
            await send_stream(ex, plan, body, entry, token_delay)
        else:
            await send_completion(ex, plan, body, entry)

    # -- control -------------------------------------------------------------------------
    async def _control(self, ex: Exchange) -> None:
        raw = await ex.read_body()
        if raw is None:
            return
        name, method = ex.scope["path"][len(CONTROL_BASE) + 1 :], ex.scope["method"]
        try:
            result = self._control_action(name, method, parse_json(raw) if raw else None)
        except (ValueError, TypeError) as exc:
            await ex.send_json(400, {"error": str(exc)})
            return
        if result is None:
            await ex.send_json(404, {"error": f"no control endpoint {method} {ex.scope['path']}"})
        else:
            await ex.send_json(200, result)

    def _control_action(self, name: str, method: str, payload: Any) -> Any:
        """Run one control command; None means there is no such endpoint."""
        if (name, method) == ("script", "POST"):
            entries = payload if isinstance(payload, list) else [payload]
            self.sim.enqueue(*entries)
            return {"queued": len(entries)}
        if (name, method) == ("script", "GET"):
            return self.sim.script
        if (name, method) == ("reset", "POST"):
            self.sim.reset()
            self.batch.reset()
            return {"ok": True}
        if (name, method) == ("requests", "GET"):
            return self.sim.requests
        if (name, method) == ("config", "POST"):
            if not isinstance(payload, dict):
                raise ValueError("the config body must be a JSON object")
            self.sim.configure(**payload)
            return self.sim.config
        if (name, method) == ("batch", "POST"):
            return self.batch.configure(**(payload or {}))
        if (name, method) == ("config", "GET"):
            return self.sim.config
        return None


def parse_json(raw: bytes) -> Any:
    """The parsed body, or None when it is not JSON (the caller answers 400)."""
    try:
        return json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError):
        return None


def _peer(scope: dict[str, Any]) -> str | None:
    """The client's address and port: which TCP connection carried the request (pooling tests)."""
    client = scope.get("client")
    return f"{client[0]}:{client[1]}" if client else None
