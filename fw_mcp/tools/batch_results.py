"""The `batch_results` tool: a finished job's answers, a page at a time or all written to a file,
every request accounted for.

The job's files are fetched once from their signed URLs (without the Fireworks key), checked, and
kept in a bounded on-disk cache (`batch_fetch`), so every page after the first reads from disk.
Each call starts from the job id alone, so it works from any process. With `output_path`, every
result is written as JSON Lines into the output folder, a chunk at a time, atomically.
"""

from __future__ import annotations

from functools import partial
from typing import Annotated, Any

import anyio
from mcp.server.mcpserver import Context
from mcp.types import CallToolResult
from pydantic import BaseModel, Field

from fw_mcp.errors import InvalidArgument
from fw_mcp.files.output import check_writable, write_atomic
from fw_mcp.fireworks.wire.batch import BatchJob
from fw_mcp.settings import Settings
from fw_mcp.tools.batch_common import BatchCall, JobId
from fw_mcp.tools.batch_cost import job_cost
from fw_mcp.tools.batch_fetch import JobFiles, with_job_files
from fw_mcp.tools.batch_output import BatchItem, Counter, Page, item_lines, read_page
from fw_mcp.tools.job import tool_errors
from fw_mcp.tools.results import cap, content_blocks

__all__ = ["ResultsPage", "batch_results", "require_completed"]

_PREVIEW = 5  # results shown when every one was written to a file

OutputPath = Annotated[
    str | None,
    Field(
        description="Write every result as JSON Lines (one {custom_id, text, finish_reason, usage, error?} per "
        "line: answers, then failed requests) to this file inside the server's output folder (FW_MCP_OUTPUT_DIR; "
        "a relative path starts there), instead of returning pages. Refused when no output folder is set.",
        min_length=1,
        max_length=4096,
    ),
]
Overwrite = Annotated[bool, Field(description="Replace `output_path` if it exists (default: refuse).")]


class ResultsPage(BaseModel):
    job_id: str = Field(description="The job's id.")
    total: int = Field(description="Requests in the job: every one has a result or an error.")
    succeeded: int = Field(description="Requests answered.")
    failed: int = Field(description="Requests that failed (their items carry `error`).")
    offset: int = Field(description="Position of the first item of this page, in input order.")
    results: list[BatchItem] = Field(
        description="This page's items, in the input's order (with output_path: the first few)."
    )
    next_offset: int | None = Field(description="Pass as `offset` for the next page; None on the last page.")
    output_path: str | None = Field(
        default=None, description="The file every result was written to, if asked."
    )
    lines_written: int | None = Field(default=None, description="Lines (results) written to output_path.")


@tool_errors
async def batch_results(
    ctx: Context[Any, Any],
    job_id: JobId,
    offset: Annotated[int, Field(description="First item to return (0-based, input order).", ge=0)] = 0,
    limit: Annotated[
        int | None,
        Field(
            description="Items per page. Default: [batch] page_size (50); with output_path, items shown (5).",
            ge=1,
            le=1000,
        ),
    ] = None,
    output_path: OutputPath = None,
    overwrite: Overwrite = False,
) -> Annotated[CallToolResult, ResultsPage]:
    """The answers of a COMPLETED batch job, in the order the requests were submitted, a page at a time;
    or, with `output_path`, every answer written as JSON Lines to a file in the output folder.

    Each item: custom_id, text, finish_reason, usage, or error for a request that failed. Every
    request of the job is accounted for exactly once; if Fireworks' files do not add up, this says
    so instead of returning a partial list. For large jobs prefer `output_path`: the result then
    says where the file is, how many lines it has, and shows the first few.
    """
    call = BatchCall.of(ctx)
    settings = call.settings
    if output_path is not None:
        if offset:
            raise InvalidArgument(
                "offset",
                "with output_path every result is written; leave out offset (or output_path to page).",
            )
        await anyio.to_thread.run_sync(
            lambda: check_writable(
                settings.output_dir(), output_path, overwrite=overwrite, argument="output_path"
            )
        )
    size = limit or (_PREVIEW if output_path is not None else settings.batch.page_size)
    async with call.about(job_id):
        job = await call.client.get_job(job_id, call.options)
        require_completed(job)
        await job_cost(ctx, job)  # seen COMPLETED: counted in the usage ledger, once per job
        if output_path is None:
            page = await with_job_files(call, job, partial(_page, offset=offset, size=size))
            return _result(job_id, page, offset, size, settings.limits.max_result_chars)
        written, lines, page = await with_job_files(
            call, job, partial(_write_all, settings=settings, ref=output_path, overwrite=overwrite, size=size)
        )
    return _result(job_id, page, 0, size, settings.limits.max_result_chars, (written, lines))


def _page(files: JobFiles, *, offset: int, size: int) -> Page:
    return read_page(files.input, files.results, files.errors, offset, size)


def _write_all(
    files: JobFiles, *, settings: Settings, ref: str, overwrite: bool, size: int
) -> tuple[str, int, Page]:
    """Every result into the output folder (atomically), and the first `size` for the answer."""
    counter = Counter()
    lines = item_lines(files.results, files.errors, counter)
    written = write_atomic(settings.output_dir(), ref, lines, overwrite=overwrite, argument="output_path")
    return written, counter.lines, _page(files, offset=0, size=size)


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


def _result(
    job_id: str, page: Page, offset: int, size: int, max_chars: int, written: tuple[str, int] | None = None
) -> CallToolResult:
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
        next_offset=end if end < page.total and written is None else None,
        output_path=written[0] if written else None,
        lines_written=written[1] if written else None,
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
    if written is not None:
        account = (
            f"[batch job {job_id}: wrote all {written[1]:,} results to {written[0]} as JSON Lines "
            f"({page.succeeded:,} answered, {page.failed:,} failed; every one of the {page.total:,} requests "
            f"accounted for). The first {len(items)} are shown above.]"
        )
    return CallToolResult(
        content=content_blocks(["\n\n".join(lines)], account), structured_content=payload.model_dump()
    )
