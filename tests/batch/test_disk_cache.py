"""The on-disk cache behind batch_results' paging: whole entries or none, LRU past its cap."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from fw_mcp.files.disk_cache import DiskCache


def build(cache: DiskCache, key: str, size: int) -> Path | None:
    folder = cache.staging()
    (folder / "data").write_bytes(b"x" * size)
    return cache.commit(folder, key)


def entries(cache: DiskCache) -> list[str]:
    return sorted(p.name for p in cache.root.iterdir())


def age(path: Path, seconds: float) -> None:
    then = time.time() - seconds
    os.utime(path, (then, then))


def test_the_least_recently_used_entries_leave_once_past_the_cap(tmp_path: Path) -> None:
    cache = DiskCache(tmp_path / "c", max_bytes=2500)
    for n, key in enumerate(("a", "b")):
        entry = build(cache, key, 1000)
        assert entry is not None
        age(entry, 100 - n)
    assert cache.lookup("a") is not None  # "a" is now the most recently used
    build(cache, "c", 1000)
    assert entries(cache) == ["a", "c"]
    assert cache.lookup("b") is None and (cache.root / "a" / "data").read_bytes() == b"x" * 1000


def test_an_entry_larger_than_the_cap_is_not_kept(tmp_path: Path) -> None:
    cache = DiskCache(tmp_path / "c", max_bytes=100)
    folder = cache.staging()
    (folder / "data").write_bytes(b"x" * 101)
    assert cache.commit(folder, "big") is None and folder.is_dir()  # the caller still has its copy
    assert cache.lookup("big") is None


def test_two_builders_of_one_entry_end_with_one_whole_entry(tmp_path: Path) -> None:
    cache = DiskCache(tmp_path / "c", max_bytes=10_000)
    first, second = cache.staging(), cache.staging()
    (first / "data").write_bytes(b"first")
    (second / "data").write_bytes(b"second")
    assert cache.commit(first, "k") == cache.root / "k"
    assert cache.commit(second, "k") == cache.root / "k"
    assert entries(cache) == ["k"] and (cache.root / "k" / "data").read_bytes() == b"first"


def test_staging_left_by_a_dead_process_is_swept_and_bad_keys_are_refused(tmp_path: Path) -> None:
    cache = DiskCache(tmp_path / "c", max_bytes=10_000)
    dead, live = cache.staging(), cache.staging()
    age(dead, 7200)
    build(cache, "k", 10)
    assert dead.name not in entries(cache) and live.name in entries(cache)
    with pytest.raises(ValueError):
        cache.lookup("../etc")
