"""Batch jobs' spend: what a submission may cost at most, and what a finished job cost, counted once.

Fireworks bills batch inference at half the serverless price. A submission holds its maximum (every
request's prompt estimate, all uncached, plus its max_tokens, at batch prices) against the budgets
before anything is uploaded; the hold lasts `HOLD_SECONDS`, since a job may run until it expires
after 24 h. The first process that sees the job end (batch_status, batch_results, `fw-mcp batch
status`; any process on the same store) counts what Fireworks says the job processed (jobProgress:
input, cached input and output tokens) at batch prices, under the user who submitted it, and drops
the hold. The count is keyed by the job id in the store, so several processes or replicas seeing the
same job end count it once. A job that failed, expired or was cancelled is counted the same way:
whatever it processed (often nothing).
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Awaitable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import anyio

from fw_mcp.fireworks.wire.batch import BatchJob
from fw_mcp.spend.budget import DEFAULT_MAX_TOKENS, Hold, Spend
from fw_mcp.spend.ledger import BatchOwner, StoreError, UsageRecord, scopes_for
from fw_mcp.spend.meter import Request, estimate_prompt_tokens
from fw_mcp.spend.prices import Cost, Tokens
from fw_mcp.stoppable import until_stopped

__all__ = [
    "BATCH_TOOL",
    "HOLD_SECONDS",
    "Submission",
    "estimate_file",
    "estimate_lines",
    "hold_submission",
    "job_tokens",
    "settle_job",
]

logger = logging.getLogger(__name__)
BATCH_TOOL = "batch"  # the tool name batch jobs are counted under in the usage ledger
HOLD_SECONDS = 25 * 3600.0  # a job expires after 24 h; an hour's grace to see it end


def estimate_lines(lines: Iterable[str | bytes], max_tokens: int | None, image_tokens: int) -> Tokens:
    """The most a batch input's `{"custom_id", "body"}` lines can use: prompt and output tokens.

    A line's output is its body's max_tokens, else the job's `max_tokens`, else the API's default.
    Lines are expected to be checked already (valid JSON objects); a line that is not counts nothing.
    """
    prompt = completion = 0
    for line in lines:
        if not line.strip():
            continue
        row = json.loads(line)
        body = row.get("body") if isinstance(row, dict) else None
        if not isinstance(body, dict):
            continue
        given = body.get("messages")
        messages = [m for m in given if isinstance(m, dict)] if isinstance(given, list) else []
        prompt += estimate_prompt_tokens(Request("chat", "", messages, None, body.get("tools")), image_tokens)
        out = body.get("max_tokens") or body.get("max_completion_tokens") or max_tokens
        completion += out if isinstance(out, int) and out > 0 else DEFAULT_MAX_TOKENS
    return Tokens(prompt=prompt, completion=completion)


def estimate_file(
    path: Path, max_tokens: int | None, image_tokens: int, stop: threading.Event | None = None
) -> Tokens:
    """`estimate_lines` over a JSON Lines file, read a line at a time. Blocking: run it in a thread;
    raises fw_mcp.stoppable.Stopped once `stop` is set."""
    with path.open("rb") as lines:
        return estimate_lines(until_stopped(lines, stop), max_tokens, image_tokens)


@dataclass(frozen=True, slots=True)
class Submission:
    """A batch submission's hold and its maximum cost (None: the model has no price)."""

    spend: Spend
    hold: Hold
    model: str
    ceiling: Cost | None

    async def submit(self, pending: Awaitable[BatchJob]) -> BatchJob:
        """Await the upload and job creation; on failure drop the hold, on success note the job's owner."""
        try:
            job = await pending
        except BaseException:
            with anyio.CancelScope(shield=True):
                await self.spend.release(self.hold)
            raise
        store = self.spend.store
        if store is not None:
            owner = BatchOwner(self.hold.user, self.hold.rid, datetime.now(UTC))
            try:
                with anyio.CancelScope(shield=True):
                    await store.note_batch(job.job_id, owner)
            except StoreError as exc:
                logger.warning(
                    "Batch job %s will be counted under the server, not its user: %s", job.job_id, exc
                )
        return job


async def hold_submission(spend: Spend, *, user: str, model: str, tokens: Tokens) -> Submission:
    """Hold a batch's maximum cost for the job's life.

    Raises:
        BudgetExceeded: it could cross a limit, or the model has no price while a limit is set.
        SpendStoreUnavailable: the store failed and `[budget] on_store_error` is "refuse".
    """
    hold = await spend.reserve(
        tool=BATCH_TOOL,
        user=user,
        model=model,
        prompt_tokens=tokens.prompt,
        max_tokens=tokens.completion,
        ttl=HOLD_SECONDS,
        batch=True,
    )
    return Submission(spend, hold, model, spend.prices.cost(model, tokens, batch=True))


def job_tokens(job: BatchJob) -> Tokens:
    progress = job.job_progress
    return Tokens(
        prompt=progress.input_tokens,
        cached=progress.cached_input_token_count,
        completion=progress.output_tokens,
    )


async def settle_job(spend: Spend, job: BatchJob) -> Cost | None:
    """The job's cost so far at batch prices (None: unpriced); once it has ended, counted in the usage
    ledger, once per job id across every process on the store. A store failure is logged (the next
    look at the job tries again), never raised."""
    tokens = job_tokens(job)
    cost = spend.prices.cost(job.model, tokens, batch=True)
    if job.ended and job.job_id not in spend.settled_jobs and spend.store is not None:
        with anyio.CancelScope(shield=True):
            await _count(spend, job, tokens, cost)
    return cost


async def _count(spend: Spend, job: BatchJob, tokens: Tokens, cost: Cost | None) -> None:
    store = spend.store
    assert store is not None
    try:
        owner = await store.batch_owner(job.job_id)
        record = UsageRecord(
            user=owner.user if owner else "",
            tool=BATCH_TOOL,
            model=job.model,
            prompt_tokens=tokens.prompt,
            cached_tokens=tokens.cached,
            completion_tokens=tokens.completion,
            cost_nanos=cost.nanos if cost else 0,
            priced=cost is not None,
        )
        rid = owner.rid if owner else None
        if await store.settle_once("batch:" + job.job_id, rid, record) and owner is not None and rid:
            # The hold sits in the scopes of the submission's day and month, which may be past.
            await store.release(rid, scopes_for(owner.submitted, owner.user))
    except StoreError as exc:
        logger.error(
            "The cost of batch job %s was not recorded (it will be on the next look): %s", job.job_id, exc
        )
        return
    spend.settled_jobs.add(job.job_id)
