"""The `batch_cancel` and `batch_list` tools: stop a job, and see the account's recent jobs."""

from __future__ import annotations

from typing import Annotated, Any

from mcp.server.mcpserver import Context
from mcp.types import CallToolResult
from pydantic import BaseModel, Field

from fw_mcp.errors import FireworksHTTPError
from fw_mcp.tools.batch_common import BatchCall, JobId, JobView, job_view
from fw_mcp.tools.batch_cost import job_cost, priced
from fw_mcp.tools.job import tool_errors
from fw_mcp.tools.results import MODEL_PREFIX, content_blocks

__all__ = ["CancelResult", "JobList", "batch_cancel", "batch_list"]


class CancelResult(BaseModel):
    job_id: str = Field(description="The job's id.")
    state: str = Field(description="CANCELLED, or the final state it had already reached, or DELETED.")


class JobList(BaseModel):
    jobs: list[JobView] = Field(description="The account's jobs, newest first.")


@tool_errors
async def batch_cancel(ctx: Context[Any, Any], job_id: JobId) -> Annotated[CallToolResult, CancelResult]:
    """Cancel a batch job that has not ended; requests already answered are not billed again.

    A job that had already ended is deleted from Fireworks instead (its results go with it).
    """
    call = BatchCall.of(ctx)
    async with call.about(job_id):
        await call.client.delete_job(job_id, call.options)
        try:
            job = await call.client.get_job(job_id, call.options)
            state = job.short_state
            await job_cost(ctx, job)  # ended: what it processed is counted and its hold dropped
        except FireworksHTTPError as exc:
            if exc.status_code != 404:
                raise
            state = "DELETED"
    text = f"Batch job {job_id} is {state}."
    return CallToolResult(
        content=content_blocks([text], f"[batch job: {job_id}]"),
        structured_content=CancelResult(job_id=job_id, state=state).model_dump(),
    )


@tool_errors
async def batch_list(
    ctx: Context[Any, Any],
    limit: Annotated[int, Field(description="How many of the newest jobs to show.", ge=1, le=200)] = 20,
) -> Annotated[CallToolResult, JobList]:
    """The Fireworks account's recent batch jobs, newest first: id, state, percent done, size, model, name.

    Use it to find a job id you no longer have, or to see which jobs are still running.
    """
    call = BatchCall.of(ctx)
    async with call.about():
        jobs = await call.client.list_jobs(limit, call.options)
    views = [priced(ctx, job, job_view(job)) for job in jobs[:limit]]
    lines = [
        f"{v.job_id}  {v.state:<15} {v.percent:>5.1f}%  {v.total:>7,} requests  "
        f"{v.model.removeprefix(MODEL_PREFIX)}  {v.display_name}".rstrip()
        for v in views
    ]
    text = "\n".join(lines) if lines else "No batch jobs in this account."
    return CallToolResult(
        content=content_blocks([text], f"[batch jobs: {len(views)}]"),
        structured_content=JobList(jobs=views).model_dump(),
    )
