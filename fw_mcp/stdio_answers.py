"""Every stdio line that carries an `id` gets an answer, even when the SDK's parser refuses it.

The SDK parses each line strictly and, when it cannot, hands the server an exception that is only
logged: the host that sent the request waits for ever. This wraps the read stream the server
consumes; for each such exception it recovers what it can from the refused line and

- serves it after all when the only problem was lone surrogate escapes (`"\\ud83d"`, which Node
  hosts emit for text cut mid-emoji): they become U+FFFD and the request goes on as usual;
- otherwise answers -32700 (not JSON the server reads: a 4,400-digit number, nesting 100,000 deep,
  a syntax error) or -32600 (JSON, but not a JSON-RPC request: `params` not an object,
  `"jsonrpc": "1.0"`) with the request's `id`, found by a linear scan when the JSON cannot be parsed.

Lines without an id (notifications), responses, and ids that are not a string or an integer get no
answer (JSON-RPC forbids one, or there is nothing to address it to); they are logged to stderr.
"""

from __future__ import annotations

import json
import logging
import re
from contextlib import suppress
from types import TracebackType
from typing import TYPE_CHECKING, Any

import anyio
import mcp_types as types
from mcp.shared.message import SessionMessage
from pydantic import ValidationError

if TYPE_CHECKING:
    import contextvars

    from mcp.shared._stream_protocols import ReadStream, WriteStream

__all__ = ["AnsweringReadStream", "triage"]

logger = logging.getLogger(__name__)

_MAX_ID_DIGITS = 19  # an id this long still fits JSON-RPC's integer; longer ones cannot be echoed
_SURROGATE = re.compile("[\ud800-\udfff]")
_STRING = re.compile(r'"(?:[^"\\]|\\.)*"', re.DOTALL)
_INTERESTING = re.compile(r'["{}\[\],:]')
_SCALAR = re.compile(r"\s*([^,}\]\s]*)")
_WANTED = frozenset({"id", "method", "result", "error"})


class AnsweringReadStream:
    """The server's read stream, with refused lines answered (or repaired) on `write`."""

    def __init__(
        self, inner: ReadStream[SessionMessage | Exception], write: WriteStream[SessionMessage]
    ) -> None:
        self._inner = inner
        self._write = write

    @property
    def last_context(self) -> contextvars.Context | None:
        """The sender's context, which the dispatcher restores for each message."""
        return getattr(self._inner, "last_context", None)

    async def receive(self) -> SessionMessage | Exception:
        item = await self._inner.receive()
        if not isinstance(item, Exception):
            return item
        outcome = triage(item)
        if isinstance(outcome, SessionMessage):
            return outcome
        if outcome is not None:
            with suppress(anyio.ClosedResourceError, anyio.BrokenResourceError):  # the host has gone
                await self._write.send(SessionMessage(outcome))
        return item

    async def aclose(self) -> None:
        await self._inner.aclose()

    def __aiter__(self) -> AnsweringReadStream:
        return self

    async def __anext__(self) -> SessionMessage | Exception:
        try:
            return await self.receive()
        except anyio.EndOfStream:
            raise StopAsyncIteration from None

    async def __aenter__(self) -> AnsweringReadStream:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> bool | None:
        await self.aclose()
        return None


def triage(exc: Exception) -> SessionMessage | types.JSONRPCError | None:
    """What to do with a line the SDK refused: serve it repaired, answer it, or nothing (logged)."""
    if not isinstance(exc, ValidationError):
        return None
    errors = exc.errors(include_url=False)
    if not errors:
        return None
    first = errors[0]
    if first.get("type") == "json_invalid" and isinstance(first.get("input"), str | bytes):
        return _unparsable(first["input"], str(first.get("msg", "invalid JSON")))
    fields = next(
        (e["input"] for e in errors if isinstance(e.get("input"), dict) and "id" in e["input"]), None
    )
    if fields is None:
        logger.warning("stdio: dropped a line with no usable id: %s", _summary(errors))
        return None
    return _answer(fields, types.INVALID_REQUEST, f"Invalid request: {_summary(errors)}")


