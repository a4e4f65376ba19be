"""The `batch_submit` tool: hand chat requests to Fireworks' batch engine, listed in the call (up to
[batch] max_requests) or as a JSON Lines file inside the allowed folders (`input_path`).

Every request is checked here first (as `chat` checks its arguments; a file line by line, in a
worker thread); only then is the input uploaded (streamed from disk) as a dataset, and the job
created. The model's batch support is checked before any upload: a model without it would leave
the job PENDING for ever.
"""

from __future__ import annotations

import json
import tempfile
from functools import partial
from pathlib import Path
from typing import Annotated, Any

import anyio
from mcp.server.mcpserver import Context
from mcp.types import CallToolResult
from pydantic import BaseModel, ConfigDict, Field

from fw_mcp.errors import InvalidArgument
from fw_mcp.fireworks.wire import ChatRequest
from fw_mcp.fireworks.wire.batch import BatchJob, InferenceParameters
from fw_mcp.spend.batch import Submission
from fw_mcp.stoppable import run_stoppable
from fw_mcp.tools.arguments import (
    MaxTokens,
    Messages,
    Model,
    Prompt,
    Stop,
    System,
    Temperature,
    TopK,
    TopP,
    build_messages,
    check_input_size,
    stop_list,
)
from fw_mcp.tools.batch_common import BatchCall
from fw_mcp.tools.batch_cost import hold_input_file, hold_requests, submission_fields
from fw_mcp.tools.batch_input import Problems, check_custom_id, check_input_path
from fw_mcp.tools.batch_upload import submit_file
from fw_mcp.tools.job import tool_errors
from fw_mcp.tools.portable import PORTABLE
from fw_mcp.tools.results import MODEL_PREFIX, CostOut, content_blocks

__all__ = ["BatchRequest", "SubmitResult", "batch_submit"]


class BatchRequest(BaseModel):
    """One chat request of the batch."""

    model_config = ConfigDict(extra="forbid")
    custom_id: Annotated[
        str | None,
        Field(
            description="Your id for this request; its result carries it. Default: request-1, request-2, ...",
            min_length=1,
            max_length=256,
        ),
    ] = None
    prompt: Prompt = None
    messages: Messages = None
    system: System = None
    max_tokens: MaxTokens = None
    temperature: Temperature = None
    top_p: TopP = None
    top_k: TopK = None
    stop: Stop = None


class SubmitResult(BaseModel):
    job_id: str = Field(description="The job's id: pass it to batch_status, batch_results and batch_cancel.")
    state: str = Field(description="The job's state right after creation (usually CREATING or VALIDATING).")
    requests: int = Field(description="How many requests the job holds.")
    model: str = Field(description="The model the job runs.")
    display_name: str = Field(default="", description="The job's name, as given.")
    estimated_cost: CostOut | None = Field(
        default=None,
        description="The most the job can cost, at batch prices; absent when the model has no price.",
    )


@tool_errors
async def batch_submit(
    ctx: Context[Any, Any],
    requests: Annotated[
        list[BatchRequest] | None,
        Field(
            description="The chat requests, each with `prompt` or `messages` (like `chat`). Give this or `input_path`.",
            min_length=1,
        ),
        PORTABLE,
    ] = None,
    input_path: Annotated[
        str | None,
        Field(
            description='A JSON Lines file inside the allowed folders, one {"custom_id": ..., "body": {"messages": '
            "[...], ...}} per line (Fireworks' batch format, up to 1 GB). Give this or `requests`.",
            min_length=1,
        ),
    ] = None,
    model: Model = None,
    max_tokens: Annotated[
        int | None, Field(description="Default longest answer, in tokens, for requests that set none.", ge=1)
    ] = None,
    temperature: Annotated[
        float | None, Field(description="Default sampling temperature, 0-2, for every request.", ge=0, le=2)
    ] = None,
    top_p: Annotated[
        float | None, Field(description="Default nucleus sampling mass, 0-1.", ge=0, le=1)
    ] = None,
    display_name: Annotated[
        str | None, Field(description="A name for the job, shown by batch_list.", max_length=200)
    ] = None,
) -> Annotated[CallToolResult, SubmitResult]:
    """Run many chat requests on Fireworks' batch engine, at half the price of `chat`, results within 24 h.

    Use it for work that does not need answers now: labelling or summarising hundreds of items,
    running an evaluation set. Give `requests` (up to 1,000) or `input_path` (a JSON Lines file, any
    size up to 1 GB). Every request is checked before anything is sent; a bad one stops the whole
    submission with its position (or line number) and the problem. Returns the job id: follow the job
    with batch_status (it can wait), then fetch every answer with batch_results.
    """
    call = BatchCall.of(ctx)
    settings = call.settings
    if (requests is None) == (input_path is None):
        raise InvalidArgument(
            "requests",
            "give exactly one of `requests` (a list of chat requests) and `input_path` (a JSON Lines file "
            f"inside the allowed folders), {'not both' if requests else 'none was given'}.",
        )
    resolved = settings.resolve_model(model, "chat")
    params = InferenceParameters(max_tokens=max_tokens, temperature=temperature, top_p=top_p)
    if input_path is not None:
        job, count, submission = await _submit_path(ctx, call, input_path, resolved, params, display_name)
    else:
        assert requests is not None
        job, count, submission = await _submit_requests(ctx, call, requests, resolved, params, display_name)
    estimate, estimate_text = submission_fields(submission)
    payload = (
        SubmitResult(
            job_id=job.job_id,
            state=job.short_state,
            requests=count,
            model=resolved,
            display_name=display_name or "",
        ).model_dump(exclude={"estimated_cost"})
        | estimate
    )
    text = (
        f"Submitted batch job {job.job_id}: {count:,} requests to {resolved.removeprefix(MODEL_PREFIX)}, "
        f"state {job.short_state}. Follow it with batch_status (job_id={job.job_id!r}, wait up to the call's "
        f"time limit); fetch answers with batch_results once it is COMPLETED.\n{estimate_text}"
    )
    return CallToolResult(
        content=content_blocks([text], f"[batch job: {job.job_id}]"), structured_content=payload
    )


