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
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from pydantic import ValidationError

from fw_mcp.errors import InvalidArgument
from fw_mcp.files import sandbox
from fw_mcp.fireworks.wire import ChatRequest
from fw_mcp.settings import ENV_ALLOWED_DIRS, BatchSection
from fw_mcp.stoppable import Stopped
from fw_mcp.tools.batch_ids import IdLedger, digest

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

    def count(self, more: int) -> None:
        """Problems found but not named (their lines were not looked up)."""
        self.more += more

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


def check_custom_id(value: Any, seen: set[str] | IdLedger) -> str | None:
    """What is wrong with a custom id (None: it is fine); a fine one is added to `seen`."""
    if not isinstance(value, str) or not value.strip():
        return "`custom_id` must be a non-empty string"
    if len(value) > MAX_CUSTOM_ID:
        return f"`custom_id` is longer than {MAX_CUSTOM_ID} characters"
    if isinstance(seen, IdLedger):
        fresh = seen.add(value)
    else:
        fresh = value not in seen
        seen.add(value)
    return None if fresh else _twice(value)


def _twice(value: str, first: int | None = None) -> str:
    where = f"; first on line {first}" if first is not None else ""
    return f"`custom_id` {value!r} is used twice (every id must be unique{where})"


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


def check_lines(
    fh: BinaryIO,
    model: str,
    max_line_bytes: int,
    argument: str,
    *,
    ids: IdLedger | None = None,
    stop: threading.Event | None = None,
) -> int:
    """Check every line of an open JSON Lines file; return the count. Memory holds one line (at most
    `max_line_bytes`) and the custom ids within a bound (fw_mcp.tools.batch_ids), never the file; a
    file with more ids than that bound is read twice when some repeat. Blocking.

    Raises:
        InvalidArgument: the file is empty or has bad lines (the first 20 listed, then a count).
        Stopped: `stop` was set (the call is gone).
    """
    problems, count = Problems(), 0
    ids = ids if ids is not None else IdLedger()
    try:
        while raw := _next_line(fh, max_line_bytes):
            count += 1
            if stop is not None and stop.is_set():
                raise Stopped
            if raw is _TOO_LONG:
                problems.add(
                    f"line {count}", f"longer than {max_line_bytes:,} bytes ([batch] max_line_bytes)"
                )
                continue
            what = _check_line(raw, model, ids)
            if what is not None:
                problems.add(f"line {count}", what)
        sample, repeats = ids.repeated()
    finally:
        ids.close()
    if repeats:
        fh.seek(0)
        named = _name_repeats(fh, sample, max_line_bytes, problems)
        problems.count(repeats - named)
    if count == 0:
        problems.add("line 1", "the file is empty; give one request per line")
    problems.raise_if_any(argument)
    return count


_TOO_LONG = b"\0too long"


def _next_line(fh: BinaryIO, max_line_bytes: int) -> bytes:
    """The next line (b"" at the end), or `_TOO_LONG` after skipping a line over the bound."""
    raw = fh.readline(max_line_bytes + 1)
    if len(raw) > max_line_bytes and not raw.endswith(b"\n"):
        while (rest := fh.readline(1 << 20)) and not rest.endswith(b"\n"):
            pass  # skip the rest of the line, a piece at a time
        return _TOO_LONG
    return raw


def _name_repeats(fh: BinaryIO, sample: set[int], max_line_bytes: int, problems: Problems) -> int:
    """Second pass, for ids past the in-memory bound: the lines that repeat an earlier id whose digest
    is in `sample` (memory: one first line per sampled digest). Returns how many it named."""
    first: dict[int, tuple[str, int]] = {}
    named = number = 0
    while raw := _next_line(fh, max_line_bytes):
        number += 1
        value = _custom_id_of(raw)
        if value is None or (key := digest(value)) not in sample:
            continue
        seen = first.setdefault(key, (value, number))
        if seen[1] != number and seen[0] == value:
            problems.add(f"line {number}", _twice(value, seen[1]))
            named += 1
    return named


def _custom_id_of(raw: bytes) -> str | None:
    try:
        row = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError):
        return None
    value = row.get("custom_id") if isinstance(row, dict) else None
    return value if isinstance(value, str) else None


def _check_line(raw: bytes, model: str, seen: IdLedger) -> str | None:
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


def check_input_path(
    ref: str, allowed: list[Path], model: str, batch: BatchSection, stop: threading.Event | None = None
) -> CheckedFile:
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
        count = check_lines(fh, model, batch.max_line_bytes, "input_path", stop=stop)
    return CheckedFile(Path(real), _identity(opened), count)


def _identity(st: os.stat_result) -> tuple[int, int, int, int]:
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)
