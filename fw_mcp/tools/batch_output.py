"""Reading a finished job's files: every input custom_id accounted for, one page of results out.

Fireworks writes a results file (one line per answered request) and an error file (one per failed
request). The check is strict: each input id must appear exactly once across the two, and no other
id may appear; a count that does not add up is an error, never a silent gap. Files are read line by
line and only the requested page is kept, so a large job does not fill memory. Blocking: run
`read_page` in a worker thread.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from fw_mcp.errors import FwMcpError

__all__ = ["BatchItem", "Counter", "IncompleteResults", "Page", "item_lines", "read_page", "write_items"]

_SHOWN_IDS = 5
_CHUNK = 256 * 1024


class IncompleteResults(FwMcpError):
    """The job's files do not account for every request exactly once."""


class BatchItem(BaseModel):
    custom_id: str = Field(description="The request's id.")
    text: str | None = Field(default=None, description="The answer (None when the request failed).")
    finish_reason: str | None = Field(default=None, description="stop, length (cut at max_tokens), ...")
    usage: dict[str, int] | None = Field(default=None, description="Tokens of this request.")
    error: str | None = Field(default=None, description="Why the request failed, when it did.")


class Page(BaseModel):
    total: int
    succeeded: int
    failed: int
    items: list[BatchItem]


def read_page(source: Path, results: Path | None, errors: Path | None, offset: int, limit: int) -> Page:
    """Items `offset` to `offset + limit` (in input order), after checking every id is accounted for.

    Raises:
        IncompleteResults: an input id is missing or appears twice, or an unknown id appears.
    """
    order = {custom_id: index for index, custom_id in enumerate(_input_ids(source))}
    wanted = range(offset, offset + limit)
    seen: dict[str, int] = {}
    page: dict[int, BatchItem] = {}
    counts = {"ok": 0, "failed": 0}
    for path, failed in ((results, False), (errors, True)):
        for row in _rows(path):
            item = _item(row, failed or ("error" in row and "response" not in row))
            seen[item.custom_id] = seen.get(item.custom_id, 0) + 1
            counts["failed" if item.error is not None else "ok"] += 1
            index = order.get(item.custom_id)
            if index is not None and index in wanted:
                page[index] = item
    _check(order, seen)
    return Page(
        total=len(order),
        succeeded=counts["ok"],
        failed=counts["failed"],
        items=[page[i] for i in sorted(page)],
    )


def write_items(results: Path | None, errors: Path | None, dest: Path) -> int:
    """Every item (results file order, then errors) as JSON Lines into `dest`; returns the count.
    Check the files with `read_page` first. Blocking: run it in a worker thread."""
    counter = Counter()
    with dest.open("wb") as out:
        for chunk in item_lines(results, errors, counter):
            out.write(chunk)
    return counter.lines


class Counter:
    """How many lines `item_lines` has produced so far."""

    def __init__(self) -> None:
        self.lines = 0


def item_lines(results: Path | None, errors: Path | None, counter: Counter | None = None) -> Iterator[bytes]:
    """Every item (results file order, then errors) as JSON Lines, in chunks of about 256 KiB, read
    from the files a line at a time: memory holds one chunk, whatever the job's size. Blocking."""
    buffer: list[bytes] = []
    size = 0
    for path, failed in ((results, False), (errors, True)):
        for row in _rows(path):
            line = _item(row, failed or ("error" in row and "response" not in row)).model_dump_json(
                exclude_none=True
            )
            data = (line + "\n").encode()
            buffer.append(data)
            size += len(data)
            if counter is not None:
                counter.lines += 1
            if size >= _CHUNK:
                yield b"".join(buffer)
                buffer, size = [], 0
    if buffer:
        yield b"".join(buffer)


def _check(order: dict[str, int], seen: dict[str, int]) -> None:
    missing = [c for c in order if c not in seen]
    twice = [c for c, n in seen.items() if n > 1]
    unknown = [c for c in seen if c not in order]
    problems = [
        f"{len(ids):,} {what} ({_some(ids)})"
        for ids, what in (
            (missing, "request(s) with neither a result nor an error"),
            (twice, "request(s) appearing more than once"),
            (unknown, "result(s) belonging to no request of the input"),
        )
        if ids
    ]
    if problems:
        raise IncompleteResults(
            "The job's result files do not account for every request exactly once: "
            + "; ".join(problems)
            + ". Nothing was returned; ask again later, or report it to Fireworks with the job id."
        )


def _some(ids: list[str]) -> str:
    shown = ", ".join(ids[:_SHOWN_IDS])
    return shown + (", ..." if len(ids) > _SHOWN_IDS else "")


def _input_ids(source: Path) -> Iterator[str]:
    for row in _rows(source):
        yield str(row.get("custom_id"))


def _rows(path: Path | None) -> Iterator[dict[str, Any]]:
    if path is None:
        return
    with path.open("rb") as fh:
        for number, raw in enumerate(fh, 1):
            if not raw.strip():
                continue
            try:
                row = json.loads(raw)
            except (UnicodeDecodeError, json.JSONDecodeError):
                raise IncompleteResults(f"Line {number} of the job's file {path.name} is not JSON.") from None
            if isinstance(row, dict):
                yield row


def _item(row: dict[str, Any], failed: bool) -> BatchItem:
    custom_id = str(row.get("custom_id"))
    if failed:
        error = row.get("error")
        message = error.get("message") if isinstance(error, dict) else error
        return BatchItem(custom_id=custom_id, error=str(message or "the request failed"))
    response = row.get("response") or {}
    body = response.get("body", response) if isinstance(response, dict) else {}
    choice = (body.get("choices") or [{}])[0]
    usage = body.get("usage")
    return BatchItem(
        custom_id=custom_id,
        text=(choice.get("message") or {}).get("content"),
        finish_reason=choice.get("finish_reason"),
        usage={k: v for k, v in usage.items() if isinstance(v, int)} if isinstance(usage, dict) else None,
    )
