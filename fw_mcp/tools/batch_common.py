"""What the batch_* tools share: the account's batch client per call, job ids, error wording, views.

A batch job lives on Fireworks, not in this process: every tool works from the job id alone, so a
restarted server (or another host) can follow and fetch a job it did not submit.
"""

from __future__ import annotations

import math
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any

import anyio
from mcp.server.mcpserver import Context
from pydantic import BaseModel, Field

from fw_mcp.errors import ConfigError, FireworksHTTPError, InvalidArgument
from fw_mcp.fireworks.batch import BatchClient
from fw_mcp.fireworks.client import CallOptions, FireworksClient
from fw_mcp.fireworks.wire.batch import BatchJob
from fw_mcp.settings import Settings
from fw_mcp.tools.results import CostOut
from fw_mcp.tools.runtime import api_key_of, runtime_of

__all__ = ["JOB_ID_PATTERN", "BatchCall", "JobId", "JobView", "job_view"]

JOB_ID_PATTERN = r"^[a-z0-9][a-z0-9-]{0,62}$"
JobId = Annotated[
    str,
    Field(
        description="The batch job's id, as batch_submit or batch_list returned it (e.g. fw-mcp-batch-1a2b3c4d5e6f).",
        pattern=JOB_ID_PATTERN,
    ),
]


class JobView(BaseModel):
    job_id: str = Field(description="The job's id.")
    state: str = Field(
        description="CREATING, VALIDATING, PENDING, RUNNING, WRITING_RESULTS, COMPLETED, FAILED, EXPIRED or CANCELLED."
    )
    percent: float = Field(description="Share of the requests processed, 0-100.")
    total: int = Field(description="Requests in the job.")
    succeeded: int = Field(description="Requests answered so far.")
    failed: int = Field(description="Requests that failed so far (their errors come with batch_results).")
    input_tokens: int = Field(description="Prompt tokens processed so far.")
    output_tokens: int = Field(description="Tokens written so far.")
    model: str = Field(description="The model the job runs.")
    display_name: str = Field(default="", description="The name given at submission.")
    created: str = Field(default="", description="When the job was created (UTC, RFC 3339).")
    updated: str = Field(default="", description="When the job last changed (UTC, RFC 3339).")
    reason: str | None = Field(default=None, description="Why a job failed, expired or was cancelled.")
    cost: CostOut | None = Field(
        default=None,
        description="What the job processed so far cost, at batch prices (estimated); absent or null "
        "when the model has no configured price.",
    )


def job_view(job: BatchJob) -> JobView:
    progress = job.job_progress
    state = job.short_state
    reason = (job.status.message or job.status.code) if state in ("FAILED", "EXPIRED", "CANCELLED") else None
    return JobView(
        job_id=job.job_id,
        state=state,
        percent=100.0 if state == "COMPLETED" else float(progress.percent),
        total=progress.total_input_requests,
        succeeded=progress.successfully_processed_requests,
        failed=progress.failed_requests,
        input_tokens=progress.input_tokens,
        output_tokens=progress.output_tokens,
        model=job.model,
        display_name=job.display_name,
        created=job.create_time,
        updated=job.update_time,
        reason=reason or None,
    )


class BatchCall:
    """One call's batch client, key and deadline (a tool call's, or a CLI command's)."""

    def __init__(
        self,
        settings: Settings,
        fireworks: FireworksClient,
        api_key: str | None = None,
        *,
        deadline: bool = True,
    ) -> None:
        self.settings = settings
        self.client = BatchClient(fireworks, settings)
        self.deadline = anyio.current_time() + settings.timeouts.total if deadline else math.inf
        self.options = CallOptions(api_key=api_key, deadline=self.deadline if deadline else None)

    @classmethod
    def of(cls, ctx: Context[Any, Any]) -> BatchCall:
        runtime = runtime_of(ctx)
        return cls(runtime.settings, runtime.client, api_key_of(ctx))

    @asynccontextmanager
    async def about(self, job_id: str | None = None) -> AsyncIterator[None]:
        """Turn 404 and 403 on the control plane into messages about the job and the account."""
        account = self.client.account  # a missing account is a ConfigError before any request
        try:
            yield
        except FireworksHTTPError as exc:
            if exc.status_code == 404 and job_id is not None:
                raise InvalidArgument(
                    "job_id",
                    f"there is no batch job {job_id!r} in Fireworks account {account!r}; check the id "
                    "(batch_list shows recent jobs) and FIREWORKS_ACCOUNT_ID.",
                ) from None
            if exc.status_code in (403, 404):
                raise ConfigError(
                    f"Fireworks refused access to account {account!r} (HTTP {exc.status_code}: {exc.message}). "
                    "Check FIREWORKS_ACCOUNT_ID ([fireworks] account_id) and that the API key belongs to it."
                ) from None
            raise