def _unparsable(raw: str | bytes, reason: str) -> SessionMessage | types.JSONRPCError | None:
    text = raw.decode("utf-8", errors="replace") if isinstance(raw, bytes) else raw
    try:
        parsed = json.loads(text)
    except (ValueError, RecursionError):
        parsed = None
    if isinstance(parsed, dict):
        repaired = _repaired(parsed)
        if repaired is not None:
            try:
                message = types.jsonrpc_message_adapter.validate_python(repaired, by_name=False)
            except ValidationError as exc:
                return _answer(repaired, types.INVALID_REQUEST, f"Invalid request: {_summary(exc.errors())}")
            logger.info(
                "stdio: replaced lone surrogate escapes with U+FFFD in a line (id %r)", repaired.get("id")
            )
            return SessionMessage(message)
        fields: dict[str, Any] = parsed
    else:
        fields = _top_level(text)
    return _answer(
        fields,
        types.PARSE_ERROR,
        f"Parse error: the line is not JSON this server can read ({reason}). Numbers may have at most "
        "4,300 digits and nesting must stay shallow; send strings for anything larger.",
    )


def _answer(fields: dict[str, Any], code: int, message: str) -> types.JSONRPCError | None:
    """An error addressed to the request's id, or None when there is no request to answer."""
    id_ = fields.get("id")
    is_response = ("result" in fields or "error" in fields) and "method" not in fields
    if isinstance(id_, bool) or not isinstance(id_, int | str) or is_response:
        logger.warning("stdio: dropped a line that cannot be answered (id %r): %s", id_, message)
        return None
    logger.warning("stdio: answered request %r with %d: %s", id_, code, message)
    return types.JSONRPCError(jsonrpc="2.0", id=id_, error=types.ErrorData(code=code, message=message))


def _summary(errors: Any) -> str:
    """The first problem the parser named, with its place (`params: Input should be ...`)."""
    for err in errors:
        loc = [str(p) for p in err.get("loc", ()) if not str(p).startswith("JSONRPC")]
        return (f"{'.'.join(loc)}: " if loc else "") + str(err.get("msg", "invalid"))[:200]
    return "invalid"


def _repaired(value: dict[str, Any]) -> dict[str, Any] | None:
    """`value` with lone surrogates replaced by U+FFFD, or None when it had none to replace."""
    found = False

    def fix(item: Any) -> Any:
        nonlocal found
        if isinstance(item, str):
            if _SURROGATE.search(item):
                found = True
                return _SURROGATE.sub("\ufffd", item)
            return item
        if isinstance(item, dict):
            return {fix(k): fix(v) for k, v in item.items()}
        if isinstance(item, list):
            return [fix(v) for v in item]
        return item

    try:
        fixed = fix(value)
    except RecursionError:
        return None
    return fixed if found else None


def _top_level(text: str) -> dict[str, Any]:
    """The scalar members `id`, `method`, `result`, `error` of a top-level object that json cannot
    parse (too deep, a giant number, cut short): one linear pass, regexes doing the skipping."""
    found: dict[str, Any] = {}
    pos = text.find("{")
    if pos < 0 or text[:pos].strip():
        return found
    pos, depth, key, expect_key = pos + 1, 1, None, True
    while depth and (hit := _INTERESTING.search(text, pos)):
        char, pos = hit.group(), hit.start()
        if char == '"':
            string = _STRING.match(text, pos)
            if string is None:
                break
            if depth == 1 and expect_key:
                key = _json_scalar(string.group())
            elif depth == 1 and key in _WANTED:
                found[str(key)] = _json_scalar(string.group())
            pos = string.end()
            continue
        if char in "{[":
            if depth == 1 and key in _WANTED:
                found[str(key)] = {}  # present (`result`/`error` objects): its value is not needed
            depth += 1
        elif char in "}]":
            depth -= 1
        elif depth == 1 and char == ",":
            expect_key = True
        elif depth == 1 and char == ":":
            expect_key = False
            value = _SCALAR.match(text, pos + 1)
            token = value.group(1) if value else ""
            if key in _WANTED and token and token[0] not in '"{[':
                found[str(key)] = _json_scalar(token)
        pos += 1
    return found


def _json_scalar(token: str) -> Any:
    """A small JSON scalar (a key, a string, an id); None for what cannot be one."""
    if token.lstrip("-").isdigit() and len(token) > _MAX_ID_DIGITS:
        return None
    try:
        return json.loads(token)
    except (ValueError, RecursionError):
        return None
