"""A finished job's files on disk: its input, results and error files, checked, then kept.

The files come from their signed URLs (without the Fireworks key) and are checked once (every input
custom_id exactly once across results and errors); a checked set is kept in a bounded on-disk cache
([batch] cache_dir, cache_bytes), keyed by the job and its datasets, so paging through a large job
downloads it once, in this process or in the next one. A job's files do not change once it is
COMPLETED, and every call still reads the job first (with the caller's key) before it is served
from the cache.
"""

from __future__ import annotations

import hashlib
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import TypeVar

import anyio

from fw_mcp.errors import InvalidArgument
from fw_mcp.files.disk_cache import DiskCache, user_cache_dir
from fw_mcp.fireworks.wire.batch import BatchJob
from fw_mcp.tools.batch_common import BatchCall
from fw_mcp.tools.batch_output import read_page

__all__ = ["JobFiles", "fetch_job_files", "results_cache", "with_job_files"]

T = TypeVar("T")


@dataclass(frozen=True)
class JobFiles:
    """Where a job's files are: the input, and the results and error files when there are any."""

    input: Path
    results: Path | None
    errors: Path | None

    @classmethod
    def within(cls, folder: Path) -> JobFiles:
        def found(name: str) -> Path | None:
            path = folder / name
            return path if path.exists() else None

        return cls(folder / "input.jsonl", found("results.jsonl"), found("errors.jsonl"))


def results_cache(call: BatchCall) -> DiskCache | None:
    """The cache of checked job files, or None when [batch] cache_bytes is 0."""
    batch = call.settings.batch
    if batch.cache_bytes <= 0:
        return None
    root = (
        Path(batch.cache_dir).expanduser() if batch.cache_dir.strip() else user_cache_dir("fw-mcp") / "batch"
    )
    return DiskCache(root, batch.cache_bytes)


async def with_job_files(call: BatchCall, job: BatchJob, read: Callable[[JobFiles], T]) -> T:
    """Run `read` (blocking: in a worker thread) on the job's checked files, from the cache or
    downloaded (and then cached).

    Raises:
        IncompleteResults: the downloaded files do not account for every request exactly once.
        InvalidArgument: the job's input dataset has no file any more.
        FireworksError: a control-plane call or a download failed.
    """
    cache = results_cache(call)
    key = _key(call, job)
    if cache is not None and (entry := await anyio.to_thread.run_sync(cache.lookup, key)) is not None:
        try:
            return await anyio.to_thread.run_sync(read, JobFiles.within(entry))
        except FileNotFoundError:
            pass  # evicted by another process between the lookup and the read: fetch it again
    folder = await anyio.to_thread.run_sync(_staging, cache)
    try:
        files = await fetch_job_files(call, job, folder)
        await anyio.to_thread.run_sync(partial(read_page, files.input, files.results, files.errors, 0, 0))
        placed = await anyio.to_thread.run_sync(cache.commit, folder, key) if cache is not None else None
        return await anyio.to_thread.run_sync(read, JobFiles.within(placed or folder))
    finally:
        with anyio.CancelScope(shield=True):
            await anyio.to_thread.run_sync(partial(shutil.rmtree, folder, ignore_errors=True))


async def fetch_job_files(call: BatchCall, job: BatchJob, folder: Path) -> JobFiles:
    """Download the job's input file and its results and error files (when present) into `folder`."""
    client, options = call.client, call.options
    inputs = await client.download_urls(job.input_dataset_id.rsplit("/", 1)[-1], options)
    outputs = await client.download_urls(job.output_dataset_id.rsplit("/", 1)[-1], options)
    if not inputs:
        raise InvalidArgument("job_id", f"the input dataset of job {job.job_id} has no file any more.")
    await client.download(next(iter(inputs.values())), folder / "input.jsonl")
    for name, url in outputs.items():
        kind = "errors" if "error" in name.lower() else "results"
        await client.download(url, folder / f"{kind}.jsonl")
    return JobFiles.within(folder)


def _staging(cache: DiskCache | None) -> Path:
    """A folder to download into: in the cache (for the rename into place), else a temporary one."""
    if cache is not None:
        try:
            return cache.staging()
        except OSError:
            pass  # no usable cache folder: work without one
    return Path(tempfile.mkdtemp(prefix="fw-mcp-results-"))


def _key(call: BatchCall, job: BatchJob) -> str:
    """The job's identity: where it lives, its id and creation time, and both datasets."""
    parts = (
        call.client.control_root,
        call.client.account,
        job.job_id,
        job.create_time,
        job.input_dataset_id,
        job.output_dataset_id,
    )
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()[:40]
