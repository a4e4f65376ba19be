"""Checking a batch's input before anything is uploaded: every line, with line numbers.

A bad line found by Fireworks costs an upload and a job that fails hours later; found here it costs
nothing. Lines are checked as the chat endpoint checks a request (the wire model), custom ids must
be unique, and the file must be under Fireworks' size limit. At most 20 problems are listed, then
a count. Files are read line by line (never whole), in a worker thread.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from fw_mcp.errors import InvalidArgument
from fw_mcp.fireworks.wire import ChatRequest

__all__ = ["MAX_LISTED", "Problems", "check_body", "check_custom_id", "validate_file"]

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


def validate_file(path: Path, model: str, max_bytes: int, argument: str = "input_path") -> int:
    """Check a JSON Lines file of `{"custom_id", "body"}` and return its number of requests.
    Blocking: run it in a worker thread.

    Raises:
        InvalidArgument: the file is over `max_bytes`, empty, or has bad lines (listed, with numbers).
        OSError: the file cannot be read.
    """
    size = path.stat().st_size
    if size > max_bytes:
        raise InvalidArgument(
            argument,
            f"the file is {size:,} bytes, over the limit of {max_bytes:,} ([batch] max_input_bytes); split it.",
        )
    problems, seen, count = Problems(), set[str](), 0
    with path.open("rb") as fh:
        for number, raw in enumerate(fh, 1):
            count += 1
            what = _check_line(raw, model, seen)
            if what is not None:
                problems.add(f"line {number}", what)
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
