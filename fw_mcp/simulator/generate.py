"""Deterministic answers: what the simulated model says, split into the deltas it streams.

A ``Reply`` is the whole answer (default or scripted); ``plan_reply`` turns it into a ``Plan``:
one delta per "token", cut by ``stop`` and ``max_tokens`` the way the real API cuts them, with
the finish reason and usage that follow. Streamed and non-streamed responses are both built from
the same plan, so they always agree.
"""

from __future__ import annotations

import json
import re
import uuid
from dataclasses import dataclass, field
from typing import Any

from .catalogue import ModelSpec, served
from .images import describe_images
from .schema_gen import instance_for

TOKEN_RE = re.compile(r"\s*(?:\w+|[^\w\s]+)|\s+$")
ECHO_WORDS = 30


@dataclass
class ToolCall:
    """One function call the model makes; ``arguments`` is the JSON text, as on the wire."""

    name: str
    arguments: str
    id: str = field(default_factory=lambda: f"call_{uuid.uuid4().hex[:8]}")


@dataclass
class Reply:
    """A whole answer before chunking; ``finish_reason``/``usage`` override the computed ones."""

    content: str | None
    reasoning: str | None = None
    think_tags: bool = False
    tool_calls: list[ToolCall] = field(default_factory=list)
    finish_reason: str | None = None
    usage: dict[str, Any] | None = None


@dataclass
class Plan:
    """The deltas to stream after the role chunk, and how the answer ends."""

    first_delta: dict[str, Any]
    deltas: list[dict[str, Any]]
    finish_reason: str
    usage: dict[str, Any]


def split_tokens(text: str, words: int = 1) -> list[str]:
    """Split text into word-sized pieces that concatenate back to exactly ``text``."""
    pieces = TOKEN_RE.findall(text)
    if "".join(pieces) != text:  # the regex covers all text; this guards the invariant
        pieces = [text]
    return ["".join(pieces[i : i + words]) for i in range(0, len(pieces), words)]


def short_name(model: str) -> str:
    """``accounts/fireworks/models/deepseek-v3p1#dep`` -> ``deepseek-v3p1``."""
    return model.split("#", 1)[0].rsplit("/", 1)[-1]


def message_text(message: dict[str, Any]) -> str:
    """The text of a message, whether its content is a string or a list of parts."""
    content = message.get("content")
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(p.get("text", "") for p in content if isinstance(p, dict) and p.get("type") == "text")
    return ""


def echo(text: str) -> str:
    """The first words of a text, to show the prompt reached the model."""
    return " ".join(text.split()[:ECHO_WORDS])


