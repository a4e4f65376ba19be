"""JSON with comments and trailing commas (VS Code's `mcp.json`), parsed with positions.

A host's config file belongs to its user: comments, key order, blank lines and the layout of every
entry we do not change must survive an install. So instead of re-serialising the whole file, the
parser records where each value starts and ends, and fw_mcp.hosts.splice edits by splicing new
text into the original: everything outside the spliced span stays byte for byte.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

__all__ = ["JsoncError", "Member", "Node", "parse"]

_WS = " \t\r\n\ufeff"
_LITERALS = {"true": True, "false": False, "null": None}


class JsoncError(ValueError):
    """The text is not JSON (with comments and trailing commas); the message gives line and column."""


@dataclass
class Member:
    key: str
    start: int  # the key's opening quote
    value: Node


@dataclass
class Node:
    value: Any
    start: int
    end: int  # one past the value's last character
    members: list[Member] = field(default_factory=list)  # objects only, in file order
    items: list[Node] = field(default_factory=list)  # arrays only
    comments: bool = False  # a comment or trailing comma anywhere inside (strict JSON would refuse)

    def member(self, key: str) -> Member | None:
        found = [m for m in self.members if m.key == key]
        return found[-1] if found else None  # duplicate keys: the last wins, as in JSON.parse


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0
        self.relaxed = False  # saw a comment or a trailing comma

    def fail(self, what: str, pos: int | None = None) -> JsoncError:
        pos = self.pos if pos is None else pos
        line = self.text.count("\n", 0, pos) + 1
        column = pos - (self.text.rfind("\n", 0, pos) + 1) + 1
        return JsoncError(f"{what} at line {line} column {column}")

    def skip(self) -> None:
        """Whitespace and comments."""
        text = self.text
        while self.pos < len(text):
            if text[self.pos] in _WS:
                self.pos += 1
            elif text.startswith("//", self.pos):
                newline = text.find("\n", self.pos)
                self.pos = len(text) if newline < 0 else newline
                self.relaxed = True
            elif text.startswith("/*", self.pos):
                close = text.find("*/", self.pos + 2)
                if close < 0:
                    raise self.fail("unterminated /* comment")
                self.pos = close + 2
                self.relaxed = True
            else:
                return

    def value(self) -> Node:
        self.skip()
        if self.pos >= len(self.text):
            raise self.fail("expected a value, found the end of the file")
        char = self.text[self.pos]
        if char == "{":
            return self.obj()
        if char == "[":
            return self.array()
        if char == '"':
            start = self.pos
            return Node(self.string(), start, self.pos)
        return self.scalar()

    def string(self) -> str:
        start = self.pos
        decoder = json.JSONDecoder()
        try:
            value, self.pos = decoder.raw_decode(self.text, start)
        except ValueError:
            raise self.fail("invalid string", start) from None
        return str(value)

    def scalar(self) -> Node:
        start = self.pos
        end = start
        while end < len(self.text) and self.text[end] not in _WS + ",]}/":
            end += 1
        word = self.text[start:end]
        if word in _LITERALS:
            value: Any = _LITERALS[word]
        else:
            try:
                value = json.loads(word)
            except ValueError:
                raise self.fail(f"unexpected {word[:20]!r}" if word else "unexpected character") from None
            if not isinstance(value, int | float):
                raise self.fail(f"unexpected {word[:20]!r}")
        self.pos = end
        return Node(value, start, end)

    def obj(self) -> Node:
        node = Node({}, self.pos, self.pos)
        self.pos += 1
        while True:
            self.skip()
            if self.text.startswith("}", self.pos):
                break
            if not self.text.startswith('"', self.pos):
                raise self.fail('expected a "key" or }')
            key_start = self.pos
            key = self.string()
            self.skip()
            if not self.text.startswith(":", self.pos):
                raise self.fail("expected :")
            self.pos += 1
            child = self.value()
            node.members.append(Member(key, key_start, child))
            node.value[key] = child.value
            if not self.comma("}"):
                break
        node.end = self.pos + 1
        self.pos += 1
        return node

    def array(self) -> Node:
        node = Node([], self.pos, self.pos)
        self.pos += 1
        while True:
            self.skip()
            if self.text.startswith("]", self.pos):
                break
            child = self.value()
            node.items.append(child)
            node.value.append(child.value)
            if not self.comma("]"):
                break
        node.end = self.pos + 1
        self.pos += 1
        return node

    def comma(self, close: str) -> bool:
        """After a member or item: True when another may follow; at the closer, False."""
        self.skip()
        if self.text.startswith(",", self.pos):
            self.pos += 1
            self.skip()
            if self.text.startswith(close, self.pos):
                self.relaxed = True  # a trailing comma
                return False
            return True
        if self.text.startswith(close, self.pos):
            return False
        raise self.fail(f"expected , or {close}")


def parse(text: str) -> Node:
    """The top value with the positions of everything in it.

    Raises:
        JsoncError: not JSON, even allowing // and /* */ comments and trailing commas.
    """
    parser = _Parser(text)
    node = parser.value()
    parser.skip()
    if parser.pos != len(text):
        raise parser.fail("unexpected text after the end")
    node.comments = parser.relaxed
    return node
