"""The batch inference control plane: datasets and batch jobs (`/v1/accounts/{account}/...`).

Requests are camelCase `ControlPlaneRequest`s; responses accept camelCase as the API sends it and
keep fields they do not know. Job states are the API's, without the `JOB_STATE_` prefix.
"""

from __future__ import annotations

from pydantic import AliasChoices, ConfigDict, Field
from pydantic.alias_generators import to_camel

from fw_mcp.fireworks.wire.base import ControlPlaneRequest, WireResponse

__all__ = [
    "ENDED_STATES",
    "BatchJob",
    "BatchJobList",
    "BatchJobRequest",
    "ControlPlaneResponse",
    "DatasetCreate",
    "DatasetResource",
    "DatasetSpec",
    "DownloadEndpoint",
    "Empty",
    "InferenceParameters",
    "JobProgress",
    "JobStatus",
    "ModelResource",
]

ENDED_STATES = frozenset({"COMPLETED", "FAILED", "EXPIRED", "CANCELLED"})


class DatasetSpec(ControlPlaneRequest):
    format: str = "CHAT"
    example_count: int | None = Field(default=None, ge=0)


class DatasetCreate(ControlPlaneRequest):
    """`POST /v1/accounts/{a}/datasets`."""

    dataset_id: str
    dataset: DatasetSpec = Field(default_factory=DatasetSpec)


class InferenceParameters(ControlPlaneRequest):
    max_tokens: int | None = Field(default=None, ge=1)
    temperature: float | None = Field(default=None, ge=0, le=2)
    top_p: float | None = Field(default=None, ge=0, le=1)
    n: int | None = Field(default=None, ge=1)
    top_k: int | None = Field(default=None, ge=0)


class BatchJobRequest(ControlPlaneRequest):
    """`POST /v1/accounts/{a}/batchInferenceJobs?batchInferenceJobId=...`."""

    display_name: str | None = None
    model: str
    input_dataset_id: str
    output_dataset_id: str
    inference_parameters: InferenceParameters = Field(default_factory=InferenceParameters)


class ControlPlaneResponse(WireResponse):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True)


class DatasetResource(ControlPlaneResponse):
    name: str
    state: str = ""


class JobProgress(ControlPlaneResponse):
    percent: float = 0
    total_input_requests: int = 0
    successfully_processed_requests: int = 0
    failed_requests: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cached_input_token_count: int = 0


class JobStatus(ControlPlaneResponse):
    code: str = ""
    message: str = ""


class BatchJob(ControlPlaneResponse):
    name: str
    display_name: str = ""
    state: str = ""
    status: JobStatus = Field(default_factory=JobStatus)
    model: str = ""
    input_dataset_id: str = ""
    output_dataset_id: str = ""
    create_time: str = ""
    update_time: str = ""
    job_progress: JobProgress = Field(default_factory=JobProgress)

    @property
    def job_id(self) -> str:
        return self.name.rsplit("/", 1)[-1]

    @property
    def short_state(self) -> str:
        """`JOB_STATE_RUNNING` -> `RUNNING`."""
        return self.state.removeprefix("JOB_STATE_")

    @property
    def ended(self) -> bool:
        return self.short_state in ENDED_STATES


class BatchJobList(ControlPlaneResponse):
    batch_inference_jobs: list[BatchJob] = Field(default_factory=list)
    next_page_token: str = ""


class DownloadEndpoint(ControlPlaneResponse):
    filename_to_signed_urls: dict[str, str] = Field(default_factory=dict)


class ModelResource(ControlPlaneResponse):
    """A model's metadata. Fireworks' docs name the batch flag `batch_inference_supported`; the
    control plane sends proto3 JSON, camelCase (`supportsImageInput`, `contextLength`), so the flag
    comes as `batchInferenceSupported`. Both spellings are read; absent means "not said"."""

    name: str = ""
    batch_inference_supported: bool | None = Field(
        default=None, validation_alias=AliasChoices("batchInferenceSupported", "batch_inference_supported")
    )


class Empty(ControlPlaneResponse):
    """An answer whose content does not matter (DELETE)."""