def prompt_tokens(messages: list[dict[str, Any]]) -> int:
    """About four characters per token, counting text and tool-call arguments."""
    chars = 0
    for message in messages:
        chars += len(message_text(message))
        for call in message.get("tool_calls") or []:
            chars += len(str((call.get("function") or {}).get("arguments", "")))
    return max(1, chars // 4)


# -- default answers ------------------------------------------------------------------------
def default_reply(body: dict[str, Any]) -> Reply:
    """What the simulated model answers when no script says otherwise."""
    messages: list[dict[str, Any]] = body["messages"]
    reasoning_mode = choose_reasoning(body)
    reasoning = reasoning_text(body) if reasoning_mode else None
    think = reasoning_mode == "tags"
    calls = choose_tool_calls(body)
    if calls:
        return Reply(content=None, reasoning=reasoning, think_tags=think, tool_calls=calls)
    return Reply(content=answer_text(body, messages), reasoning=reasoning, think_tags=think)


def answer_text(body: dict[str, Any], messages: list[dict[str, Any]]) -> str:
    """The content of a text or JSON answer, chosen by response format, tool results and images."""
    name = short_name(body["model"])
    fmt = body.get("response_format") or {}
    last_user: dict[str, Any] = next((m for m in reversed(messages) if m.get("role") == "user"), {})
    schema = (fmt.get("json_schema") or {}).get("schema") if fmt.get("type") == "json_schema" else None
    if fmt.get("type") == "json_object" and isinstance(fmt.get("schema"), dict):
        schema = fmt["schema"]  # the older spelling: json_object with a schema
    if isinstance(schema, dict):
        return json.dumps(instance_for(schema), separators=(",", ":"))
    if messages[-1].get("role") == "tool":
        text = f"Simulated answer from {name} using the tool result: {echo(message_text(messages[-1]))}"
    elif images := [p for m in messages for p in image_parts(m)]:
        text = describe_images(images)
    else:
        asked = echo(message_text(last_user))
        text = f"Simulated answer from {name}: {asked}" if asked else f"Simulated answer from {name}."
    if fmt.get("type") == "json_object":
        return json.dumps({"answer": text}, separators=(",", ":"))
    return text


def image_parts(message: dict[str, Any]) -> list[dict[str, Any]]:
    """The image parts of a message's content list."""
    content = message.get("content")
    if not isinstance(content, list):
        return []
    return [p for p in content if isinstance(p, dict) and p.get("type") == "image_url"]


def choose_reasoning(body: dict[str, Any]) -> str | None:
    """``"field"`` for ``reasoning_content`` deltas, ``"tags"`` for ``<think>`` in content, or None.

    Per model (the catalogue): some never reason, some only when asked, some until told `none`,
    some always. The body was validated, so the model is served and its effort is one it takes.
    """
    spec = served(body["model"]) or ModelSpec(True, 0)
    effort = body.get("reasoning_effort")
    thinking = body.get("thinking")
    if isinstance(thinking, dict):
        effort = thinking.get("type") == "enabled"
    off = effort is False or effort == "none" or (isinstance(effort, int) and effort == 0)
    on = {
        "never": False,
        "asked": effort is not None and not off,
        "default": not off,
        "always": True,
    }[spec.reasoning]
    return spec.style if on else None


def reasoning_text(body: dict[str, Any]) -> str:
    """A short deterministic chain of thought; higher effort makes it longer."""
    asked = " ".join(message_text(body["messages"][-1]).split()[:8])
    steps = ["I will answer directly.", "Let me check the details first.", "I should double-check it."]
    count = {"low": 1, "high": 3}.get(str(body.get("reasoning_effort")), 2)
    return f'The user wrote "{asked}". ' + " ".join(steps[:count])


def choose_tool_calls(body: dict[str, Any]) -> list[ToolCall]:
    """Call the chosen tool (or the first two in parallel) unless tool results just came back."""
    tools = body.get("tools") or []
    choice = body.get("tool_choice", "auto")
    if not tools or choice == "none" or body["messages"][-1].get("role") == "tool":
        return []
    by_name = {t["function"]["name"]: t["function"] for t in tools}
    if isinstance(choice, dict):
        chosen = [by_name[choice["function"]["name"]]]
    elif body.get("parallel_tool_calls") is True and len(tools) >= 2 and choice == "auto":
        chosen = [tools[0]["function"], tools[1]["function"]]
    else:
        chosen = [tools[0]["function"]]
    return [ToolCall(f["name"], tool_arguments(f.get("parameters"))) for f in chosen]


def tool_arguments(parameters: Any) -> str:
    """Arguments as the JSON text a model writes (spaced like the API's own examples)."""
    if not isinstance(parameters, dict) or not parameters:
        return "{}"
    return json.dumps(instance_for(parameters))


# -- scripted answers -----------------------------------------------------------------------
def scripted_reply(spec: dict[str, Any]) -> Reply:
    """Turn a script's ``reply`` object into a Reply (arguments may be given as an object)."""
    calls = [scripted_call(c) for c in spec.get("tool_calls") or []]
    content = spec.get("content", None if calls else "")
    return Reply(
        content=content,
        reasoning=spec.get("reasoning"),
        think_tags=bool(spec.get("think_tags", False)),
        tool_calls=calls,
        finish_reason=spec.get("finish_reason"),
        usage=spec.get("usage"),
    )


def scripted_call(call: dict[str, Any]) -> ToolCall:
    """A scripted call; object arguments are serialised the way the API writes them."""
    arguments = call.get("arguments", "{}")
    text = arguments if isinstance(arguments, str) else json.dumps(arguments)
    return ToolCall(call["name"], text, call["id"]) if "id" in call else ToolCall(call["name"], text)


# -- planning -------------------------------------------------------------------------------
def plan_reply(reply: Reply, body: dict[str, Any], chunk_words: int = 1) -> Plan:
    """Chunk a reply, apply ``stop`` and ``max_tokens``, and compute finish reason and usage."""
    content, _stopped = apply_stop(reply.content, body.get("stop"))
    deltas = reasoning_and_content_deltas(reply, content, chunk_words)
    deltas += tool_call_deltas(reply.tool_calls, chunk_words)
    limit = body.get("max_tokens", body.get("max_completion_tokens"))
    truncated = isinstance(limit, int) and len(deltas) > limit
    if truncated:
        deltas = deltas[:limit]
    finish = "length" if truncated else ("tool_calls" if reply.tool_calls else "stop")
    usage = reply.usage or make_usage(prompt_tokens(body["messages"]), len(deltas))
    null_content = reply.tool_calls and not content and not reply.think_tags
    first = {"role": "assistant", "content": None if null_content else ""}
    return Plan(first, deltas, reply.finish_reason or finish, usage)


def make_usage(prompt: int, completion: int) -> dict[str, Any]:
    """The usage object in the shape the API sends it."""
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
        "prompt_tokens_details": {"cached_tokens": 0},
    }


