"""What a search left out, grouped by reason, so a result can say it in a few lines."""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["Notes"]

_EXAMPLES = 3


@dataclass
class Notes:
    """Reasons -> the paths skipped for that reason (a few kept as examples, all counted)."""

    _paths: dict[str, list[str]] = field(default_factory=dict)
    _counts: dict[str, int] = field(default_factory=dict)
    _lines: list[str] = field(default_factory=list)

    def skip(self, reason: str, path: str) -> None:
        """Note one file left out, e.g. `skip("binary", "img/logo.png")`."""
        self._counts[reason] = self._counts.get(reason, 0) + 1
        examples = self._paths.setdefault(reason, [])
        if len(examples) < _EXAMPLES:
            examples.append(path)

    def add(self, line: str) -> None:
        """A note of its own, such as a limit reached."""
        if line not in self._lines:
            self._lines.append(line)

    def count(self, reason: str) -> int:
        return self._counts.get(reason, 0)

    def lines(self) -> list[str]:
        """One line per reason: `Skipped 12 files (binary): a.png, b.zip, c.jar, ...`, then the notes."""
        out = []
        for reason, n in self._counts.items():
            shown = ", ".join(self._paths[reason]) + (", ..." if n > len(self._paths[reason]) else "")
            out.append(f"Skipped {n:,} file{'s' if n != 1 else ''} ({reason}): {shown}")
        return out + self._lines
