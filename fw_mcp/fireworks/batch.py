"""Batch inference on the control plane: datasets, jobs, and results fetched from signed URLs.

Every control-plane call goes through the client's retrying core (key, retries, deadline, error
mapping). Downloads are different: the URLs `getDownloadEndpoint` returns are signed and point at
a storage host, so they are fetched WITHOUT the Fireworks key, streamed to disk, and resumed with
`Range` where a dropped connection stopped.
"""

from __future__ import annotations

import os
import re
import secrets
from pathlib import Path

import anyio
import httpx2

from fw_mcp.errors import ConfigError, FireworksError
from fw_mcp.fireworks.client import DEFAULT_OPTIONS, CallOptions, FireworksClient
from fw_mcp.fireworks.retry import backoff_delay
from fw_mcp.fireworks.wire.batch import (
    BatchJob,
    BatchJobList,
    BatchJobRequest,
    DatasetCreate,
    DatasetResource,
    DatasetSpec,
    DownloadEndpoint,
    Empty,
    ModelResource,
)
from fw_mcp.settings import ENV_ACCOUNT_ID, Settings

__all__ = ["BatchClient", "DownloadFailed", "check_resource_id", "new_resource_id"]

RESOURCE_ID = re.compile(r"[a-z0-9][a-z0-9-]{0,62}")


def new_resource_id(prefix: str) -> str:
    """`<prefix>-<12 hex>`: lowercase letters, digits and hyphens, at most 63 characters."""
    return check_resource_id(f"{prefix[:40].lower()}-{secrets.token_hex(6)}")


def check_resource_id(value: str) -> str:
    """`value` if it is a usable dataset or job id.

    Raises:
        ValueError: it is not 1-63 lowercase letters, digits or hyphens starting with a letter or digit.
    """
    if not RESOURCE_ID.fullmatch(value):
        raise ValueError(f"{value!r} is not an id of 1-63 lowercase letters, digits and hyphens")
    return value


class DownloadFailed(FireworksError):
    """A results file could not be fetched from its signed URL (the URL itself is never shown)."""

    def __init__(self, host: str, what: str) -> None:
        self.host = host
        self.what = what
        super().__init__(what)

    def __str__(self) -> str:
        tries = f" after {self.attempts} attempts" if self.attempts > 1 else ""
        return (
            f"Downloading batch results from {self.host} failed{tries}: {self.what}. The job's results stay "
            "on Fireworks: ask for them again."
        )


