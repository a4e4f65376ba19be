"""Passage embeddings kept in memory by content hash, so a second search sends only the query.

The key is a hash of the model, the vector size and the passage text (not the path: the same text in
two files is embedded once, and an edited file misses only for the passages that changed). Vectors
are stored as 32-bit floats, and the cache is bounded in bytes: the least recently used vectors
leave first. One cache per process, used from the event loop only (no lock needed).
"""

from __future__ import annotations

import hashlib
from array import array
from collections import OrderedDict
from collections.abc import Sequence

__all__ = ["EmbeddingCache", "cache_key"]

_ENTRY_OVERHEAD = 120  # bytes per entry beyond the floats: key, array header, dict slot


def cache_key(model: str, dimensions: int, text: str) -> bytes:
    """Content hash of one passage as embedded by one model at one size."""
    h = hashlib.blake2b(digest_size=20)
    h.update(f"{model}\0{dimensions}\0".encode())
    h.update(text.encode("utf-8", "surrogatepass"))
    return h.digest()


class EmbeddingCache:
    """A bounded LRU map from `cache_key` to a vector; `max_bytes == 0` keeps nothing."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self._entries: OrderedDict[bytes, array[float]] = OrderedDict()
        self._bytes = 0

    def __len__(self) -> int:
        return len(self._entries)

    @property
    def size_bytes(self) -> int:
        return self._bytes

    def get(self, key: bytes) -> array[float] | None:
        """The vector, marked most recently used, or None."""
        vector = self._entries.get(key)
        if vector is not None:
            self._entries.move_to_end(key)
        return vector

    def put(self, key: bytes, vector: Sequence[float]) -> None:
        """Keep a vector, dropping the least recently used ones past the byte bound."""
        stored = array("f", vector)
        cost = _cost(stored)
        if cost > self.max_bytes:
            return
        old = self._entries.pop(key, None)
        if old is not None:
            self._bytes -= _cost(old)
        self._entries[key] = stored
        self._bytes += cost
        while self._bytes > self.max_bytes:
            _, dropped = self._entries.popitem(last=False)
            self._bytes -= _cost(dropped)


def _cost(vector: array[float]) -> int:
    return vector.itemsize * len(vector) + _ENTRY_OVERHEAD
