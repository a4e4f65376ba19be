"""Cut text into passages with line ranges, on paragraph (blank-line) boundaries.

A passage gathers whole paragraphs up to about `size` characters. A paragraph longer than twice
that is cut between lines, and a single line longer than that is cut into pieces (each piece keeps
the line's number), so no passage is ever larger than `2 * size` characters.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

__all__ = ["Passage", "passages"]


@dataclass(frozen=True)
class Passage:
    path: str
    start_line: int  # 1-based, inclusive
    end_line: int
    text: str


def passages(path: str, text: str, size: int) -> Iterator[Passage]:
    """The passages of one file, in order; whitespace-only stretches produce none.

    A passage ends at the first blank line once it holds `size` characters, or before a line that
    would take it past `2 * size`.
    """
    lines: list[tuple[int, str]] = []
    full = 0
    for number, line in _pieces(text, 2 * size):
        blank = not line.strip()
        if not lines and blank:
            continue
        if lines and ((blank and full >= size) or full + len(line) > 2 * size):
            yield _passage(path, lines)
            lines, full = [], 0
            if blank:
                continue
        lines.append((number, line))
        full += len(line) + 1
    if lines:
        yield _passage(path, lines)


def _passage(path: str, lines: list[tuple[int, str]]) -> Passage:
    while not lines[-1][1].strip():
        lines.pop()
    return Passage(path, lines[0][0], lines[-1][0], "\n".join(text for _, text in lines))


def _pieces(text: str, limit: int) -> Iterator[tuple[int, str]]:
    """(line number, line) as `grep -n` counts lines, lines over `limit` characters cut in pieces."""
    for number, raw in enumerate(text.split("\n"), start=1):
        line = raw.removesuffix("\r")
        if len(line) <= limit:
            yield number, line
            continue
        for at in range(0, len(line), limit):
            yield number, line[at : at + limit]
