"""The one redactor: every secret this process knows, scrubbed from text before it leaves the process.

It knows the configured API key, every per-request key while its call runs (and the most recent
ones after, for late log lines), and the HTTP bearer tokens. Results, error messages and log
records pass through `redact` before anything cuts them short: a key straddling a cut at 500
characters would otherwise survive as all but its last character.
"""

from __future__ import annotations

import re
import threading
from collections import Counter, OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["MARK", "REDACTOR", "Redactor", "redact"]

MARK = "[redacted]"
_MIN_LENGTH = 8  # shorter strings are not secrets worth matching (they would redact ordinary words)
_RECENT = 256  # per-request keys remembered after their call ended


class Redactor:
    """Thread-safe: calls register keys on the event loop, logging may run in any thread."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._permanent: set[str] = set()
        self._in_flight: Counter[str] = Counter()
        self._recent: OrderedDict[str, None] = OrderedDict()
        self._pattern: re.Pattern[str] | None = None

    def add(self, *secrets: str | None) -> None:
        """Secrets known for the life of the process: the configured key, the bearer tokens."""
        with self._lock:
            self._permanent.update(s for s in secrets if s and len(s) >= _MIN_LENGTH)
            self._pattern = None

    @contextmanager
    def in_flight(self, secret: str | None) -> Iterator[None]:
        """A per-request key, known while its call runs and remembered for a while after."""
        if not secret or len(secret) < _MIN_LENGTH:
            yield
            return
        with self._lock:
            self._in_flight[secret] += 1
            self._pattern = None
        try:
            yield
        finally:
            with self._lock:
                self._in_flight[secret] -= 1
                if self._in_flight[secret] <= 0:
                    del self._in_flight[secret]
                self._recent[secret] = None
                self._recent.move_to_end(secret)
                while len(self._recent) > _RECENT:
                    self._recent.popitem(last=False)
                self._pattern = None

    def redact(self, text: str) -> str:
        """`text` with every known secret replaced by [redacted]; linear in the text."""
        pattern = self._current()
        return text if pattern is None else pattern.sub(MARK, text)

    def _current(self) -> re.Pattern[str] | None:
        with self._lock:
            if self._pattern is None:
                secrets = self._permanent | set(self._in_flight) | set(self._recent)
                if not secrets:
                    return None
                # Longest first, so a secret that contains another is replaced whole.
                alternatives = sorted(secrets, key=len, reverse=True)
                self._pattern = re.compile("|".join(re.escape(s) for s in alternatives))
            return self._pattern


REDACTOR = Redactor()


def redact(text: str) -> str:
    """The process's redactor applied to `text`."""
    return REDACTOR.redact(text)
