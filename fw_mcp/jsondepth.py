"""JSON from untrusted text, with its nesting bounded, so depth is an error we name, not a RecursionError.

Python's parser, jsonschema and pydantic's serialiser all recurse: an answer, an SSE event or a tool
call's arguments nested 100,000 deep would end as a bare RecursionError (or a serialiser failure), far
from the place that can say what went wrong. `loads` refuses such text as `TooDeep`, in linear time.
"""

from __future__ import annotations

import json
from typing import Any

__all__ = ["TooDeep", "depth_of", "loads"]


class TooDeep(ValueError):
    """The JSON nests more levels than allowed. A ValueError, so callers that catch bad JSON catch it."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        super().__init__(f"the JSON is nested more than {limit} levels deep")


def loads(text: str | bytes, max_depth: int) -> Any:
    """`json.loads`, refusing nesting beyond `max_depth` levels of arrays and objects.

    Raises:
        TooDeep: too deep (the C parser itself stops near Python's recursion limit; we stop sooner).
        ValueError: the text is not JSON.
    """
    try:
        value = json.loads(text)
    except RecursionError:
        raise TooDeep(max_depth) from None
    raw = text.encode() if isinstance(text, str) else text
    brackets = raw.count(b"[") + raw.count(b"{")
    if brackets > max_depth and depth_of(value, max_depth) > max_depth:  # counting is C-speed; walking is not
        raise TooDeep(max_depth)
    return value


def depth_of(value: Any, stop_above: int | None = None) -> int:
    """How many arrays/objects deep `value` nests (a scalar is 0), level by level: no recursion.

    With `stop_above`, counting stops one level past it (enough to refuse, cheaper on huge values).
    """
    level = [value] if isinstance(value, dict | list) else []
    depth = 0
    while level and (stop_above is None or depth <= stop_above):
        depth += 1
        children: list[Any] = []
        for node in level:
            children.extend(node.values() if isinstance(node, dict) else node)
        level = [child for child in children if isinstance(child, dict | list)]
    return depth