def apply_stop(content: str | None, stop: Any) -> tuple[str | None, bool]:
    """Cut the content before the earliest stop sequence; the sequence itself is not returned."""
    if content is None or not stop:
        return content, False
    sequences = [stop] if isinstance(stop, str) else [s for s in stop if s]
    cuts = [content.find(s) for s in sequences if s in content]
    return (content[: min(cuts)], True) if cuts else (content, False)


def reasoning_and_content_deltas(reply: Reply, content: str | None, words: int) -> list[dict[str, Any]]:
    """Reasoning as ``reasoning_content`` deltas, or wrapped in ``<think>`` tags inside content."""
    thoughts = split_tokens(reply.reasoning, words) if reply.reasoning else []
    answer = split_tokens(content, words) if content else []
    if not reply.think_tags:
        return [{"reasoning_content": t} for t in thoughts] + [{"content": a} for a in answer]
    # Tags arrive glued to the neighbouring text, as in the API's own streams.
    pieces = thoughts or [""]
    pieces = ["<think>" + pieces[0], *pieces[1:]]
    tail = answer or [""]
    pieces += ["</think>\n\n" + tail[0], *tail[1:]]
    return [{"content": p} for p in pieces]


def tool_call_deltas(calls: list[ToolCall], words: int) -> list[dict[str, Any]]:
    """A header fragment per call, then its arguments over at least two fragments."""
    deltas: list[dict[str, Any]] = []
    for index, call in enumerate(calls):
        head = {"index": index, "id": call.id, "type": "function"}
        deltas.append({"tool_calls": [{**head, "function": {"name": call.name, "arguments": ""}}]})
        fragments = split_tokens(call.arguments, words)
        if len(fragments) < 2 and len(call.arguments) >= 2:
            half = len(call.arguments) // 2
            fragments = [call.arguments[:half], call.arguments[half:]]
        deltas += [{"tool_calls": [{"index": index, "function": {"arguments": f}}]} for f in fragments]
    return deltas


def assemble_message(plan: Plan) -> dict[str, Any]:
    """Join a plan's deltas into the ``message`` of a non-streamed response."""
    content = "".join(d.get("content", "") for d in plan.deltas)
    reasoning = "".join(d.get("reasoning_content", "") for d in plan.deltas)
    calls: list[dict[str, Any]] = []
    for delta in plan.deltas:
        for frag in delta.get("tool_calls", []):
            if "id" in frag:
                calls.append({"id": frag["id"], "type": "function", "function": dict(frag["function"])})
            else:
                calls[frag["index"]]["function"]["arguments"] += frag["function"]["arguments"]
    message: dict[str, Any] = {"role": "assistant", "content": content}
    if plan.first_delta.get("content") is None and not content:
        message["content"] = None
    if reasoning:
        message["reasoning_content"] = reasoning
    if calls:
        message["tool_calls"] = calls
    return message
