"""The `batch_results` tool: a finished job's answers, a page at a time, every request accounted for.

The job's input and output files are fetched from their signed URLs (without the Fireworks key) into
a temporary folder for the call, checked (`batch_output.read_page`), and removed. Each call starts
from the job id alone, so it works from any process.
"""

from __future__ import annotations

import tempfile
from functools import partial
from pathlib import Path
from typing import Annotated, Any

import anyio
from mcp.server.mcpserver import Context
from mcp.types import CallToolResult
from pydantic import BaseModel, Field

from fw_mcp.errors import InvalidArgument
from fw_mcp.fireworks.wire.batch import BatchJob
from fw_mcp.tools.batch_common import BatchCall, JobId
from fw_mcp.tools.batch_cost import job_cost
from fw_mcp.tools.batch_output import BatchItem, Page, read_page
from fw_mcp.tools.job import tool_errors
from fw_mcp.tools.results import cap, content_blocks

__all__ = ["ResultsPage", "batch_results", "fetch_job_files", "require_completed"]


class ResultsPage(BaseModel):
    job_id: str = Field(description="The job's id.")
    total: int = Field(description="Requests in the job: every one has a result or an error.")
    succeeded: int = Field(description="Requests answered.")
    failed: int = Field(description="Requests that failed (their items carry `error`).")
    offset: int = Field(description="Position of the first item of this page, in input order.")
    results: list[BatchItem] = Field(description="This page's items, in the input's order.")
    next_offset: int | None = Field(description="Pass as `offset` for the next page; None on the last page.")


@tool_errors
async def batch_results(
    ctx: Context[Any, Any],
    job_id: JobId,
    offset: Annotated[int, Field(description="First item to return (0-based, input order).", ge=0)] = 0,
    limit: Annotated[
        int | None, Field(description="Items per page. Default: [batch] page_size (50).", ge=1, le=1000)
    ] = None,
) -> Annotated[CallToolResult, ResultsPage]:
    """The answers of a COMPLETED batch job, in the order the requests were submitted, a page at a time.

    Each item: custom_id, text, finish_reason, usage, or error for a request that failed. Every
    request of the job is accounted for exactly once; if Fireworks' files do not add up, this says
    so instead of returning a partial list.
    """
    call = BatchCall.of(ctx)
    size = limit or call.settings.batch.page_size
    async with call.about(job_id):
        job = await call.client.get_job(job_id, call.options)
        require_completed(job)
        await job_cost(ctx, job)  # seen COMPLETED: counted in the usage ledger, once per job
        with tempfile.TemporaryDirectory(prefix="fw-mcp-results-") as folder:
            files = await fetch_job_files(call, job, Path(folder))
            page = await anyio.to_thread.run_sync(
                partial(read_page, files["input"], files.get("results"), files.get("errors"), offset, size)
            )
    return _result(job_id, page, offset, size, call.settings.limits.max_result_chars)


def require_completed(job: BatchJob) -> None:
    if job.short_state == "COMPLETED":
        return
    if job.ended:
        reason = f" ({job.status.message})" if job.status.message else ""
        raise InvalidArgument(
            "job_id", f"job {job.job_id} ended {job.short_state}{reason}: it has no results."
        )
    raise InvalidArgument(
        "job_id",
        f"job {job.job_id} is {job.short_state}; results come once it is COMPLETED "
        "(batch_status with `wait` watches it).",
    )


async def fetch_job_files(call: BatchCall, job: BatchJob, folder: Path) -> dict[str, Path]:
    """The job's input file and its results and error files (when present), on disk."""
    client, options = call.client, call.options
    files: dict[str, Path] = {}
    inputs = await client.download_urls(job.input_dataset_id.rsplit("/", 1)[-1], options)
    outputs = await client.download_urls(job.output_dataset_id.rsplit("/", 1)[-1], options)
    if not inputs:
        raise InvalidArgument("job_id", f"the input dataset of job {job.job_id} has no file any more.")
    files["input"] = folder / "input.jsonl"
    await client.download(next(iter(inputs.values())), files["input"])
    for name, url in outputs.items():
        kind = "errors" if "error" in name.lower() else "results"
        files[kind] = folder / f"{kind}.jsonl"
        await client.download(url, files[kind])
    return files


def _result(job_id: str, page: Page, offset: int, size: int, max_chars: int) -> CallToolResult:
    each = max(1000, max_chars // max(1, len(page.items)))
    items = []
    for item in page.items:
        text, _ = cap(item.text, each) if item.text is not None else (None, False)
        items.append(item.model_copy(update={"text": text}))
    end = offset + len(items)
    payload = ResultsPage(
        job_id=job_id,
        total=page.total,
        succeeded=page.succeeded,
        failed=page.failed,
        offset=offset,
        results=items,
        next_offset=end if end < page.total else None,
    )
    lines = [
        f"[{i.custom_id}] " + (f"ERROR: {i.error}" if i.error is not None else (i.text or "").strip())
        for i in items
    ]
    more = f" Next page: offset={end}." if payload.next_offset is not None else ""
    account = (
        f"[batch job {job_id}: items {offset + 1 if items else offset}-{end} of {page.total:,}; "
        f"{page.succeeded:,} answered, {page.failed:,} failed.{more}]"
    )
    return CallToolResult(
        content=content_blocks(["\n\n".join(lines)], account), structured_content=payload.model_dump()
    )
