"""Which files a search reads: the paths a caller names, and the files inside the folders it names.

A named path goes through the sandbox (`fw_mcp.files.sandbox`) and any problem refuses the call. Inside
a folder, hidden files and folders are skipped, and in a git checkout so is everything git ignores;
files that cannot be searched (binary by name, special, too big, a symlink leading out of the allowed
folders) are skipped with a note. Walking is bounded by `max_walk_entries` and `max_files`.
Blocking throughout: run it in a worker thread.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePath

from fw_mcp.files import sandbox
from fw_mcp.files.gitfiles import git_listing
from fw_mcp.files.notes import Notes
from fw_mcp.settings import ENV_ALLOWED_DIRS, FilesSection

__all__ = ["BINARY_SUFFIXES", "Candidate", "find_files", "too_big"]

#: Suffixes of files that are never text, skipped without being opened.
BINARY_SUFFIXES = frozenset(
    {
        ".png",
        ".jpg",
        ".jpeg",
        ".gif",
        ".bmp",
        ".tif",
        ".tiff",
        ".webp",
        ".ico",
        ".avif",
        ".heic",
        ".pdf",
        ".zip",
        ".gz",
        ".tgz",
        ".bz2",
        ".xz",
        ".zst",
        ".7z",
        ".rar",
        ".jar",
        ".war",
        ".whl",
        ".egg",
        ".so",
        ".dll",
        ".dylib",
        ".exe",
        ".o",
        ".a",
        ".lib",
        ".class",
        ".pyc",
        ".pyo",
        ".bin",
        ".dat",
        ".db",
        ".sqlite",
        ".woff",
        ".woff2",
        ".ttf",
        ".otf",
        ".eot",
        ".mp3",
        ".mp4",
        ".m4a",
        ".mov",
        ".avi",
        ".mkv",
        ".wav",
        ".flac",
        ".ogg",
        ".webm",
        ".iso",
        ".dmg",
        ".npy",
        ".npz",
        ".pkl",
        ".parquet",
        ".onnx",
        ".pt",
        ".safetensors",
    }
)
OUTSIDE = (
    f"is not inside a folder this server may read. The allowed folders are set with {ENV_ALLOWED_DIRS} "
    "(or `[images] allowed_dirs` in the config file); pass a path inside one of them."
)


@dataclass(frozen=True)
class Candidate:
    """A file to read: the path as the caller will read it, its real path and the stat checked."""

    shown: str
    real: str
    stat: os.stat_result
    argument: str | None  # `paths[i]` when the caller named this file (its problems refuse the call)


def too_big(ref: str, size: int, max_bytes: int) -> str:
    return (
        f"{sandbox.show(ref)} is {size:,} bytes, more than the {max_bytes:,}-byte limit "
        "([files] max_file_bytes); search a smaller file or raise the limit."
    )


def find_files(
    refs: Sequence[str], allowed: list[Path], glob: str | None, limits: FilesSection, notes: Notes
) -> list[Candidate]:
    """The files to read, in order, without duplicates, at most `limits.max_files`.

    Raises:
        InvalidArgument: a named path is outside the allowed folders, missing or not a regular file.
    """
    found: dict[str, Candidate] = {}
    budget = [limits.max_walk_entries]
    for i, ref in enumerate(refs):
        name = f"paths[{i}]"
        real, st = sandbox.locate(
            ref, name, allowed, limits.max_file_bytes, outside=OUTSIDE, too_big=too_big, folder=None
        )
        if not stat.S_ISDIR(st.st_mode):
            found.setdefault(real, Candidate(ref, real, st, name))
            continue
        for rel in _folder_files(real, budget, notes):
            if len(found) >= limits.max_files:
                notes.add(
                    f"Only the first {limits.max_files:,} files were searched ([files] max_files); "
                    "narrow `paths` or use `glob`."
                )
                return list(found.values())
            if glob and not PurePath(rel).match(glob):
                continue
            if (candidate := _walked(ref, real, rel, allowed, limits, notes)) is not None:
                found.setdefault(candidate.real, candidate)
    return list(found.values())


def _walked(
    ref: str, folder: str, rel: str, allowed: list[Path], limits: FilesSection, notes: Notes
) -> Candidate | None:
    """A file found in a folder, or None (with a note when a reader should know why)."""
    shown = os.path.normpath(os.path.join(ref, rel))
    if os.path.splitext(rel)[1].lower() in BINARY_SUFFIXES:
        notes.skip("binary", shown)
        return None
    real = sandbox.real_path(os.path.join(folder, rel))
    if not real or not sandbox.inside(real, allowed):
        notes.skip("a link out of the allowed folders", shown)
        return None
    try:
        st = os.stat(real)
    except OSError:  # deleted since git listed it, or unreadable
        return None
    if not stat.S_ISREG(st.st_mode):
        if not stat.S_ISDIR(st.st_mode):
            notes.skip("not a regular file", shown)
        return None
    if st.st_size > limits.max_file_bytes:
        notes.skip(f"over max_file_bytes, {limits.max_file_bytes:,}", shown)
        return None
    return Candidate(shown, real, st, None)


def _folder_files(folder: str, budget: list[int], notes: Notes) -> Iterator[str]:
    """Relative paths of the files under `folder` to consider, hidden ones left out."""
    listed = git_listing(folder, budget[0])
    if listed is not None:
        names, cut = listed
        budget[0] -= len(names)
        if cut:
            notes.add(_walk_note())
        yield from (n for n in names if not _hidden(n))
        return
    yield from _walk(folder, "", budget, notes)


def _walk(folder: str, rel: str, budget: list[int], notes: Notes) -> Iterator[str]:
    """Depth first, sorted, never into hidden folders or through symlinked folders."""
    try:
        with os.scandir(os.path.join(folder, rel)) as it:
            entries = sorted(it, key=lambda e: e.name)
    except OSError:
        return
    for entry in entries:
        if budget[0] <= 0:
            notes.add(_walk_note())
            return
        budget[0] -= 1
        if entry.name.startswith("."):
            continue
        path = os.path.join(rel, entry.name)
        try:
            is_dir = entry.is_dir(follow_symlinks=False)
        except OSError:
            continue
        if is_dir:
            yield from _walk(folder, path, budget, notes)
        else:
            yield path


def _hidden(rel: str) -> bool:
    return any(part.startswith(".") for part in PurePath(rel).parts)


def _walk_note() -> str:
    return "Stopped looking through folders at [files] max_walk_entries; narrow `paths` or use `glob`."
