"""Read the chosen files as text, through the sandbox, within the per-call byte budget.

A file is text when it holds no NUL byte and decodes as UTF-8 (a BOM is dropped). A file the caller
named is refused when it is not text; a file found in a folder is skipped with a note. Blocking: run
it in a worker thread.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from fw_mcp.errors import InvalidArgument
from fw_mcp.files import sandbox
from fw_mcp.files.notes import Notes
from fw_mcp.files.walk import Candidate, too_big
from fw_mcp.settings import FilesSection

__all__ = ["TextFile", "read_texts"]

_SNIFF = 8192  # bytes looked at for a NUL, as git and grep do


@dataclass(frozen=True)
class TextFile:
    path: str
    text: str


def read_texts(
    candidates: Sequence[Candidate], allowed: list[Path], limits: FilesSection, notes: Notes
) -> list[TextFile]:
    """The candidates that are text, in order, until `limits.max_total_bytes` have been read.

    Raises:
        InvalidArgument: a file the caller named is not UTF-8 text, or changed while being read.
    """
    out: list[TextFile] = []
    total = 0
    for k, c in enumerate(candidates):
        if total + c.stat.st_size > limits.max_total_bytes:
            left = len(candidates) - k
            notes.add(
                f"Stopped reading at [files] max_total_bytes ({limits.max_total_bytes:,} bytes): {left:,} "
                f"file{'s' if left != 1 else ''} left out, from {c.shown}; narrow `paths` or use `glob`."
            )
            break
        try:
            data = sandbox.read_checked(
                c.real, c.stat, c.shown, c.argument or c.shown, allowed, limits.max_file_bytes, too_big
            )
        except InvalidArgument:
            if c.argument:
                raise
            notes.skip("changed or unreadable", c.shown)
            continue
        total += len(data)
        text = _decode(data)
        if text is None:
            if c.argument:
                raise InvalidArgument(
                    c.argument, f"{sandbox.show(c.shown)} is not a UTF-8 text file; search text files only."
                )
            notes.skip("binary" if b"\0" in data[:_SNIFF] else "not UTF-8 text", c.shown)
            continue
        out.append(TextFile(c.shown, text))
    return out


def _decode(data: bytes) -> str | None:
    if b"\0" in data[:_SNIFF]:
        return None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return None
