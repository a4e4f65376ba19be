"""Checking a batch's input before anything is uploaded: every line, with line numbers.

A bad line found by Fireworks costs an upload and a job that fails hours later; found here it costs
nothing. Lines are checked as the chat endpoint checks a request (the wire model), custom ids must
be unique, and the file must be under Fireworks' size limit. At most 20 problems are listed, then
a count. Files are read line by line (never whole; a line is bounded by [batch] max_line_bytes), in
a worker thread. A file named by a tool call must lie in the allowed folders (the path sandbox).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from pydantic import ValidationError

from fw_mcp.errors import InvalidArgument
from fw_mcp.files import sandbox
from fw_mcp.fireworks.wire import ChatRequest
from fw_mcp.settings import ENV_ALLOWED_DIRS, BatchSection

__all__ = [
    "MAX_LISTED",
    "CheckedFile",
    "Problems",
    "check_body",
    "check_custom_id",
    "check_input_path",
    "check_lines",
    "too_big_message",
    "validate_file",
]

MAX_LISTED = 20
MAX_CUSTOM_ID = 256


class Problems:
    """The problems found so far: the first 20 in full, then only counted."""

    def __init__(self) -> None:
        self.listed: list[str] = []
        self.more = 0

    def add(self, where: str, what: str) -> None:
        if len(self.listed) < MAX_LISTED:
            self.listed.append(f"{where}: {what}")
        else:
            self.more += 1

    def raise_if_any(self, argument: str) -> None:
        """Raises InvalidArgument listing the problems, when there are any."""
        if not self.listed:
            return
        total = len(self.listed) + self.more
        more = f"\n... and {self.more} more" if self.more else ""
        raise InvalidArgument(
            argument,
            f"{total} problem{'s' if total > 1 else ''} found, nothing was uploaded; fix "
            f"{'them' if total > 1 else 'it'} and submit again:\n" + "\n".join(self.listed) + more,
        )


def check_custom_id(value: Any, seen: set[str]) -> str | None:
    """What is wrong with a custom id (None: it is fine); a fine one is added to `seen`."""
    if not isinstance(value, str) or not value.strip():
        return "`custom_id` must be a non-empty string"
    if len(value) > MAX_CUSTOM_ID:
        return f"`custom_id` is longer than {MAX_CUSTOM_ID} characters"
    if value in seen:
        return f"`custom_id` {value!r} is used twice (every id must be unique)"
    seen.add(value)
    return None


def check_body(body: Any, model: str) -> str | None:
    """What is wrong with a request body (None: the chat endpoint would take it)."""
    if not isinstance(body, dict):
        return "`body` must be a JSON object with `messages`"
    if body.get("stream"):
        return "`stream` cannot be used in a batch request"
    try:
        ChatRequest.model_validate({**body, "model": model})
    except ValidationError as exc:
        errors = exc.errors(include_url=False)
        said = "; ".join(f"body.{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in errors[:2])
        return said + (f" (and {len(errors) - 2} more)" if len(errors) > 2 else "")
    return None


def validate_file(
    path: Path, model: str, max_bytes: int, argument: str = "input_path", *, max_line_bytes: int = 8 << 20
) -> int:
    """Check a JSON Lines file of `{"custom_id", "body"}` and return its number of requests.
    Blocking: run it in a worker thread.

    Raises:
        InvalidArgument: the file is over `max_bytes`, empty, or has bad lines (listed, with numbers).
        OSError: the file cannot be read.
    """
    size = path.stat().st_size
    if size > max_bytes:
        raise InvalidArgument(argument, too_big_message(size, max_bytes))
    with path.open("rb") as fh:
        return check_lines(fh, model, max_line_bytes, argument)


def too_big_message(size: int, max_bytes: int) -> str:
    return f"the file is {size:,} bytes, over the limit of {max_bytes:,} ([batch] max_input_bytes); split it."


def check_lines(fh: BinaryIO, model: str, max_line_bytes: int, argument: str) -> int:
    """Check every line of an open JSON Lines file; return the count. Memory holds one line (at most
    `max_line_bytes`) and the set of custom ids, never the file. Blocking.

    Raises:
        InvalidArgument: the file is empty or has bad lines (the first 20 listed, then a count).
    """
    problems, seen, count = Problems(), set[str](), 0
    while raw := fh.readline(max_line_bytes + 1):
        count += 1
        if len(raw) > max_line_bytes and not raw.endswith(b"\n"):
            problems.add(f"line {count}", f"longer than {max_line_bytes:,} bytes ([batch] max_line_bytes)")
            while (rest := fh.readline(1 << 20)) and not rest.endswith(b"\n"):
                pass  # skip the rest of the line, a piece at a time
            continue
        what = _check_line(raw, model, seen)
        if what is not None:
            problems.add(f"line {count}", what)
    if count == 0:
        problems.add("line 1", "the file is empty; give one request per line")
    problems.raise_if_any(argument)
    return count


def _check_line(raw: bytes, model: str, seen: set[str]) -> str | None:
    if not raw.strip():
        return "empty line (every line must be a request)"
    try:
        row = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        return f"not valid JSON ({exc})"
    if not isinstance(row, dict):
        return 'not a JSON object (expected {"custom_id": ..., "body": {...}})'
    if unknown := sorted(set(row) - {"custom_id", "body"}):
        return f"unknown key {', '.join(unknown)} (a line holds only custom_id and body)"
    return check_custom_id(row.get("custom_id"), seen) or check_body(row.get("body"), model)


@dataclass(frozen=True)
class CheckedFile:
    """A local input file that passed every check: where it is, what it was, how many requests."""

    path: Path
    identity: tuple[int, int, int, int]  # device, inode, size, mtime (ns) when it was checked
    count: int

    def unchanged(self) -> bool:
        """Whether the path still names the very file that was checked (not replaced, not edited)."""
        try:
            return _identity(os.lstat(self.path)) == self.identity
        except OSError:
            return False


def check_input_path(ref: str, allowed: list[Path], model: str, batch: BatchSection) -> CheckedFile:
    """Locate `ref` inside the allowed folders and check every line of it, streamed from one open
    descriptor (no symlink followed). Blocking: run it in a worker thread.

    Raises:
        InvalidArgument: outside the allowed folders, missing, too big, or bad lines.
    """
    if not allowed:
        raise InvalidArgument(
            "input_path",
            f"no folder is allowed for local files. Set {ENV_ALLOWED_DIRS} in the server's environment to "
            f"the folders it may read (separated by '{os.pathsep}') and restart it, or pass `requests`.",
        )
    real, st = sandbox.locate(
        ref,
        "input_path",
        allowed,
        batch.max_input_bytes,
        outside=f"is not inside a folder this server may read ({ENV_ALLOWED_DIRS}); pass a path inside one.",
        too_big=lambda _ref, size, limit: too_big_message(size, limit),
        folder="is a folder; give the JSON Lines file itself.",
    )
    fd, opened = sandbox.open_checked(real, st, ref, "input_path", allowed)
    with os.fdopen(fd, "rb") as fh:
        count = check_lines(fh, model, batch.max_line_bytes, "input_path")
    return CheckedFile(Path(real), _identity(opened), count)


def _identity(st: os.stat_result) -> tuple[int, int, int, int]:
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)
