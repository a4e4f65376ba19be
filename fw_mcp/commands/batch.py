"""`fw-mcp batch`: hand a JSON Lines file to Fireworks' batch engine, follow the job, fetch every result.

The same checks and steps as the batch_* tools (fw_mcp.tools.batch_*), for a person at a shell: the
file is checked line by line before anything is uploaded, and a job is followed with a progress bar
on a terminal or one plain line per change when piped.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from fw_mcp.commands._common import EXIT_FAILED, EXIT_OK, add_config_flag, command_settings, describe

if TYPE_CHECKING:
    from fw_mcp.fireworks.wire.batch import BatchJob, InferenceParameters
    from fw_mcp.settings import Settings
    from fw_mcp.tools.batch_common import BatchCall
    from fw_mcp.tools.batch_fetch import JobFiles
    from fw_mcp.tools.batch_output import Page

__all__ = ["add_arguments", "run"]

EXAMPLES = """\
  fw-mcp batch submit prompts.jsonl --model deepseek-v3p1 --wait
                                    one {"custom_id", "body": {"messages": [...]}} per line
  fw-mcp batch status JOB_ID --wait     follow a job until it ends
  fw-mcp batch results JOB_ID -o results.jsonl
  fw-mcp batch list                     the account's recent jobs
  fw-mcp batch cancel JOB_ID
"""
_BAR = 30


def add_arguments(parser: argparse.ArgumentParser) -> None:
    describe(
        parser,
        description="Run many chat requests on Fireworks' batch engine at half the interactive price, "
        "results within 24 hours. Needs FIREWORKS_ACCOUNT_ID (or [fireworks] account_id).",
        examples=EXAMPLES,
    )
    add_config_flag(parser)
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    submit = actions.add_parser("submit", help="check a JSON Lines file, upload it and start a job")
    submit.add_argument("file", type=Path, help='JSON Lines: one {"custom_id", "body"} per line')
    submit.add_argument("--model", help="model name, alias or id (default: [models] chat)")
    submit.add_argument("--max-tokens", type=int, help="longest answer per request, in tokens")
    submit.add_argument("--temperature", type=float, help="sampling temperature, 0-2")
    submit.add_argument("--top-p", type=float, help="nucleus sampling mass, 0-1")
    submit.add_argument("--name", help="a display name for the job")
    submit.add_argument("--wait", action="store_true", help="follow the job until it ends")
    status = actions.add_parser("status", help="a job's state and progress")
    status.add_argument("job_id")
    status.add_argument("--wait", action="store_true", help="follow the job until it ends")
    results = actions.add_parser("results", help="write every result of a finished job as JSON Lines")
    results.add_argument("job_id")
    results.add_argument("-o", "--output", type=Path, required=True, help="the file to write")
    actions.add_parser("list", help="the account's recent jobs")
    cancel = actions.add_parser("cancel", help="cancel a job")
    cancel.add_argument("job_id")


def run(args: argparse.Namespace) -> int:
    import anyio

    with command_settings(args) as settings:
        code: int = anyio.run(_run, args, settings)
    return code


async def _run(args: argparse.Namespace, settings: Settings) -> int:
    from fw_mcp.fireworks import FireworksClient, create_http_client
    from fw_mcp.tools.batch_common import BatchCall

    async with create_http_client(settings) as http:
        call = BatchCall(settings, FireworksClient(settings, http), deadline=False)
        action = args.action
        if action == "submit":
            return await _submit(call, args)
        if action == "status":
            return await _status(call, args.job_id, args.wait)
        if action == "results":
            return await _results(call, args.job_id, args.output)
        if action == "list":
            return await _list(call)
        return await _cancel(call, args.job_id)


async def _submit(call: BatchCall, args: argparse.Namespace) -> int:
    from functools import partial

    import anyio

    from fw_mcp.fireworks.wire.batch import InferenceParameters
    from fw_mcp.tools.batch_input import validate_file

    model = call.settings.resolve_model(args.model, "chat")
    batch = call.settings.batch
    check = partial(
        validate_file, args.file, model, batch.max_input_bytes, "file", max_line_bytes=batch.max_line_bytes
    )
    try:
        count = await anyio.to_thread.run_sync(check)
    except OSError as exc:
        from fw_mcp.commands._common import UsageError

        raise UsageError(f"cannot read {args.file}: {exc.strerror or exc}") from None
    params = InferenceParameters(max_tokens=args.max_tokens, temperature=args.temperature, top_p=args.top_p)
    job, estimate = await _submit_held(call, args, count, model, params)
    print(job.job_id)
    print(
        f"fw-mcp: submitted {count:,} requests as batch job {job.job_id} ({job.short_state}). {estimate}",
        file=sys.stderr,
    )
    return await _status(call, job.job_id, wait=True) if args.wait else EXIT_OK


async def _submit_held(
    call: BatchCall, args: argparse.Namespace, count: int, model: str, params: InferenceParameters
) -> tuple[BatchJob, str]:
    """Upload and start the job once its maximum cost is held against the budgets ([budget]); the job
    and its estimated cost in words (or the note that the model has no price)."""
    from fw_mcp.spend.budget import Spend
    from fw_mcp.tools.batch_cost import hold_file, submission_fields
    from fw_mcp.tools.batch_upload import submit_file

    spend = Spend(call.settings.budget, call.settings.prices, "lazy")
    try:
        submission = await hold_file(spend, args.file, model, args.max_tokens)
        job = await submission.submit(submit_file(call, args.file, count, model, params, args.name))
        return job, submission_fields(submission)[1]
    finally:
        await spend.aclose()


async def _status(call: BatchCall, job_id: str, wait: bool) -> int:
    import anyio

    async with call.about(job_id):
        job = await call.client.get_job(job_id, call.options)
        shown = _Progress(sys.stderr) if wait else None
        while wait and not job.ended:
            assert shown is not None
            shown.show(job)
            await anyio.sleep(call.settings.batch.poll_interval)
            job = await call.client.get_job(job_id, call.options)
        if shown is not None:
            shown.done()
    from fw_mcp.tools.batch_common import job_view
    from fw_mcp.tools.batch_status import describe_job

    print(describe_job(job_view(job), f"`fw-mcp batch results {job_id} -o results.jsonl`"))
    await _cost(call, job)
    return EXIT_FAILED if job.ended and job.short_state != "COMPLETED" else EXIT_OK


async def _cost(call: BatchCall, job: BatchJob) -> None:
    """The job's cost (counted in the usage ledger once it has ended, as batch_status counts it)."""
    from fw_mcp.spend.prices import no_price_note
    from fw_mcp.tools.batch_cost import cost_line, settle_seen

    cost = await settle_seen(call.settings, job)
    print(cost_line(job, cost) if cost is not None else no_price_note(job.model))


