"""Writing a file into the one allowed output folder (`FW_MCP_OUTPUT_DIR` / `[files] output_dir`).

Nothing is written unless that folder is configured. The target's folder must resolve (symlinks
included) inside the output folder, and is then held open, so a folder swapped for a symlink after the
check changes nothing. The file is written to a temporary name and moved into place in one step, so a
reader never sees half a file. An existing file is replaced only with `overwrite: true`, and a symlink
is never written through (not even one that points inside the folder). Blocking: run in a worker thread.
"""

from __future__ import annotations

import contextlib
import errno
import os
import secrets
import stat
from collections.abc import Iterable
from pathlib import Path

from fw_mcp.errors import InvalidArgument
from fw_mcp.files import sandbox
from fw_mcp.settings import ENV_OUTPUT_DIR

__all__ = ["check_writable", "write_atomic"]

_DIR_FLAGS = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | getattr(os, "O_CLOEXEC", 0)
_NEW_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)


def check_writable(out_dir: Path | None, ref: str, *, overwrite: bool, argument: str) -> None:
    """Refuse, before any work is paid for, a write that `write_atomic` would refuse now.

    Raises:
        InvalidArgument: as `write_atomic`.
    """
    folder, name = _target(out_dir, ref, argument)
    dfd = _open_folder(folder, ref, argument, out_dir)
    try:
        _check_target(dfd, name, ref, argument, overwrite)
    finally:
        os.close(dfd)


def write_atomic(
    out_dir: Path | None, ref: str, chunks: Iterable[bytes], *, overwrite: bool, argument: str
) -> str:
    """Write `chunks` to `ref` (relative paths start in the output folder) and return the path written.

    Raises:
        InvalidArgument: no output folder, a path outside it, a symlink, an existing file without
            `overwrite`, or a write that failed (the partial file is removed).
    """
    folder, name = _target(out_dir, ref, argument)
    dfd = _open_folder(folder, ref, argument, out_dir)
    try:
        _check_target(dfd, name, ref, argument, overwrite)
        _write_into(dfd, name, chunks, ref, argument, overwrite)
    finally:
        os.close(dfd)
    return os.path.join(folder, name)


def _target(out_dir: Path | None, ref: str, argument: str) -> tuple[str, str]:
    """The real folder the file goes in (inside `out_dir`) and the file's name."""
    if out_dir is None:
        raise InvalidArgument(
            argument,
            f"this server writes no files: no output folder is configured. Set {ENV_OUTPUT_DIR} (or "
            "`[files] output_dir`) to a folder and restart the server, or leave out this argument.",
        )
    target = Path(os.path.expanduser(ref))
    target = target if target.is_absolute() else out_dir / target
    if not target.name or target.name in (".", ".."):
        raise InvalidArgument(
            argument, f"{sandbox.show(ref)} names no file; give a file name such as out.jsonl."
        )
    folder = sandbox.real_path(str(target.parent))
    if not folder or not sandbox.inside(folder, [out_dir]):
        raise InvalidArgument(
            argument,
            f"{sandbox.show(ref)} is not inside the output folder ({out_dir}); give a file name inside it.",
        )
    return folder, target.name


def _open_folder(folder: str, ref: str, argument: str, out_dir: Path | None) -> int:
    try:
        dfd = os.open(folder, _DIR_FLAGS | getattr(os, "O_NOFOLLOW", 0))
    except OSError:
        raise InvalidArgument(
            argument, f"the folder of {sandbox.show(ref)} does not exist inside {out_dir}; create it first."
        ) from None
    proc = f"/proc/self/fd/{dfd}"  # Linux: where the descriptor really points, after any race
    if out_dir is None or (os.path.islink(proc) and not sandbox.inside(os.readlink(proc), [out_dir])):
        os.close(dfd)
        raise InvalidArgument(argument, f"the folder of {sandbox.show(ref)} changed; try again.")
    return dfd


def _check_target(dfd: int, name: str, ref: str, argument: str, overwrite: bool) -> None:
    try:
        st = os.stat(name, dir_fd=dfd, follow_symlinks=False)
    except FileNotFoundError:
        return
    if stat.S_ISLNK(st.st_mode):
        raise InvalidArgument(
            argument, f"{sandbox.show(ref)} is a symlink; files are never written through one."
        )
    if not stat.S_ISREG(st.st_mode):
        raise InvalidArgument(argument, f"{sandbox.show(ref)} exists and is not a regular file.")
    if not overwrite:
        raise InvalidArgument(
            argument,
            f"{sandbox.show(ref)} already exists; pass overwrite: true to replace it, or another name.",
        )


def _write_into(
    dfd: int, name: str, chunks: Iterable[bytes], ref: str, argument: str, overwrite: bool
) -> None:
    temp = f".{name}.{secrets.token_hex(6)}.tmp"
    fd = os.open(temp, _NEW_FLAGS, 0o644, dir_fd=dfd)
    try:
        with os.fdopen(fd, "wb") as fh:
            for chunk in chunks:
                fh.write(chunk)
            fh.flush()
            os.fsync(fh.fileno())
        if overwrite:
            os.replace(temp, name, src_dir_fd=dfd, dst_dir_fd=dfd)  # replaces a link itself, never its target
        else:
            _place_new(dfd, temp, name, ref, argument)
    except BaseException as exc:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temp, dir_fd=dfd)
        if isinstance(exc, OSError):
            raise InvalidArgument(
                argument, f"{sandbox.show(ref)} could not be written ({exc.strerror or 'error'})."
            ) from None
        raise


def _place_new(dfd: int, temp: str, name: str, ref: str, argument: str) -> None:
    """Move the temp file to `name` only if nothing is there: a hard link fails on an existing name."""
    try:
        os.link(temp, name, src_dir_fd=dfd, dst_dir_fd=dfd, follow_symlinks=False)
    except FileExistsError:
        raise InvalidArgument(
            argument,
            f"{sandbox.show(ref)} already exists; pass overwrite: true to replace it, or another name.",
        ) from None
    except OSError as exc:
        if exc.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EXDEV):
            raise
        _check_target(dfd, name, ref, argument, overwrite=False)  # no hard links here: check, then rename
        os.replace(temp, name, src_dir_fd=dfd, dst_dir_fd=dfd)
        return
    os.unlink(temp, dir_fd=dfd)