async def _submit_requests(
    ctx: Context[Any, Any],
    call: BatchCall,
    requests: list[BatchRequest],
    model: str,
    params: InferenceParameters,
    display_name: str | None,
) -> tuple[BatchJob, int, Submission]:
    """Check the listed requests, hold their maximum cost, write them as JSON Lines to a temporary
    file, and submit that."""
    limit = call.settings.batch.max_requests
    if len(requests) > limit:
        raise InvalidArgument(
            "requests",
            f"{len(requests):,} requests were given, more than the {limit:,} one call takes "
            "([batch] max_requests); write them to a JSON Lines file and pass `input_path` instead.",
        )
    lines = _lines(requests, model, call.settings.limits.max_input_chars)
    submission = await hold_requests(ctx, model, lines, params.max_tokens)  # over budget: nothing is uploaded
    with tempfile.TemporaryDirectory(prefix="fw-mcp-batch-") as folder:
        path = Path(folder) / "input.jsonl"
        await anyio.Path(path).write_text("".join(line + "\n" for line in lines), encoding="utf-8")
        job = await submission.submit(submit_file(call, path, len(lines), model, params, display_name))
    return job, len(lines), submission


async def _submit_path(
    ctx: Context[Any, Any],
    call: BatchCall,
    ref: str,
    model: str,
    params: InferenceParameters,
    display_name: str | None,
) -> tuple[BatchJob, int, Submission]:
    """Check every line of a local file (in a worker thread), hold its maximum cost, upload it from
    disk, and start the job only if the file uploaded is still the one checked."""
    settings = call.settings
    check = partial(check_input_path, ref, settings.allowed_dirs(), model, settings.batch)
    checked = await run_stoppable(lambda stop: check(stop=stop))  # a cancelled call stops reading

    def unchanged() -> None:
        if not checked.unchanged():
            raise InvalidArgument(
                "input_path",
                f"{ref!r} changed while it was checked or uploaded; no job was started. Try again.",
            )

    try:
        submission = await hold_input_file(ctx, checked.path, model, params.max_tokens)
        pending = submit_file(call, checked.path, checked.count, model, params, display_name, unchanged)
        job = await submission.submit(pending)
    except OSError as exc:
        raise InvalidArgument("input_path", f"{ref!r} cannot be read ({exc.strerror or exc}).") from None
    return job, checked.count, submission


def _lines(requests: list[BatchRequest], model: str, max_chars: int) -> list[str]:
    """Each request as a `{"custom_id", "body"}` line; every problem listed before anything is sent."""
    problems, seen = Problems(), set[str]()
    given = {r.custom_id for r in requests if r.custom_id is not None}
    lines: list[str] = []
    generated = 0
    for i, item in enumerate(requests):
        custom_id = item.custom_id
        if custom_id is None:
            generated += 1
            while f"request-{generated}" in given:
                generated += 1
            custom_id = f"request-{generated}"
        if (wrong := check_custom_id(custom_id, seen)) is not None:
            problems.add(f"requests[{i}]", wrong)
            continue
        try:
            body = _body(item, model, max_chars)
        except InvalidArgument as exc:
            problems.add(f"requests[{i}].{exc.argument}", exc.problem)
            continue
        lines.append(json.dumps({"custom_id": custom_id, "body": body}, ensure_ascii=False))
    problems.raise_if_any("requests")
    return lines


def _body(item: BatchRequest, model: str, max_chars: int) -> dict[str, Any]:
    turns = build_messages(item.prompt, item.messages, item.system)
    check_input_size(max_chars, {"prompt": item.prompt, "messages": item.messages, "system": item.system})
    request = ChatRequest(
        model=model,
        messages=turns,
        max_tokens=item.max_tokens,
        temperature=item.temperature,
        top_p=item.top_p,
        top_k=item.top_k,
        stop=stop_list(item.stop),
    )
    body = request.wire()
    del body["model"]  # the job's model applies to every line
    return body
