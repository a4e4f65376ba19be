"""The batch tools' spend, in one place: a submission's maximum held against the budgets, and a
job's cost shown (and, once it has ended, counted in the usage ledger). See fw_mcp.spend.batch."""

from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import Any

import anyio.to_thread
from mcp.server.mcpserver import Context

from fw_mcp.fireworks.wire.batch import BatchJob
from fw_mcp.settings import Settings
from fw_mcp.spend.batch import (
    Submission,
    estimate_file,
    estimate_lines,
    hold_submission,
    job_tokens,
    settle_job,
)
from fw_mcp.spend.budget import Spend
from fw_mcp.spend.prices import Cost, format_usd, no_price_note
from fw_mcp.stoppable import run_stoppable
from fw_mcp.tools.batch_common import JobView
from fw_mcp.tools.results import CostOut
from fw_mcp.tools.runtime import identity_of, runtime_of

__all__ = [
    "cost_line",
    "hold_file",
    "hold_input_file",
    "hold_requests",
    "job_cost",
    "priced",
    "settle_seen",
    "submission_fields",
]


async def hold_requests(
    ctx: Context[Any, Any], model: str, lines: list[str], max_tokens: int | None
) -> Submission:
    """Hold the maximum cost of a batch's checked `{"custom_id", "body"}` lines, before any upload.

    Raises:
        BudgetExceeded, SpendStoreUnavailable: as `Spend.reserve`; nothing is uploaded then.
    """
    runtime = runtime_of(ctx)
    tokens = estimate_lines(lines, max_tokens, runtime.settings.budget.image_tokens)
    return await hold_submission(runtime.spend, user=identity_of(ctx) or "", model=model, tokens=tokens)


async def hold_input_file(
    ctx: Context[Any, Any], path: Path, model: str, max_tokens: int | None
) -> Submission:
    """For batch_submit `input_path`: hold the maximum cost of a checked JSON Lines file (read a line
    at a time, in a thread), before any upload.

    Raises:
        BudgetExceeded, SpendStoreUnavailable: as `Spend.reserve`; nothing is uploaded then.
    """
    runtime = runtime_of(ctx)
    estimate = partial(estimate_file, path, max_tokens, runtime.settings.budget.image_tokens)
    tokens = await run_stoppable(lambda stop: estimate(stop=stop))
    return await hold_submission(runtime.spend, user=identity_of(ctx) or "", model=model, tokens=tokens)


async def hold_file(spend: Spend, path: Path, model: str, max_tokens: int | None) -> Submission:
    """For `fw-mcp batch submit`: hold the maximum cost of a checked JSON Lines file (read in a thread).

    Raises:
        BudgetExceeded, SpendStoreUnavailable: as `Spend.reserve`; nothing is uploaded then.
    """
    estimate = partial(estimate_file, path, max_tokens, spend.budget.image_tokens)
    tokens = await anyio.to_thread.run_sync(estimate)
    return await hold_submission(spend, user="", model=model, tokens=tokens)


def submission_fields(submission: Submission) -> tuple[dict[str, Any], str]:
    """`estimated_cost` for the structured result, and the sentence (or the no-price note) for its text."""
    if submission.ceiling is None:
        return {}, no_price_note(submission.model)
    most = format_usd(submission.ceiling.nanos)
    return {"estimated_cost": submission.ceiling.as_dict()}, (
        f"Estimated cost: at most ~{most} at batch prices (half of interactive calls'); "
        "what the job really cost is counted when it ends."
    )


async def job_cost(ctx: Context[Any, Any], job: BatchJob) -> tuple[dict[str, Any], str]:
    """`{"cost": ...}` for a job's structured result ({} when unpriced) and its sentence; the job is
    counted in the usage ledger once it has ended."""
    cost = await settle_job(runtime_of(ctx).spend, job)
    if cost is None:
        return {}, no_price_note(job.model)
    return {"cost": cost.as_dict()}, cost_line(job, cost)


def priced(ctx: Context[Any, Any], job: BatchJob, view: JobView) -> JobView:
    """The view with what the job processed so far cost at batch prices (batch_list: nothing is counted)."""
    cost = runtime_of(ctx).spend.prices.cost(job.model, job_tokens(job), batch=True)
    return view if cost is None else view.model_copy(update={"cost": CostOut(**cost.as_dict())})


def cost_line(job: BatchJob, cost: Cost) -> str:
    """A job's cost in words: what it processed so far, at batch prices."""
    so_far = "" if job.ended else " so far"
    return f"Cost{so_far}: ~{format_usd(cost.nanos)} (est., at batch prices: half of interactive calls')."


async def settle_seen(settings: Settings, job: BatchJob) -> Cost | None:
    """For `fw-mcp batch status`: the job's cost, counted in the configured store if it has ended."""
    spend = Spend(settings.budget, settings.prices, "lazy")
    try:
        return await settle_job(spend, job)
    finally:
        await spend.aclose()
