"""The one redactor: every secret this process knows, scrubbed from text before it leaves the process.

It knows the configured API key, every per-request key while its call runs (and the most recent
ones after, for late log lines), and the HTTP bearer tokens. Results, error messages and log
records pass through `redact` before anything cuts them short: a key straddling a cut at 500
characters would otherwise survive as all but its last character. Text that must be cut before it
can be redacted whole (an error body read up to a bound) goes through `redact_head`, which also
removes a secret's first characters left at the cut.
"""

from __future__ import annotations

import re
import threading
from collections import Counter, OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["MARK", "REDACTOR", "Redactor", "redact", "redact_head"]

MARK = "[redacted]"
_MIN_LENGTH = 8  # shorter strings are not secrets worth matching (they would redact ordinary words)
_MIN_PARTIAL = 4  # a secret's first characters at a cut are removed from this many on
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
        if not secret or len(secret) < _MIN_LENGTH or secret in self._permanent:
            yield  # nothing to track: the configured key is known for the life of the process
            return
        with self._lock:
            if not self._knows(secret):
                self._pattern = None  # a new secret: rebuilt at the next redact (else it is unchanged)
            self._in_flight[secret] += 1
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
                    self._pattern = None  # a forgotten key may have been the only mention of it

    def _knows(self, secret: str) -> bool:
        return secret in self._permanent or secret in self._in_flight or secret in self._recent

    def redact(self, text: str) -> str:
        """`text` with every known secret replaced by [redacted]; linear in the text."""
        pattern = self._current()
        return text if pattern is None else pattern.sub(MARK, text)

    def redact_head(self, text: str, limit: int) -> str:
        """The first `limit` characters of `text`, redacted, with no part of a secret at the cut.

        `text` may itself have been cut (a body read up to a bound): it should run at least the
        longest secret's length (`longest`) past `limit`, so a secret straddling `limit` is whole
        and replaced. Any secret's first characters left at the end (cut here or earlier) go too.
        """
        secrets = self._secrets()
        longest = max(map(len, secrets), default=0)
        head = self.redact(text[: limit + longest])[:limit]
        return _drop_partial(head, secrets)

    @property
    def longest(self) -> int:
        """The length of the longest known secret (0 when none): the margin to read past a cut."""
        return max(map(len, self._secrets()), default=0)

    def _secrets(self) -> set[str]:
        with self._lock:
            return self._permanent | set(self._in_flight) | set(self._recent)

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


def _drop_partial(text: str, secrets: set[str]) -> str:
    """`text` with a trailing start of any secret (at least _MIN_PARTIAL characters) replaced by MARK."""
    cut = len(text)
    for secret in secrets:
        start = max(0, len(text) - len(secret) + 1)
        while (at := text.find(secret[:_MIN_PARTIAL], start)) != -1:
            if secret.startswith(text[at:]):
                cut = min(cut, at)
                break
            start = at + 1
    return text if cut == len(text) else text[:cut] + MARK


REDACTOR = Redactor()


def redact(text: str) -> str:
    """The process's redactor applied to `text`."""
    return REDACTOR.redact(text)


def redact_head(text: str, limit: int) -> str:
    """The process's redactor: the first `limit` characters of `text`, with no secret cut in two."""
    return REDACTOR.redact_head(text, limit)