class BatchClient:
    """Control-plane methods over a `FireworksClient`, for one account."""

    def __init__(self, client: FireworksClient, settings: Settings) -> None:
        self._client = client
        self._settings = settings

    @property
    def account(self) -> str:
        """The account id, or a ConfigError saying where to set it."""
        account = self._settings.fireworks.account_id.strip()
        if not account:
            raise ConfigError(
                f"Batch inference needs your Fireworks account id: set {ENV_ACCOUNT_ID} (or [fireworks] "
                "account_id in the config). It is the `accounts/<id>` part shown on fireworks.ai/account."
            )
        return account

    @property
    def control_root(self) -> str:
        """The control plane's URL up to `/v1/` (what identifies where jobs live)."""
        return self._client.control_plane_url("")

    def _path(self, *parts: str) -> str:
        return "/".join(("accounts", self.account, *parts))

    async def model_supports_batch(self, model: str, options: CallOptions = DEFAULT_OPTIONS) -> bool | None:
        """The model's `batch_inference_supported` flag (None when its metadata does not say)."""
        path = model.split("#", 1)[0]
        found = await self._client.control_plane("GET", path, ModelResource, options=options)
        return found.batch_inference_supported

    async def create_dataset(
        self, dataset_id: str, example_count: int, options: CallOptions = DEFAULT_OPTIONS
    ) -> DatasetResource:
        body = DatasetCreate(dataset_id=dataset_id, dataset=DatasetSpec(example_count=example_count))
        return await self._client.control_plane(
            "POST", self._path("datasets"), DatasetResource, body, options=options
        )

    async def upload_dataset(
        self, dataset_id: str, file: Path, options: CallOptions = DEFAULT_OPTIONS
    ) -> DatasetResource:
        """Upload `file` (streamed from disk) as the dataset's content."""
        path = self._path("datasets", f"{dataset_id}:upload")
        return await self._client.upload(path, file, DatasetResource, options=options)

    async def create_job(
        self, job_id: str, request: BatchJobRequest, options: CallOptions = DEFAULT_OPTIONS
    ) -> BatchJob:
        return await self._client.control_plane(
            "POST",
            self._path("batchInferenceJobs"),
            BatchJob,
            request,
            params={"batchInferenceJobId": job_id},
            options=options,
        )

    async def get_job(self, job_id: str, options: CallOptions = DEFAULT_OPTIONS) -> BatchJob:
        return await self._client.control_plane(
            "GET", self._path("batchInferenceJobs", job_id), BatchJob, options=options
        )

    async def list_jobs(self, page_size: int = 50, options: CallOptions = DEFAULT_OPTIONS) -> list[BatchJob]:
        """The account's most recent jobs (one page)."""
        listing = await self._client.control_plane(
            "GET",
            self._path("batchInferenceJobs"),
            BatchJobList,
            params={"pageSize": str(page_size)},
            options=options,
        )
        return listing.batch_inference_jobs

    async def delete_job(self, job_id: str, options: CallOptions = DEFAULT_OPTIONS) -> None:
        """Cancel a job that has not ended (Fireworks deletes an ended one)."""
        await self._client.control_plane(
            "DELETE", self._path("batchInferenceJobs", job_id), Empty, options=options
        )

    async def download_urls(self, dataset_id: str, options: CallOptions = DEFAULT_OPTIONS) -> dict[str, str]:
        """File name -> signed URL, for the files of a (results) dataset."""
        path = self._path("datasets", f"{dataset_id}:getDownloadEndpoint")
        found = await self._client.control_plane("GET", path, DownloadEndpoint, options=options)
        return found.filename_to_signed_urls

    async def download(self, url: str, dest: Path) -> int:
        """Stream a signed URL to `dest` (via `dest.part`, renamed when whole) and return its size.

        No Fireworks key is sent. A dropped connection resumes from the bytes already written
        (`Range: bytes=N-`), up to `[batch] download_attempts` attempts in all.

        Raises:
            DownloadFailed: the storage host refused, or the attempts ran out.
            OSError: `dest` cannot be written.
        """
        host = httpx2.URL(url).host
        part = dest.with_name(dest.name + ".part")
        await anyio.Path(part).write_bytes(b"")
        attempts = self._settings.batch.download_attempts
        for attempt in range(attempts):
            written = (await anyio.Path(part).stat()).st_size  # what earlier attempts got
            try:
                written = await self._fetch_into(url, part, written, host)
            except httpx2.TransportError as exc:
                if attempt + 1 == attempts:
                    raise DownloadFailed(host, f"{type(exc).__name__}: {exc}").with_attempts(
                        attempts
                    ) from None
                await anyio.sleep(backoff_delay(attempt, self._settings.retries))
                continue
            await anyio.to_thread.run_sync(os.replace, part, dest)
            return written
        raise AssertionError("unreachable")  # pragma: no cover

    async def _fetch_into(self, url: str, part: Path, written: int, host: str) -> int:
        """Append what the URL serves from byte `written` to `part`; the new total."""
        headers = {"accept": "*/*"}
        if written:
            headers["range"] = f"bytes={written}-"
        async with self._client.http.stream("GET", url, headers=headers) as response:
            if response.status_code == 200 and written:
                written = 0  # the host ignored Range: start again from the beginning
                await anyio.Path(part).write_bytes(b"")
            elif response.status_code not in (200, 206):
                await response.aread()
                raise DownloadFailed(host, f"the storage host answered HTTP {response.status_code}")
            async with await anyio.open_file(part, "ab") as fh:
                async for chunk in response.aiter_bytes():  # as received: a drop loses nothing read
                    await fh.write(chunk)
                    written += len(chunk)
        return written
