"""The one sandbox for local files a caller names: describe_image's images and search's files.

The paths come from an untrusted caller (a model, possibly prompt-injected), so a path's real path
(symlinks resolved) must lie inside an allowed folder, and a path outside gets the same answer whether
or not it exists. A file is opened without following a symlink swapped in after the check, must be a
regular file (never a FIFO or device), and is read with a bounded read. The callers supply only their
own words for the refusals; the checks are here, once.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable
from pathlib import Path

from fw_mcp.errors import InvalidArgument

__all__ = ["TooBig", "inside", "locate", "open_checked", "read_checked", "real_path", "show"]

#: Builds the refusal for a file over the size limit, from (ref, size, max_bytes).
TooBig = Callable[[str, int, int], str]


def show(ref: str) -> str:
    """The caller's ref, quoted and cut short, for messages."""
    return repr(ref if len(ref) <= 120 else ref[:117] + "...")


def inside(path: str, allowed: list[Path]) -> bool:
    """Component-wise containment, so `/allowed-evil` is not inside `/allowed`."""
    return any(Path(path).is_relative_to(folder) for folder in allowed)


def real_path(ref: str) -> str:
    """The path with `~` expanded and every symlink resolved, or "" when it cannot be resolved."""
    try:
        return os.path.realpath(os.path.expanduser(ref))
    except (OSError, ValueError):
        return ""


def locate(
    ref: str,
    name: str,
    allowed: list[Path],
    max_bytes: int,
    *,
    outside: str,
    too_big: TooBig,
    folder: str | None,
) -> tuple[str, os.stat_result]:
    """Resolve and stat a path; refuse it without reading it. Blocking: run it in a worker thread.

    `outside` ends the refusal of a path outside the allowed folders; `folder` is the refusal of a
    folder, or None when folders are accepted (then the folder's own stat is returned).

    Raises:
        InvalidArgument: outside the allowed folders, missing, unreadable, special, or too big.
    """
    real = real_path(ref)
    if not real or not inside(real, allowed):
        # Same message whether or not it exists: the caller must learn nothing about outside files.
        raise InvalidArgument(name, f"{show(ref)} {outside}")
    try:
        st = os.stat(real)
    except (FileNotFoundError, NotADirectoryError):
        raise InvalidArgument(
            name, f"{show(ref)} does not exist (relative paths start at the server's working directory)."
        ) from None
    except OSError as exc:
        raise InvalidArgument(name, f"{show(ref)} cannot be read ({exc.strerror or 'error'}).") from None
    if stat.S_ISDIR(st.st_mode):
        if folder is None:
            return real, st
        raise InvalidArgument(name, f"{show(ref)} {folder}")
    if not stat.S_ISREG(st.st_mode):
        raise InvalidArgument(name, f"{show(ref)} is not a regular file (a device, pipe or socket).")
    if st.st_size > max_bytes:
        raise InvalidArgument(name, too_big(ref, st.st_size, max_bytes))
    return real, st


def open_checked(
    real: str, checked: os.stat_result | None, ref: str, name: str, allowed: list[Path]
) -> tuple[int, os.stat_result]:
    """Open a file `locate` checked (no symlink followed), refusing it if it was swapped or replaced
    since; the caller closes the descriptor. Blocking: run it in a worker thread.

    Raises:
        InvalidArgument: the file changed or cannot be opened.
    """
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
    flags |= getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0)
    changed = InvalidArgument(name, f"{show(ref)} changed while it was being read; try again.")
    try:
        fd = os.open(real, flags)
    except PermissionError:
        raise InvalidArgument(name, f"{show(ref)} cannot be read (permission denied).") from None
    except OSError:  # gone, or a symlink swapped in (O_NOFOLLOW) since it was checked
        raise changed from None
    try:
        st = os.fstat(fd)
        expected = (checked.st_dev, checked.st_ino) if checked else None
        if not stat.S_ISREG(st.st_mode) or (st.st_dev, st.st_ino) != expected:
            raise changed
        proc = f"/proc/self/fd/{fd}"  # Linux: where the descriptor really points, after any race
        if os.path.islink(proc) and not inside(os.readlink(proc), allowed):
            raise changed
    except BaseException as exc:
        os.close(fd)
        if isinstance(exc, OSError):
            raise InvalidArgument(name, f"{show(ref)} cannot be read ({exc.strerror or 'error'}).") from None
        raise
    return fd, st


def read_checked(
    real: str,
    checked: os.stat_result | None,
    ref: str,
    name: str,
    allowed: list[Path],
    max_bytes: int,
    too_big: TooBig,
) -> bytes:
    """Read a file `locate` checked, refusing it if it was swapped, replaced or grew since. Blocking.

    Raises:
        InvalidArgument: the file changed, cannot be read, or grew past `max_bytes`.
    """
    fd, st = open_checked(real, checked, ref, name, allowed)
    try:
        chunks: list[bytes] = []
        total = 0
        while total <= max_bytes:  # bounded even if the file grows after fstat
            chunk = os.read(fd, min(max_bytes + 1 - total, max(st.st_size + 1 - total, 1 << 16)))
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
    except OSError as exc:
        raise InvalidArgument(name, f"{show(ref)} cannot be read ({exc.strerror or 'error'}).") from None
    finally:
        os.close(fd)
    if total > max_bytes:
        raise InvalidArgument(name, too_big(ref, total, max_bytes))
    return b"".join(chunks)
