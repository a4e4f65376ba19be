"""Read a host's JSON config and write it back in its own style: indent, line endings, final newline.

Writes are atomic (a temporary file renamed over the original) and keep the file's permissions,
so a crash never leaves half a file, and a file holding a key does not become world-readable.
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

__all__ = ["ConfigFile", "InvalidConfigFile", "backup", "read_config", "write_atomic"]

DEFAULT_INDENT = 2
_INDENTED_LINE = re.compile(r"\n([ \t]+)\S")


class InvalidConfigFile(FwMcpError):
    """The host's config file cannot be parsed or is not shaped as expected; it was not touched."""


@dataclass(frozen=True)
class ConfigFile:
    path: Path
    data: dict[str, Any]
    exists: bool
    indent: str | None  # None: written on one line, as the file was
    newline: str
    final_newline: bool
    mode: int | None

    def render(self, data: dict[str, Any]) -> str:
        text = json.dumps(data, indent=self.indent, ensure_ascii=False)
        text += "\n" if self.final_newline else ""
        return text.replace("\n", self.newline)


def read_config(path: Path) -> ConfigFile:
    """The parsed file and its style; an absent or empty file reads as `{}` in the default style.

    Raises:
        InvalidConfigFile: the file is not valid JSON, not an object, or cannot be read.
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
        data = json.loads(text)
    except ValueError as exc:
        raise InvalidConfigFile(f"{path} is not valid JSON ({exc})") from None
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
    )


def _indent(text: str) -> str | None:
    """The first indented line's leading whitespace: the file's indent unit, as near as we can tell."""
    body = text.strip()
    if "\n" not in body:
        return None
    match = _INDENTED_LINE.search(body)
    return match.group(1) if match else ""


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
