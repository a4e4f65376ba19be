"""A bounded on-disk cache of folders, shared safely by several processes.

Each entry is a folder named by its key. An entry is built in a staging folder next to the entries
and renamed into place in one step, so a reader sees a whole entry or none; when two processes build
the same entry, the first rename wins and the other's copy is dropped. Entries leave least recently
used first (a hit touches the folder's mtime) once the total size passes the cap; an entry leaves by
being renamed aside and then removed, so a reader that has its files open reads on, and one that
comes a moment too late finds nothing and builds the entry again. Blocking: run in a worker thread.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import shutil
import time
from pathlib import Path

__all__ = ["DiskCache", "user_cache_dir"]

_KEY = re.compile(r"[A-Za-z0-9_-]{1,128}")
_STAGING, _TRASH = ".staging-", ".trash-"
_STALE_SECONDS = 3600.0  # staging folders older than this were left by a process that died


def user_cache_dir(app: str) -> Path:
    """`$XDG_CACHE_HOME/<app>` (XDG_CACHE_HOME defaults to ~/.cache)."""
    base = os.environ.get("XDG_CACHE_HOME", "").strip() or str(Path.home() / ".cache")
    return Path(base) / app


class DiskCache:
    """Folders under `root`, at most `max_bytes` in all (an entry larger than that is not kept)."""

    def __init__(self, root: Path, max_bytes: int) -> None:
        self.root = root
        self.max_bytes = max_bytes

    def lookup(self, key: str) -> Path | None:
        """The entry's folder, marked as just used, or None."""
        entry = self.root / _check(key)
        try:
            os.utime(entry)
        except OSError:
            return None
        return entry

    def staging(self) -> Path:
        """A new empty folder to build an entry in (on the cache's file system, for the rename).

        Raises:
            OSError: the cache folder cannot be created or written.
        """
        self.root.mkdir(parents=True, exist_ok=True, mode=0o700)
        folder = self.root / f"{_STAGING}{secrets.token_hex(8)}"
        folder.mkdir(mode=0o700)
        return folder

    def commit(self, staging: Path, key: str) -> Path | None:
        """Move a built entry into place and evict past the cap; the entry's folder, or None when
        it is too large to keep (`staging` is then left for the caller to use and remove)."""
        if _size(staging) > self.max_bytes:
            return None
        entry = self.root / _check(key)
        try:
            os.rename(staging, entry)
        except OSError:  # another process placed it first: theirs is as good
            shutil.rmtree(staging, ignore_errors=True)
            if not entry.is_dir():
                return None
        self.evict(keep=entry)
        return entry

    def evict(self, keep: Path | None = None) -> None:
        """Remove least recently used entries until the total is under the cap; sweep dead staging."""
        entries: list[tuple[float, int, Path]] = []
        now = time.time()
        with contextlib.suppress(OSError), os.scandir(self.root) as found:
            for item in found:
                if not item.is_dir(follow_symlinks=False):
                    continue
                if item.name.startswith(_STAGING):
                    with contextlib.suppress(OSError):
                        if now - item.stat(follow_symlinks=False).st_mtime > _STALE_SECONDS:
                            _discard(Path(item.path))
                    continue
                if item.name.startswith(_TRASH) or not _KEY.fullmatch(item.name):
                    continue
                with contextlib.suppress(OSError):
                    entries.append(
                        (item.stat(follow_symlinks=False).st_mtime, _size(Path(item.path)), Path(item.path))
                    )
        total = sum(size for _, size, _ in entries)
        for _, size, path in sorted(entries, key=lambda e: e[0]):
            if total <= self.max_bytes:
                break
            if path != keep:
                _discard(path)
                total -= size


def _discard(path: Path) -> None:
    aside = path.with_name(f"{_TRASH}{secrets.token_hex(8)}")
    try:
        os.rename(path, aside)
    except OSError:
        return  # gone already (another process evicted it)
    shutil.rmtree(aside, ignore_errors=True)


def _size(folder: Path) -> int:
    total = 0
    with contextlib.suppress(OSError), os.scandir(folder) as found:
        for item in found:
            with contextlib.suppress(OSError):
                total += item.stat(follow_symlinks=False).st_size
    return total


def _check(key: str) -> str:
    if not _KEY.fullmatch(key):
        raise ValueError(f"{key!r} is not a cache key (1-128 letters, digits, '-' or '_')")
    return key
