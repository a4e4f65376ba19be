"""Prompt-cache routing keys, so that a conversation keeps landing on the replica that holds its prefix.

Fireworks caches prompt prefixes per replica and bills cached tokens at a fraction of the price.
`prompt_cache_key` routes a conversation: it is derived from what never changes as the
conversation grows (the model, the system prompt, the first user turn), so every turn carries the
same key. `prompt_cache_isolation_key` keeps one user's cache apart from another's on a shared
server: it is derived from the caller's identity, which callers cannot choose.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

__all__ = ["conversation_key", "isolation_key"]

_PART_CHARS = 65536  # per string: enough to tell conversations apart, bounded work for huge images


def conversation_key(model: str, messages: list[dict[str, Any]], explicit: str | None = None) -> str:
    """`explicit` when given; else a hash of the model, the leading system turns and the first user turn."""
    if explicit:
        return explicit
    start: list[Any] = []
    for message in messages:
        start.append([message.get("role"), _bounded(message.get("content"))])
        if message.get("role") == "user":
            break
    digest = hashlib.sha256(json.dumps([model, start], sort_keys=True).encode()).hexdigest()
    return "fw-mcp-" + digest[:32]


def isolation_key(identity: str | None) -> str | None:
    """A stable, opaque key per caller; None without an identity (stdio, or HTTP without auth)."""
    if not identity:
        return None
    return "fw-mcp-user-" + hashlib.sha256(identity.encode()).hexdigest()[:32]


def _bounded(value: Any) -> Any:
    if isinstance(value, str):
        return value if len(value) <= _PART_CHARS else [value[:_PART_CHARS], len(value)]
    if isinstance(value, list):
        return [_bounded(v) for v in value]
    if isinstance(value, dict):
        return {k: _bounded(v) for k, v in value.items()}
    return value
