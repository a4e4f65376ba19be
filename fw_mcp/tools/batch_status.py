"""The `batch_status` tool: where a batch job stands, optionally waiting for it to end.

While it waits it polls every [batch] poll_interval seconds and sends a progress notification per
poll (percent, requests done of total), so a host shows the job moving.
"""

from __future__ import annotations

from typing import Annotated, Any

import anyio
from mcp.server.mcpserver import Context
from mcp.types import CallToolResult
from pydantic import Field

from fw_mcp.fireworks.wire.batch import BatchJob
from fw_mcp.tools.batch_common import BatchCall, JobId, JobView, job_view
from fw_mcp.tools.batch_cost import job_cost
from fw_mcp.tools.job import tool_errors
from fw_mcp.tools.results import content_blocks

__all__ = ["batch_status", "describe_job"]

_MARGIN = 5.0  # seconds kept from the call's deadline to answer after the last poll


@tool_errors
async def batch_status(
    ctx: Context[Any, Any],
    job_id: JobId,
    wait: Annotated[
        float,
        Field(
            description="Seconds to wait for the job to end, with progress meanwhile (0: answer at once). "
            "Capped by the server's per-call time limit.",
            ge=0,
        ),
    ] = 0,
) -> Annotated[CallToolResult, JobView]:
    """The state and progress of a batch job submitted with batch_submit (by anyone, from anywhere).

    Returns the state (COMPLETED, FAILED, EXPIRED and CANCELLED are final), percent done, requests
    succeeded and failed, tokens, and for a failed, expired or cancelled job the reason. With `wait`,
    keeps watching until the job ends or the wait runs out.
    """
    call = BatchCall.of(ctx)
    until = min(anyio.current_time() + wait, call.deadline - _MARGIN)
    async with call.about(job_id):
        job = await call.client.get_job(job_id, call.options)
        while not job.ended and anyio.current_time() < until:
            await _report(ctx, job)
            await anyio.sleep(max(0.0, min(call.settings.batch.poll_interval, until - anyio.current_time())))
            job = await call.client.get_job(job_id, call.options)
    view = job_view(job)
    cost, cost_text = await job_cost(ctx, job)  # an ended job is counted in the usage ledger, once
    return CallToolResult(
        content=content_blocks([f"{describe_job(view)}\n{cost_text}"], f"[batch job: {view.job_id}]"),
        structured_content=view.model_dump(exclude={"cost"}) | cost,
    )


async def _report(ctx: Context[Any, Any], job: BatchJob) -> None:
    view = job_view(job)
    done = view.succeeded + view.failed
    await ctx.report_progress(view.percent, 100, f"{view.state}: {done:,}/{view.total:,} requests")


def describe_job(view: JobView, results_hint: str = "batch_results") -> str:
    """One paragraph a person or a model can act on; `results_hint` says how to fetch the answers."""
    line = (
        f"Batch job {view.job_id} is {view.state} ({view.percent:g}%): {view.succeeded:,} of {view.total:,} "
        f"requests answered, {view.failed:,} failed; tokens {view.input_tokens:,} in, {view.output_tokens:,} out."
    )
    if view.state == "COMPLETED":
        return f"{line} Fetch the answers with {results_hint}."
    if view.reason:
        return f"{line} Reason: {view.reason}"
    return line + " Ask again later, or pass `wait` to watch it."
