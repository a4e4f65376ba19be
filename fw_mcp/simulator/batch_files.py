"""The files of a simulated batch job: the input scanned when the job is created, and the results and
error files written when it completes, a line at a time (never a whole file in memory), by the same
generator as chat completions.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from .generate import assemble_message, default_reply, make_usage, plan_reply

if TYPE_CHECKING:
    from .batch_store import Job

__all__ = ["scan_input", "write_results"]


def write_results(job: Job, ok_path: Path, bad_path: Path) -> dict[str, Path]:
    """The results file (one line per successful request) and, if any failed, the error file,
    written a line at a time from the input file."""
    written = {"ok": 0, "bad": 0}
    failing = set(job.failing)
    with job.source.open("rb") as source, ok_path.open("wb") as ok, bad_path.open("wb") as bad:
        for position, request in enumerate(_requests(source)):
            if position in failing:
                error = {"code": 400, "message": "the simulator was scripted to fail this request"}
                bad.write(_line({"custom_id": request.get("custom_id"), "error": error}))
                written["bad"] += 1
                continue
            ok.write(
                _line(
                    {"custom_id": request.get("custom_id"), "response": _answer(job, request, written["ok"])}
                )
            )
            written["ok"] += 1
    files = {"results.jsonl": ok_path}
    if written["bad"]:
        files["error.jsonl"] = bad_path
    else:
        bad_path.unlink()
    return files


def _answer(job: Job, request: dict[str, Any], index: int) -> dict[str, Any]:
    """A chat completion for one request, by the chat generator (padded to `answer_words` if set)."""
    params = job.body.get("inferenceParameters") or {}
    body = {"max_tokens": params.get("maxTokens"), **request.get("body", {}), "model": job.body["model"]}
    body = {k: v for k, v in body.items() if v is not None}
    plan = plan_reply(default_reply(body), body)
    message, usage = assemble_message(plan), plan.usage
    words = job.config["answer_words"]
    if isinstance(words, int) and isinstance(message.get("content"), str):
        extra = max(0, words - len(message["content"].split()))
        message["content"] += "".join(f" word{i % 100}" for i in range(extra))
        usage = make_usage(usage["prompt_tokens"], usage["completion_tokens"] + extra)
    return {
        "id": f"batch-{job.job_id}-{index}",
        "object": "chat.completion",
        "model": job.body["model"],
        "choices": [{"index": 0, "finish_reason": plan.finish_reason, "message": message}],
        "usage": usage,
    }


def _line(row: dict[str, Any]) -> bytes:
    return (json.dumps(row) + "\n").encode()


def _requests(source: IO[bytes]) -> Iterator[dict[str, Any]]:
    """The requests of an input file, one per non-blank line, parsed one at a time."""
    for line in source:
        if line.strip():
            yield json.loads(line)


def scan_input(path: Path, fail_match: str | None) -> tuple[int, list[int]]:
    """The input file's request count and the positions of the requests set to fail; every line is
    checked as Fireworks validates a dataset (a JSON object with a `body` object).

    Raises:
        ValueError: a line is not JSON or has no body object (the message says which).
    """
    total, failing = 0, []
    with path.open("rb") as fh:
        for number, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except ValueError:
                raise ValueError(f"line {number} of the input dataset is not JSON") from None
            if not isinstance(row, dict) or not isinstance(row.get("body"), dict):
                raise ValueError(f"line {number} of the input dataset has no body object")
            if fail_match is not None and fail_match in str(row.get("custom_id", "")):
                failing.append(total)
            total += 1
    return total, failing
