"""The soak's schema and answer attacks (issue 14, items 1 and 2): hostile calls over HTTP.

Each attack is one `tools/call` of `extract_json` or `call_with_tools` whose schema, tool parameters
or (through the simulator's script) upstream answer is hostile, the same payloads as
tests/e2e/test_hostile_schemas.py. A call's text carries a marker `soak-hostile-<kind>`; one script
entry per attack (matched on that marker, used as often as asked) makes the simulator answer every
round of that attack, repair rounds included, with the hostile answer, while the normal clients'
`chat` calls match no entry and get the simulator's default answer. The hostile answer is sent as
raw SSE in one delta (as the e2e tests send it in big chunks): split word by word, 300,000 array
elements would become a stream of over 128 MiB, an attack on the stream size rather than on
validation.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from bench.http_load import PROTOCOL, RawConnection

PATTERN = "^(a+)+$"
BACKTRACK = json.dumps({"s": "a" * 5000 + "!"})
DEEP = "[" * 100_000 + "]" * 100_000
USES = 10**9  # a script entry that outlasts any run


@dataclass(frozen=True)
class Hostile:
    """One attack: the tool and its arguments, the scripted upstream reply (if any), and the text
    the server's result must contain (the bounded answer the tests assert)."""

    tool: str
    arguments: dict[str, Any]
    reply: dict[str, Any] | None
    expect: str
    is_error: bool = True


def _extract(kind: str, schema: dict[str, Any], content: str | None, expect: str) -> Hostile:
    args = {"text": f"soak-hostile-{kind}", "schema": schema}
    return Hostile("extract_json", args, None if content is None else {"content": content}, expect)


def _ref_chain(levels: int = 20) -> dict[str, Any]:
    """`$defs` whose each entry is `allOf` two `$ref`s to the next: 2**levels paths in ~1.3 KB."""
    defs: dict[str, Any] = {f"d{i}": {"allOf": [{"$ref": f"#/$defs/d{i + 1}"}] * 2} for i in range(levels)}
    defs[f"d{levels}"] = {"type": "object"}
    return {"$defs": defs, "$ref": "#/$defs/d0"}


def _tools(kind: str, parameters: dict[str, Any], calls: list[dict[str, Any]], expect: str) -> Hostile:
    tools = [{"name": "lookup", "description": "Look a thing up.", "parameters": parameters}]
    args = {"prompt": f"soak-hostile-{kind}", "tools": tools}
    return Hostile("call_with_tools", args, {"tool_calls": calls}, expect, is_error=False)


def _hostile_attacks() -> dict[str, Hostile]:
    string_s = {"type": "object", "properties": {"s": {"type": "string", "pattern": PATTERN}}}
    objects = [{"id": i, "tags": ["x", i]} for i in range(20_000)] + [{"tags": ["x", 7], "id": 7.0}]
    city = {"type": "object", "properties": {"city": {"type": "string"}}}
    deep_calls: list[dict[str, Any]] = [
        {"name": "lookup", "arguments": json.dumps({"city": "Paris"})},
        {"name": "lookup", "arguments": '{"city": ' + DEEP + "}"},
    ]
    return {
        "pattern_answer": _extract("pattern_answer", string_s, BACKTRACK, f"does not match '{PATTERN}'"),
        "pattern_tool_args": _tools(
            "pattern_tool_args",
            string_s,
            [{"name": "lookup", "arguments": BACKTRACK}],
            f"does not match '{PATTERN}'",
        ),
        "ref_chain": _extract("ref_chain", _ref_chain(), '{"a": 1}', "validation budget"),
        "unique_items": _extract(
            "unique_items",
            {"type": "array", "uniqueItems": True, "minItems": 1},
            json.dumps(objects, separators=(",", ":")),
            "non-unique elements",
        ),
        "type_list": _extract(
            "type_list", {"type": ["string", "number"] * 2500}, None, "is not a valid JSON Schema"
        ),
        "violations": _extract(
            "violations",
            {"type": "array", "items": {"type": "string"}},
            json.dumps([0] * 300_000, separators=(",", ":")),
            "is not of type 'string'",
        ),
        "unclosed_fence": _extract(
            "unclosed_fence", {"type": "object"}, "```json" + "\t" * 200_000 + "{", "JSON"
        ),
        "deep_answer": _extract("deep_answer", {"type": "array"}, DEEP, "nested more than 100 levels deep"),
        "deep_tool_args": _tools("deep_tool_args", city, deep_calls, "nested more than 100 levels deep"),
    }


def raw_sse(reply: dict[str, Any]) -> str:
    """A chat-completions stream that carries the whole reply in one delta, then the finish."""
    calls = [
        {
            "index": i,
            "id": f"call_soak{i}",
            "type": "function",
            "function": {"name": c["name"], "arguments": c["arguments"]},
        }
        for i, c in enumerate(reply.get("tool_calls", []))
    ]
    delta = {"role": "assistant", "content": reply.get("content", "")} | (
        {"tool_calls": calls} if calls else {}
    )
    usage = {"prompt_tokens": 10, "completion_tokens": 10, "total_tokens": 20}
    head = {"id": "chatcmpl-soak", "object": "chat.completion.chunk", "created": 0, "model": "soak"}
    chunks = [
        {**head, "choices": [{"index": 0, "delta": delta, "finish_reason": None}]},
        {
            **head,
            "choices": [{"index": 0, "delta": {}, "finish_reason": "tool_calls" if calls else "stop"}],
            "usage": usage,
        },
    ]
    return "".join(f"data: {json.dumps(c)}\n\n" for c in chunks) + "data: [DONE]\n\n"


def script_entries(attacks: dict[str, Hostile]) -> list[dict[str, Any]]:
    """The simulator script: each attack's hostile reply, for every request that carries its marker."""
    return [
        {"match": f"soak-hostile-{kind}", "times": USES, "raw_sse": raw_sse(attack.reply)}
        for kind, attack in attacks.items()
        if attack.reply is not None
    ]


async def call_tool(
    conn: RawConnection, request_id: int, token: str, name: str, arguments: dict[str, Any]
) -> tuple[bool, str]:
    """One stateless (2026-07-28) tools/call; returns (isError, the result as JSON text)."""
    headers = {
        "authorization": f"Bearer {token}",
        "accept": "application/json, text/event-stream",
        "content-type": "application/json",
        "mcp-protocol-version": PROTOCOL,
        "mcp-method": "tools/call",
        "mcp-name": name,
    }
    meta = {
        "io.modelcontextprotocol/protocolVersion": PROTOCOL,
        "io.modelcontextprotocol/clientInfo": {"name": "fw-mcp-soak", "version": "0"},
        "io.modelcontextprotocol/clientCapabilities": {},
    }
    call = {"name": name, "arguments": arguments, "_meta": meta}
    body = json.dumps({"jsonrpc": "2.0", "id": request_id, "method": "tools/call", "params": call})
    status, got, data = await conn.post(body.encode(), headers)
    if status != 200:
        return True, f"HTTP {status}: {data[:200]!r}"
    if got.get("content-type", "").startswith("application/json"):
        messages = [json.loads(data)]
    else:
        lines = data.decode().splitlines()
        messages = [json.loads(line[5:]) for line in lines if line.startswith("data:") and line[5:].strip()]
    for message in messages:
        if message.get("id") == request_id:
            if "error" in message:
                return True, json.dumps(message["error"])
            result = message.get("result") or {}
            return bool(result.get("isError")), json.dumps(result)
    return True, "no result in the response"


HOSTILE = _hostile_attacks()
