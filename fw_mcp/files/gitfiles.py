"""The files of a folder that git does not ignore, when the folder is in a git checkout.

git itself answers (`git ls-files --cached --others --exclude-standard`), so every `.gitignore`,
`.git/info/exclude` and the user's global excludes apply exactly as git applies them, and git prunes
ignored folders (a `node_modules` is never walked). The folder may be a prompt-injected choice, so the
repository's own configuration must not run anything: `core.fsmonitor` (a command git would run) is
switched off, no pager, no prompt, no optional locks. The listing is bounded in entries and time.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import threading

__all__ = ["GIT_TIMEOUT", "git_listing"]

logger = logging.getLogger(__name__)

GIT_TIMEOUT = 10.0  # seconds; a listing that takes longer is abandoned (the folder is walked instead)
_SAFE = ("-c", "core.fsmonitor=false", "-c", "core.untrackedCache=false", "--no-pager")
_ENV = {"GIT_OPTIONAL_LOCKS": "0", "GIT_TERMINAL_PROMPT": "0", "LC_ALL": "C"}


def git_listing(folder: str, max_entries: int) -> tuple[list[str], bool] | None:
    """Paths under `folder` (relative to it) that git does not ignore, and whether the list was cut at
    `max_entries`; None when `folder` is not in a git work tree (or git is missing or failed).

    Blocking: run it in a worker thread.
    """
    git = shutil.which("git")
    if git is None or not _in_work_tree(git, folder):
        return None
    cmd = [git, *_SAFE, "-C", folder, "ls-files", "-z", "--cached", "--others", "--exclude-standard"]
    try:
        proc = subprocess.Popen(
            cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=_env()
        )
    except OSError:
        return None
    watchdog = threading.Timer(GIT_TIMEOUT, proc.kill)
    watchdog.start()
    try:
        names, cut = _read_names(proc, max_entries)
    finally:
        watchdog.cancel()
        if proc.poll() is None:
            proc.kill()
        proc.wait()
        assert proc.stdout is not None
        proc.stdout.close()
    if not cut and proc.returncode != 0:
        logger.info(
            "git ls-files failed in %s (exit %s); walking the folder instead", folder, proc.returncode
        )
        return None
    return sorted(set(names)), cut  # a file in conflict is listed once per stage


def _read_names(proc: subprocess.Popen[bytes], max_entries: int) -> tuple[list[str], bool]:
    assert proc.stdout is not None
    names: list[str] = []
    pending = b""
    while chunk := os.read(proc.stdout.fileno(), 1 << 16):
        *done, pending = (pending + chunk).split(b"\0")
        names.extend(os.fsdecode(n) for n in done if n)
        if len(names) >= max_entries:
            return names[:max_entries], True
    return names, False


def _in_work_tree(git: str, folder: str) -> bool:
    try:
        done = subprocess.run(
            [git, *_SAFE, "-C", folder, "rev-parse", "--is-inside-work-tree"],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            env=_env(),
            timeout=GIT_TIMEOUT,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return False
    return done.returncode == 0 and done.stdout.strip() == b"true"


def _env() -> dict[str, str]:
    """The server's environment without GIT_DIR and friends, which would point git elsewhere."""
    return {**{k: v for k, v in os.environ.items() if not k.startswith("GIT_")}, **_ENV}
