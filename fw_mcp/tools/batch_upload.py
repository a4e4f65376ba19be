"""A checked batch input becomes a Fireworks job: the model's batch support, the dataset, the job.

Shared by the `batch_submit` tool and `fw-mcp batch submit`. The model is checked before any upload:
a model without batch support would leave the job PENDING for ever.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import anyio

from fw_mcp.errors import FireworksHTTPError, FwMcpError, InvalidArgument
from fw_mcp.fireworks.batch import new_resource_id
from fw_mcp.fireworks.wire.batch import BatchJob, BatchJobRequest, InferenceParameters
from fw_mcp.tools.batch_common import BatchCall
from fw_mcp.tools.results import MODEL_PREFIX

__all__ = ["check_batch_model", "submit_file"]


async def submit_file(
    call: BatchCall,
    path: Path,
    count: int,
    model: str,
    params: InferenceParameters,
    display_name: str | None,
    before_job: Callable[[], None] | None = None,
) -> BatchJob:
    """Upload a checked input file as a new dataset and start a job on it (`before_job`, when given,
    runs between the upload and the job: it may refuse to start it).

    Raises:
        InvalidArgument: the model does not support batch inference, or is unknown.
        FireworksError: a control-plane call failed.
    """
    await check_batch_model(call, model)
    client, options = call.client, call.options
    account = client.account
    input_id, output_id = new_resource_id("fw-mcp-input"), new_resource_id("fw-mcp-output")
    async with call.about():
        await client.create_dataset(input_id, count, options)
        await client.upload_dataset(input_id, path, options)
        if before_job is not None:
            before_job()
        request = BatchJobRequest(
            display_name=display_name,
            model=model,
            input_dataset_id=f"accounts/{account}/datasets/{input_id}",
            output_dataset_id=f"accounts/{account}/datasets/{output_id}",
            inference_parameters=params,
        )
        return await client.create_job(new_resource_id("fw-mcp-batch"), request, options)


async def check_batch_model(call: BatchCall, model: str) -> None:
    """Refuse a model whose metadata says it has no batch support, naming configured ones that do."""
    try:
        supported = await call.client.model_supports_batch(model, call.options)
    except FireworksHTTPError as exc:
        if exc.status_code == 404:
            raise InvalidArgument("model", f"Fireworks does not know the model {model!r}.") from None
        raise
    if supported is not False:
        return
    others = await _batch_models(call, exclude=model)
    hint = f" Configured models that do: {', '.join(others)}." if others else ""
    raise InvalidArgument(
        "model", f"{model.removeprefix(MODEL_PREFIX)} does not support batch inference on Fireworks.{hint}"
    )


async def _batch_models(call: BatchCall, exclude: str) -> list[str]:
    """The configured models (defaults and aliases) whose metadata says they support batch."""
    settings = call.settings
    names = {*settings.models.defaults.values(), *settings.models.aliases.values()}
    candidates = sorted({settings.resolve_model(n, "chat") for n in names} - {exclude})[:16]
    found: dict[str, bool] = {}

    async def probe(candidate: str) -> None:
        try:
            found[candidate] = await call.client.model_supports_batch(candidate, call.options) is True
        except FwMcpError:
            found[candidate] = False

    async with anyio.create_task_group() as tg:
        for candidate in candidates:
            tg.start_soon(probe, candidate)
    return [c.removeprefix(MODEL_PREFIX) for c in candidates if found.get(c)]
