"""Chat-completion responses on the wire: JSON objects, SSE streams and scripted misbehaviour.

Streams are built as a list of ``data:`` events first and then sent one by one, so the script
hooks (``drop_after``, ``error_event_after``, ``malformed_after``) and ``token_delay`` work the
same for generated answers and for ``raw_sse`` bytes.
"""

from __future__ import annotations

import base64
import json
import time
import uuid
from typing import Any

from .errors import error_vector, server_error
from .exchange import Exchange, ScriptedDrop
from .generate import Plan, assemble_message

DONE_EVENT = b"data: [DONE]\n\n"
ERROR_EVENT = (
    b'data: {"error":{"object":"error","type":"internal_server_error","message":"stream failed"}}\n\n'
)
MALFORMED_EVENT = b"data: {not json\n\n"
CUSTOM_KEYS = ("error", "status", "body", "body_text", "body_base64", "raw_sse")


def compact(obj: Any) -> str:
    return json.dumps(obj, separators=(",", ":"))


def lower_keys(headers: dict[str, Any] | None) -> dict[str, str]:
    return {str(k).lower(): str(v) for k, v in (headers or {}).items()}


def is_custom(entry: dict[str, Any]) -> bool:
    """Whether a script entry replaces the answer with a response of its own."""
    return any(key in entry for key in CUSTOM_KEYS)


# -- scripted responses ---------------------------------------------------------------------
async def send_custom(ex: Exchange, entry: dict[str, Any], token_delay: float) -> None:
    """Answer with a scripted status/body, a named error vector, or raw SSE bytes."""
    if "raw_sse" in entry:
        headers = {"content-type": "text/event-stream", **lower_keys(entry.get("headers"))}
        await send_events(
            ex, entry.get("status", 200), headers, split_events(entry["raw_sse"]), entry, token_delay
        )
        return
    spec = error_vector(entry["error"]) if "error" in entry else {}
    status = int(
        entry.get(
            "status", spec.get("status", 200 if {"body", "body_text", "body_base64"} & set(entry) else 500)
        )
    )
    headers = {**lower_keys(spec.get("headers")), **lower_keys(entry.get("headers"))}
    if "body_base64" in entry:  # bytes sent as they are, e.g. a gzip body with `content-encoding: gzip`
        content_type = entry.get("content_type", "application/json")
        data = base64.b64decode(entry["body_base64"])
    elif "body_text" in entry or ("body_text" in spec and "body" not in entry):
        text = entry.get("body_text", spec.get("body_text", ""))
        content_type = entry.get("content_type", spec.get("content_type", "text/plain"))
        data = str(text).encode()
    else:
        body = entry.get("body", spec.get("body"))
        if body is None:
            body = server_error(status, f"Simulated error {status}") if status >= 400 else {}
        content_type = entry.get("content_type", "application/json")
        data = compact(body).encode()
    await send_whole(ex, status, data, content_type, headers, entry)


def split_events(raw: str | bytes) -> list[bytes]:
    """Cut raw SSE text after each blank line; the pieces concatenate back to the input."""
    data = raw.encode() if isinstance(raw, str) else raw
    parts = data.split(b"\n\n")
    events = [part + b"\n\n" for part in parts[:-1]]
    return [*events, parts[-1]] if parts[-1] else events


# -- generated responses --------------------------------------------------------------------
def response_meta(body: dict[str, Any]) -> dict[str, Any]:
    return {"id": f"chatcmpl-{uuid.uuid4().hex}", "created": int(time.time()), "model": body["model"]}


def success_headers(plan: Plan, entry: dict[str, Any], content_type: str) -> dict[str, str]:
    """Headers of a successful answer: the token counts Fireworks reports, then scripted extras."""
    details = plan.usage.get("prompt_tokens_details") or {}
    headers = {
        "content-type": content_type,
        "fireworks-prompt-tokens": str(plan.usage.get("prompt_tokens", 0)),
        "fireworks-cached-prompt-tokens": str(details.get("cached_tokens", 0)),
    }
    if content_type == "text/event-stream":
        headers["cache-control"] = "no-cache"
    return {**headers, **lower_keys(entry.get("headers"))}


def scaled_usage(usage: dict[str, Any], n: int) -> dict[str, Any]:
    """Usage for ``n`` identical choices: the completion is generated n times."""
    if n == 1 or "completion_tokens" not in usage:
        return usage
    completion = usage["completion_tokens"] * n
    return {
        **usage,
        "completion_tokens": completion,
        "total_tokens": usage.get("prompt_tokens", 0) + completion,
    }


