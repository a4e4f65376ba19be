"""Read a host's JSON config and change it in place: only the entry we set is new text.

Edits are spliced into the original text (fw_mcp.hosts.jsonc), so other entries, comments and the
file's layout stay byte for byte. Writes are atomic (a temporary file renamed over the original)
and keep the file's permissions, so a crash never leaves half a file, and a file holding a key does
not become world-readable. Whether the file can be written is checked before anything is done.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fw_mcp.errors import FwMcpError
from fw_mcp.hosts import jsonc

__all__ = [
    "ConfigFile",
    "InvalidConfigFile",
    "UnwritableConfigFile",
    "backup",
    "check_writable",
    "read_config",
    "write_atomic",
]

DEFAULT_INDENT = 2
_INDENTED_LINE = re.compile(r"\n([ \t]+)\S")


class InvalidConfigFile(FwMcpError):
    """The host's config file cannot be parsed or is not shaped as expected; it was not touched."""


class UnwritableConfigFile(FwMcpError):
    """The host's config file (or its folder) cannot be written by this user; nothing was done."""


@dataclass(frozen=True)
class ConfigFile:
    path: Path
    data: dict[str, Any]
    exists: bool
    indent: str | None  # None: written on one line, as the file was
    newline: str
    final_newline: bool
    mode: int | None
    text: str = ""  # as read (an absent or blank file: "")

    def render(self, data: dict[str, Any]) -> str:
        text = json.dumps(data, indent=self.indent, ensure_ascii=False)
        text += "\n" if self.final_newline else ""
        return text.replace("\n", self.newline)

    def root(self) -> jsonc.Node | None:
        """The parsed text with positions; None for an absent or blank file."""
        return jsonc.parse(self.text) if self.text.strip() else None


def read_config(path: Path, comments: bool = False) -> ConfigFile:
    """The parsed file and its style; an absent or empty file reads as `{}` in the default style.

    `comments`: the host reads JSONC (comments, trailing commas), as VS Code does; else strict JSON.

    Raises:
        InvalidConfigFile: the file is not valid JSON (JSONC), not an object, or cannot be read.
    """
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return ConfigFile(path, {}, False, " " * DEFAULT_INDENT, "\n", True, None)
    except OSError as exc:
        raise InvalidConfigFile(
            f"Cannot read {path}: {exc.strerror}. Check the path and its permissions."
        ) from None
    text = raw.decode("utf-8-sig", errors="replace")
    mode = path.stat().st_mode & 0o7777
    if not text.strip():
        return ConfigFile(path, {}, True, " " * DEFAULT_INDENT, "\n", True, mode)
    try:
        node = jsonc.parse(text)
        if not comments and node.comments:
            json.loads(text)  # names what strict JSON refuses (a comment, a trailing comma) and where
    except ValueError as exc:
        kind = "JSON (with comments)" if comments else "valid JSON"
        raise InvalidConfigFile(f"{path} is not {kind} ({exc})") from None
    data = node.value
    if not isinstance(data, dict):
        raise InvalidConfigFile(f"{path} holds JSON but not an object ({{...}}) at the top")
    return ConfigFile(
        path,
        data,
        True,
        _indent(text),
        "\r\n" if "\r\n" in text else "\n",
        text.endswith("\n"),
        mode,
        text,
    )


def _indent(text: str) -> str | None:
    """The first indented line's leading whitespace: the file's indent unit, as near as we can tell."""
    body = text.strip()
    if "\n" not in body:
        return None
    match = _INDENTED_LINE.search(body)
    return match.group(1) if match else ""


def check_writable(path: Path) -> None:
    """Refuse, before anything is printed or backed up, a file or folder this user cannot write.

    An atomic write creates a file beside the target and renames it, so the folder must be writable
    too (or, for a file not yet there, the nearest folder that exists, where the rest is created).

    Raises:
        UnwritableConfigFile: names what cannot be written and how to fix it.
    """
    target = path.resolve() if path.is_symlink() else path
    if target.exists() and not os.access(target, os.W_OK):
        raise UnwritableConfigFile(
            f"Cannot write {target}: the file is read-only for you. Nothing was changed. Make it "
            f"writable (`chmod u+w {target}`, or fix its owner), or run this as the user who owns it."
        )
    folder = target.parent
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    if not os.access(folder, os.W_OK | os.X_OK):
        raise UnwritableConfigFile(
            f"Cannot write {target}: the folder {folder} is not writable for you, and fw-mcp writes a "
            f"backup and a temporary file there. Nothing was changed. Make it writable "
            f"(`chmod u+w {folder}`), or run this as the user who owns it."
        )


def backup(path: Path) -> Path:
    """Copy `path` to `path.<timestamp>.bak` (permissions kept) and return the copy's path."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    target = path.with_name(f"{path.name}.{stamp}.bak")
    n = 1
    while target.exists():
        n += 1
        target = path.with_name(f"{path.name}.{stamp}-{n}.bak")
    shutil.copy2(path, target)
    return target


def write_atomic(config: ConfigFile, text: str) -> None:
    """Create the folders, write a temporary file beside the target, rename it over the target.

    New files are private (0600): they may hold a key. A symlinked file (dotfile managers) is
    written through the link, so the link stays.
    """
    path = config.path.resolve() if config.path.is_symlink() else config.path
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
            fh.write(text)
        if config.mode is not None:
            os.chmod(tmp, config.mode)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
