"""Which custom ids of a batch input file repeat, in bounded memory however many lines it has.

A 1 GiB input of short lines holds about 15 million requests: a set of their ids would take more
than a gigabyte. Up to `in_memory` ids are kept as a set, which finds a repeat on its line. Past
that, the set is dropped and each id is kept as an 8-byte digest, sorted a chunk at a time into
temporary files; at the end the chunks are merged to find repeated digests, and only the ids behind
those are looked at again (a second pass over the file, by the caller) to name their lines. Memory
stays at the set's bound plus one chunk. Blocking: runs in the caller's worker thread.
"""

from __future__ import annotations

import hashlib
import heapq
import tempfile
from array import array
from collections.abc import Iterator
from typing import IO

__all__ = ["IdLedger", "digest"]

_CHUNK = 1 << 20  # digests sorted and written out at a time (8 MiB)
_READ = 1 << 16  # digests read back at a time from each chunk, when merging


def digest(custom_id: str) -> int:
    return int.from_bytes(hashlib.blake2b(custom_id.encode(), digest_size=8).digest(), "little")


class IdLedger:
    """`add(id)` says False when the id is known to repeat; `repeated()` (after the last line) gives
    the repeats past the in-memory bound, found by digest (8 bytes: a false repeat among 15 million
    ids has a chance of about 1 in 160,000, and the second pass compares the ids themselves)."""

    def __init__(self, in_memory: int = 200_000, chunk: int = _CHUNK) -> None:
        self.in_memory = in_memory
        self.chunk = chunk
        self._seen: set[str] | None = set()
        self._chunk = array("Q")
        self._spilled: list[IO[bytes]] = []
        self._count = 0

    @property
    def exact(self) -> bool:
        """Whether every repeat was already reported by `add` (the ids still fit in memory)."""
        return self._seen is not None

    def add(self, custom_id: str) -> bool:
        self._count += 1
        if self._seen is not None:
            if custom_id in self._seen:
                return False
            self._seen.add(custom_id)
            if len(self._seen) <= self.in_memory:
                return True
            for known in self._seen:  # past the bound: from now on, digests only
                self._keep(digest(known))
            self._seen = None
            return True
        self._keep(digest(custom_id))
        return True

    def _keep(self, value: int) -> None:
        self._chunk.append(value)
        if len(self._chunk) >= self.chunk:
            self._spill()

    def _spill(self) -> None:
        out = tempfile.TemporaryFile()  # noqa: SIM115 - kept until `repeated` merges it; `close` closes it
        array("Q", sorted(self._chunk)).tofile(out)
        out.seek(0)
        self._spilled.append(out)
        self._chunk = array("Q")

    def repeated(self, sample: int = 100_000) -> tuple[set[int], int]:
        """Past the in-memory bound: up to `sample` digests that occur more than once, and how many
        lines repeat an earlier id in all; `(set(), 0)` while `exact`. Closes the temporary files."""
        if self._seen is not None:
            return set(), 0
        try:
            runs = [_read_back(f) for f in self._spilled]
            runs.append(iter(sorted(self._chunk)))
            found: set[int] = set()
            repeats, previous = 0, None
            for value in heapq.merge(*runs):
                if value == previous:
                    repeats += 1
                    if len(found) < sample:
                        found.add(value)
                previous = value
            return found, repeats
        finally:
            self.close()

    def close(self) -> None:
        for f in self._spilled:
            f.close()
        self._spilled = []
        self._chunk = array("Q")


def _read_back(f: IO[bytes]) -> Iterator[int]:
    while True:
        block = array("Q")
        try:
            block.fromfile(f, _READ)
        except EOFError:  # the last, shorter block: fromfile keeps what it read
            yield from block
            return
        yield from block