async def _results(call: BatchCall, job_id: str, output: Path) -> int:
    from fw_mcp.tools.batch_fetch import with_job_files
    from fw_mcp.tools.batch_results import require_completed

    async with call.about(job_id):
        job = await call.client.get_job(job_id, call.options)
        require_completed(job)
        count, page = await with_job_files(call, job, lambda files: _write_results(files, output))
    print(
        f"fw-mcp: wrote {count:,} results to {output}: {page.succeeded:,} answered, {page.failed:,} failed "
        f"(every one of the {page.total:,} requests accounted for).",
        file=sys.stderr,
    )
    return EXIT_OK


def _write_results(files: JobFiles, output: Path) -> tuple[int, Page]:
    """Every result into `output` (via `output.part`, renamed when whole). Blocking."""
    import os

    from fw_mcp.tools.batch_output import read_page, write_items

    page = read_page(files.input, files.results, files.errors, 0, 0)
    part = output.with_name(output.name + ".part")
    count = write_items(files.results, files.errors, part)
    os.replace(part, output)
    return count, page


async def _list(call: BatchCall) -> int:
    from fw_mcp.tools.batch_common import job_view

    async with call.about():
        jobs = await call.client.list_jobs(50, call.options)
    for job in jobs:
        v = job_view(job)
        print(f"{v.job_id}\t{v.state}\t{v.percent:g}%\t{v.total}\t{v.model}\t{v.display_name}".rstrip())
    if not jobs:
        print("fw-mcp: no batch jobs in this account.", file=sys.stderr)
    return EXIT_OK


async def _cancel(call: BatchCall, job_id: str) -> int:
    async with call.about(job_id):
        await call.client.delete_job(job_id, call.options)
    print(f"fw-mcp: asked Fireworks to cancel batch job {job_id}.", file=sys.stderr)
    return EXIT_OK


class _Progress:
    """A bar redrawn in place on a terminal; one line per change of state or percent when piped."""

    def __init__(self, out: TextIO) -> None:
        self._out = out
        self._tty = out.isatty()
        self._last: Any = None

    def show(self, job: BatchJob) -> None:
        p = job.job_progress
        done = p.successfully_processed_requests + p.failed_requests
        key = (job.short_state, int(p.percent))
        if key == self._last:
            return
        self._last = key
        counts = f"{done:,}/{p.total_input_requests:,}"
        if self._tty:
            filled = round(_BAR * p.percent / 100)
            bar = "#" * filled + "-" * (_BAR - filled)
            self._out.write(f"\r[{bar}] {p.percent:5.1f}% {job.short_state:<15} {counts}\x1b[K")
        else:
            self._out.write(f"{job.short_state} {p.percent:g}% {counts}\n")
        self._out.flush()

    def done(self) -> None:
        if self._tty and self._last is not None:
            self._out.write("\n")
            self._out.flush()
