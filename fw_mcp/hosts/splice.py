"""Edits spliced into a JSON(C) text: add, replace or remove one value; nothing else changes.

New text takes the layout of its neighbours (indent unit, line ends, one line or many, a trailing
comma habit), and a comment that ends a line stays on that line.
"""

from __future__ import annotations

import json
from typing import Any

from fw_mcp.hosts.jsonc import Member, Node

__all__ = ["append_item", "insert_member", "remove_item", "remove_member", "render_value", "replace_value"]

_WS = " \t\r\n\ufeff"


def _line_indent(text: str, pos: int) -> str:
    """The whitespace that starts the line holding `pos`."""
    line_start = text.rfind("\n", 0, pos) + 1
    end = line_start
    while end < len(text) and text[end] in " \t":
        end += 1
    return text[line_start:end]


def render_value(value: Any, indent: str | None, base: str, newline: str) -> str:
    """`value` as JSON laid out like the file: its indent unit, continuing at `base`, its line ends."""
    if indent is None:
        return json.dumps(value, ensure_ascii=False)
    text = json.dumps(value, indent=indent, ensure_ascii=False)
    return text.replace("\n", newline + base)


def replace_value(text: str, node: Node, value: Any, indent: str | None, newline: str) -> str:
    """Put `value` where `node` is; nothing else changes."""
    rendered = render_value(value, indent, _line_indent(text, node.start), newline)
    return text[: node.start] + rendered + text[node.end :]


def insert_member(text: str, obj: Node, key: str, value: Any, indent: str | None, newline: str) -> str:
    """Add `"key": value` as the last member of the object `obj`, in the layout of its siblings."""
    prefix = json.dumps(key, ensure_ascii=False) + ": "
    return _append(text, obj, [m.start for m in obj.members], prefix, value, indent, newline)


def append_item(text: str, array: Node, value: Any, indent: str | None, newline: str) -> str:
    """Add `value` as the last item of `array`, in the layout of the items before it."""
    return _append(text, array, [item.start for item in array.items], "", value, indent, newline)


def _append(
    text: str, node: Node, starts: list[int], prefix: str, value: Any, indent: str | None, newline: str
) -> str:
    """Splice `prefix + value` in after the last child of `node` (an object or array), with a comma."""
    children = node.members or node.items
    if starts and "\n" not in text[node.start : starts[-1]]:
        indent = None  # the children share the line of the opening bracket: so does the new one
    if indent is None:
        base, sep = "", " " if starts else ""
    else:
        base = _line_indent(text, starts[-1]) if starts else _line_indent(text, node.start) + indent
        sep = newline + base
    piece = prefix + render_value(value, indent, base, newline)
    if not children:
        inside = text[node.start + 1 : node.end - 1]
        if not inside.strip(_WS):
            close = newline + _line_indent(text, node.start) if indent is not None else ""
            return text[: node.start + 1] + sep + piece + close + text[node.end - 1 :]
        return text[: node.start + 1] + sep + piece + text[node.start + 1 :]
    last = children[-1]
    after = last.value.end if isinstance(last, Member) else last.end
    rest = text[after : node.end - 1]
    if rest.lstrip(_WS).startswith(","):  # a trailing comma: keep the habit, the new child gets one
        comma_after = after + rest.index(",") + 1
        at = _end_of_line(text, comma_after, node.end - 1) if indent is not None else comma_after
        return text[:at] + sep + piece + "," + text[at:]
    at = _end_of_line(text, after, node.end - 1) if indent is not None else after
    return text[:after] + "," + text[after:at] + sep + piece + text[at:]


def _end_of_line(text: str, pos: int, limit: int) -> int:
    """Where a new line may go after `pos`: past the comments that end this line; else `pos` itself."""
    eol = _quiet_until_eol(text, pos, limit)
    if eol is None:
        return pos
    return eol - 1 if text[eol - 1 : eol] == "\r" else eol


def _quiet_until_eol(text: str, pos: int, limit: int) -> int | None:
    """The index of the line end when only blanks and comments stand between `pos` and it."""
    while pos < limit:
        if text[pos] in " \t\r":
            pos += 1
        elif text[pos] == "\n":
            return pos
        elif text.startswith("//", pos):
            newline = text.find("\n", pos, limit)
            return None if newline < 0 else newline
        elif text.startswith("/*", pos):
            close = text.find("*/", pos + 2, limit)
            if close < 0:
                return None
            pos = close + 2
        else:
            return None
    return None


def remove_member(text: str, obj: Node, key: str) -> str:
    """Remove the member `key` with its comma (and its line, when it had one to itself)."""
    spans = [(m.start, m.value.end) for m in obj.members]
    return _remove(text, obj, spans, next(i for i, m in enumerate(obj.members) if m.key == key))


def remove_item(text: str, array: Node, index: int) -> str:
    """Remove item `index` of `array` with its comma (and its line, when it had one to itself)."""
    return _remove(text, array, [(item.start, item.end) for item in array.items], index)


def _remove(text: str, node: Node, spans: list[tuple[int, int]], index: int) -> str:
    start, end = spans[index]
    first = start
    following = text[end : node.end - 1]
    stripped = following.lstrip(_WS)
    took_comma = stripped.startswith(",")
    if took_comma:  # a comma follows (not last, or a trailing comma): take it along
        end += len(following) - len(stripped) + 1
    line_start = text.rfind("\n", 0, start) + 1
    own_line = not text[line_start:start].strip(" \t")
    eol = _quiet_until_eol(text, end, node.end - 1)
    if own_line and eol is not None:
        start, end = line_start, eol + 1  # the child's whole line(s), with their comments
    if not took_comma and index > 0:  # the last of several: drop the comma after the previous one
        comma = text.index(",", spans[index - 1][1], first)
        if start == first:  # on the line of the one before: the blanks before it go too
            return text[:comma] + text[end:]
        return text[:comma] + text[comma + 1 : start] + text[end:]
    if not took_comma and own_line:
        start = line_start
    rest = text[:start] + text[end:]
    close = node.end - (end - start)
    if not rest[node.start + 1 : close - 1].strip(_WS):
        return rest[: node.start + 1] + rest[close - 1 :]
    return rest
