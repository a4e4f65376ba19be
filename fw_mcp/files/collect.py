"""From the paths a caller names to the passages a search embeds: walk, read, cut, within the limits."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from fw_mcp.files.notes import Notes
from fw_mcp.files.passages import Passage, passages
from fw_mcp.files.texts import read_texts
from fw_mcp.files.walk import find_files
from fw_mcp.settings import FilesSection

__all__ = ["Collected", "collect_passages"]


@dataclass
class Collected:
    passages: list[Passage]
    files: int
    notes: Notes = field(default_factory=Notes)


def collect_passages(
    refs: Sequence[str], allowed: list[Path], glob: str | None, limits: FilesSection
) -> Collected:
    """The passages of every readable text file under `refs`, at most `limits.max_passages`.

    Blocking (file system, and git for ignore rules): run it in a worker thread.

    Raises:
        InvalidArgument: a named path is refused by the sandbox or is not text.
    """
    notes = Notes()
    texts = read_texts(find_files(refs, allowed, glob, limits, notes), allowed, limits, notes)
    out: list[Passage] = []
    for k, text in enumerate(texts):
        for passage in passages(text.path, text.text, limits.passage_chars):
            if len(out) >= limits.max_passages:
                notes.add(
                    f"Stopped at [files] max_passages ({limits.max_passages:,} passages) in {text.path}; "
                    f"{len(texts) - k - 1:,} more files left out. Narrow `paths` or use `glob`."
                )
                return Collected(out, k + 1, notes)
            out.append(passage)
    return Collected(out, len(texts), notes)
