"""The batch control-plane client against the simulator: account and URL settings, the whole
dataset -> job -> results path, and downloads that never carry the key and resume after a drop."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
import pytest

from fw_mcp.errors import ConfigError, FireworksHTTPError
from fw_mcp.fireworks import FireworksClient, create_http_client
from fw_mcp.fireworks.batch import BatchClient, DownloadFailed, check_resource_id, new_resource_id
from fw_mcp.fireworks.wire.batch import BatchJob, BatchJobRequest, InferenceParameters, ModelResource
from fw_mcp.settings import Settings, load_settings
from fw_mcp.simulator import SimulatorServer
from tests.batch.conftest import ACCOUNT
from tests.conftest import make_settings

MODEL = "accounts/fireworks/models/deepseek-v3p1"


@asynccontextmanager
async def batch_client(settings: Settings) -> AsyncIterator[BatchClient]:
    async with create_http_client(settings) as http:
        yield BatchClient(FireworksClient(settings, http), settings)


def sim_settings(sim: SimulatorServer, **fireworks: Any) -> Settings:
    return make_settings(sim.base_url, fireworks={"account_id": ACCOUNT, **fireworks})


def write_input(path: Path, n: int) -> Path:
    rows = (
        {"custom_id": f"r{i}", "body": {"messages": [{"role": "user", "content": f"item {i}"}]}}
        for i in range(n)
    )
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    return path


async def run_job(batch: BatchClient, source: Path, n: int, job_id: str = "job-x") -> BatchJob:
    await batch.create_dataset("in-x", n)
    uploaded = await batch.upload_dataset("in-x", source)
    assert uploaded.state == "READY"
    request = BatchJobRequest(
        model=MODEL,
        input_dataset_id=f"accounts/{ACCOUNT}/datasets/in-x",
        output_dataset_id=f"accounts/{ACCOUNT}/datasets/out-x",
        inference_parameters=InferenceParameters(max_tokens=64),
    )
    job = await batch.create_job(job_id, request)
    with anyio.fail_after(10):
        while not job.ended:
            await anyio.sleep(0.01)
            job = await batch.get_job(job_id)
    return job


def test_the_account_comes_from_the_env_or_the_config_and_its_absence_is_explained(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    settings = load_settings()
    missing = BatchClient(FireworksClient(settings, lambda: create_http_client(settings)), settings)
    with pytest.raises(ConfigError, match="FIREWORKS_ACCOUNT_ID"):
        _ = missing.account
    monkeypatch.setenv("FIREWORKS_ACCOUNT_ID", "from-env")
    assert load_settings().fireworks.account_id == "from-env"


async def test_submit_poll_and_download_a_job_without_sending_the_key(
    batch_sim: SimulatorServer, tmp_path: Path
) -> None:
    source = write_input(tmp_path / "in.jsonl", 300)
    async with batch_client(sim_settings(batch_sim)) as batch:
        job = await run_job(batch, source, 300)
        urls = await batch.download_urls("out-x")
        size = await batch.download(urls["results.jsonl"], tmp_path / "results.jsonl")
    assert job.short_state == "COMPLETED" and job.job_progress.successfully_processed_requests == 300
    assert job.job_id == "job-x"
    lines = (tmp_path / "results.jsonl").read_text(encoding="utf-8").splitlines()
    assert size == (tmp_path / "results.jsonl").stat().st_size
    assert sorted(json.loads(line)["custom_id"] for line in lines) == sorted(f"r{i}" for i in range(300))
    assert not (tmp_path / "results.jsonl.part").exists()
    uploaded = batch_sim.app.batch.datasets[(ACCOUNT, "in-x")].files["in.jsonl"]
    assert uploaded.read_bytes() == source.read_bytes()
    assert batch_sim.app.batch.jobs[(ACCOUNT, "job-x")].body["inferenceParameters"] == {"maxTokens": 64}
    assert batch_sim.app.batch.downloads == [{"authorization": False, "range": None}]


async def test_a_dropped_download_resumes_where_it_stopped(
    batch_sim: SimulatorServer, tmp_path: Path
) -> None:
    async with batch_client(sim_settings(batch_sim)) as batch:
        await run_job(batch, write_input(tmp_path / "in.jsonl", 100), 100)
        url = (await batch.download_urls("out-x"))["results.jsonl"]
        whole = tmp_path / "whole.jsonl"
        await batch.download(url, whole)
        batch_sim.app.batch.configure(drop_download_after=5000)
        await batch.download(url, tmp_path / "resumed.jsonl")
    assert (tmp_path / "resumed.jsonl").read_bytes() == whole.read_bytes()
    ranges = [d["range"] for d in batch_sim.app.batch.downloads]
    assert ranges == [None, None, "bytes=5000-"]
    assert not any(d["authorization"] for d in batch_sim.app.batch.downloads)


async def test_a_refused_download_is_an_error_that_does_not_show_the_signed_url(
    batch_sim: SimulatorServer, tmp_path: Path
) -> None:
    async with batch_client(sim_settings(batch_sim)) as batch:
        with pytest.raises(DownloadFailed) as caught:
            await batch.download(
                f"{batch_sim.root_url}/signed/secret-token/results.jsonl", tmp_path / "r.jsonl"
            )
    assert "HTTP 404" in str(caught.value) and "secret-token" not in str(caught.value)
    assert not (tmp_path / "r.jsonl").exists()


async def test_control_base_url_overrides_the_host_of_the_base_url(batch_sim: SimulatorServer) -> None:
    settings = make_settings(
        "http://127.0.0.1:9/inference/v1",  # nothing listens there: only the override can answer
        fireworks={"account_id": ACCOUNT, "control_base_url": batch_sim.root_url},
    )
    async with batch_client(settings) as batch:
        assert await batch.list_jobs() == []


@pytest.mark.parametrize(
    ("sent", "read"),
    [
        ({"batchInferenceSupported": False}, False),  # proto3 JSON, as the control plane sends fields
        ({"batch_inference_supported": True}, True),  # the spelling of Fireworks' docs
        ({"name": "accounts/fireworks/models/x"}, None),  # not said: not refused
    ],
)
def test_the_batch_flag_is_read_in_either_spelling(sent: dict[str, object], read: bool | None) -> None:
    assert ModelResource.model_validate(sent).batch_inference_supported is read


async def test_model_metadata_says_whether_batch_is_supported(batch_sim: SimulatorServer) -> None:
    batch_sim.app.batch.configure(no_batch_models=["glm-4p6"])
    async with batch_client(sim_settings(batch_sim)) as batch:
        assert await batch.model_supports_batch(MODEL) is True
        assert await batch.model_supports_batch("accounts/fireworks/models/glm-4p6") is False


async def test_an_unknown_job_and_a_forbidden_account_are_http_errors(batch_sim: SimulatorServer) -> None:
    async with batch_client(sim_settings(batch_sim)) as batch:
        with pytest.raises(FireworksHTTPError) as unknown:
            await batch.get_job("no-such-job")
        batch_sim.app.batch.configure(accounts=["someone-else"])
        with pytest.raises(FireworksHTTPError) as forbidden:
            await batch.list_jobs()
    assert unknown.value.status_code == 404 and "no-such-job" in str(unknown.value)
    assert forbidden.value.status_code == 403


async def test_delete_cancels_a_running_job(batch_sim: SimulatorServer, tmp_path: Path) -> None:
    batch_sim.app.batch.configure(step_seconds=5)
    async with batch_client(sim_settings(batch_sim)) as batch:
        await batch.create_dataset("in-x", 1)
        await batch.upload_dataset("in-x", write_input(tmp_path / "in.jsonl", 1))
        request = BatchJobRequest(model=MODEL, input_dataset_id="in-x", output_dataset_id="out-x")
        await batch.create_job("job-c", request)
        await batch.delete_job("job-c")
        job = await batch.get_job("job-c")
    assert job.short_state == "CANCELLED" and job.ended


def test_generated_ids_are_lowercase_letters_digits_and_hyphens_of_at_most_63() -> None:
    made = {new_resource_id("fw-mcp-batch-" + "X" * 80) for _ in range(50)}
    assert len(made) == 50
    assert all(check_resource_id(i) == i and len(i) <= 63 for i in made)
    for bad in ("Upper", "under_score", "-lead", "a" * 64, ""):
        with pytest.raises(ValueError):
            check_resource_id(bad)