async def send_completion(ex: Exchange, plan: Plan, body: dict[str, Any], entry: dict[str, Any]) -> None:
    """A non-streamed ``chat.completion`` object."""
    n = body.get("n") or 1
    message = assemble_message(plan)
    choices = [{"index": i, "finish_reason": plan.finish_reason, "message": message} for i in range(n)]
    meta = response_meta(body)
    obj = {
        "id": meta["id"],
        "object": "chat.completion",
        "created": meta["created"],
        "model": meta["model"],
        "choices": choices,
        "usage": scaled_usage(plan.usage, n),
    }
    if entry.get("malformed_after") is not None:
        data = MALFORMED_EVENT[len(b"data: ") :].strip()
    else:
        data = compact(obj).encode()
    headers = success_headers(plan, entry, "application/json")
    await send_whole(ex, 200, data, "application/json", headers, entry)


def stream_chunks(plan: Plan, body: dict[str, Any]) -> list[dict[str, Any]]:
    """The chunk objects of a stream: role, deltas, finish (with usage), optional usage chunk."""
    meta = response_meta(body)
    n = body.get("n") or 1
    include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
    usage = scaled_usage(plan.usage, n)

    def chunk(choices: list[dict[str, Any]], usage: dict[str, Any] | None = None) -> dict[str, Any]:
        return {
            "id": meta["id"],
            "object": "chat.completion.chunk",
            "created": meta["created"],
            "model": meta["model"],
            "choices": choices,
            "usage": usage,
        }

    def choice(i: int, delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
        return {"index": i, "delta": delta, "finish_reason": finish}

    chunks = [chunk([choice(i, plan.first_delta)]) for i in range(n)]
    for delta in plan.deltas:
        chunks += [chunk([choice(i, delta)]) for i in range(n)]
    for i in range(n):
        last = i == n - 1 and not include_usage
        chunks.append(chunk([choice(i, {}, plan.finish_reason)], usage if last else None))
    if include_usage:
        chunks.append(chunk([], usage))
    return chunks


async def send_stream(
    ex: Exchange, plan: Plan, body: dict[str, Any], entry: dict[str, Any], token_delay: float
) -> None:
    """An SSE stream of the plan, ending with ``data: [DONE]``."""
    events = [f"data: {compact(c)}\n\n".encode() for c in stream_chunks(plan, body)] + [DONE_EVENT]
    headers = success_headers(plan, entry, "text/event-stream")
    await send_events(ex, 200, headers, events, entry, token_delay)


# -- sending with script hooks --------------------------------------------------------------
ENDINGS = {"error_event_after": (ERROR_EVENT, "error"), "malformed_after": (MALFORMED_EVENT, "dropped")}


async def send_events(
    ex: Exchange,
    status: int,
    headers: dict[str, str],
    events: list[bytes],
    entry: dict[str, Any],
    delay: float,
) -> None:
    """Send events ``delay`` apart, then apply the first scripted ending that falls inside them."""
    hooks = sorted(
        (entry[key], key)
        for key in ("drop_after", *ENDINGS)
        if isinstance(entry.get(key), int) and 0 <= entry[key] < len(events)
    )
    cut, hook = hooks[0] if hooks else (len(events), None)
    if not await ex.start(status, headers.items()):
        return
    if not await send_paced(ex, events[:cut], delay, final=hook is None):
        return
    if hook is None or (cut and not await ex.pause(delay)):
        return
    if hook == "drop_after":
        ex.set_outcome("dropped")
        raise ScriptedDrop(f"script dropped the stream after {cut} events")
    ending, outcome = ENDINGS[hook]
    ex.set_outcome(outcome)
    await ex.end(ending, events=1)


async def send_paced(ex: Exchange, events: list[bytes], delay: float, *, final: bool) -> bool:
    """Write events ``delay`` apart; without a delay they go in one write, which scales far better.

    Returns False when the client went away.
    """
    if delay <= 0 or len(events) < 2:
        data = b"".join(events)
        return await (ex.end(data, events=len(events)) if final else ex.write(data, events=len(events)))
    for index, event in enumerate(events):
        if index and not await ex.pause(delay):
            return False
        last = final and index == len(events) - 1
        if not await (ex.end(event, events=1) if last else ex.write(event, events=1)):
            return False
    return True


async def send_whole(
    ex: Exchange, status: int, data: bytes, content_type: str, headers: dict[str, str], entry: dict[str, Any]
) -> None:
    """A response with a content-length; ``drop_after`` cuts it off halfway through the body."""
    headers = {**headers, "content-type": content_type, "content-length": str(len(data))}
    if entry.get("drop_after") is None:
        if await ex.start(status, headers.items()):
            await ex.end(data)
        return
    if await ex.start(status, headers.items()) and await ex.write(data[: len(data) // 2]):
        ex.set_outcome("dropped")
        raise ScriptedDrop("script dropped the response halfway through its body")
