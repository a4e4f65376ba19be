"""The simulator's control plane over real HTTP: datasets, the job state machine, signed downloads
and every scripted fault the batch client must survive."""

from __future__ import annotations

import json
from typing import Any

import anyio
import httpx2
import pytest

from fw_mcp.simulator import SimulatorServer
from fw_mcp.simulator.generate import default_reply, plan_reply
from tests.batch.conftest import ACCOUNT
from tests.conftest import TEST_KEY

AUTH = {"authorization": f"Bearer {TEST_KEY}"}


def jsonl(n: int, prefix: str = "req") -> bytes:
    lines = [
        {"custom_id": f"{prefix}-{i}", "body": {"messages": [{"role": "user", "content": f"question {i}"}]}}
        for i in range(n)
    ]
    return "".join(json.dumps(line) + "\n" for line in lines).encode()


async def upload(client: httpx2.AsyncClient, root: str, dataset: str, data: bytes) -> httpx2.Response:
    base = f"{root}/v1/accounts/{ACCOUNT}/datasets"
    created = await client.post(
        base, json={"datasetId": dataset, "dataset": {"format": "CHAT"}}, headers=AUTH
    )
    assert created.status_code == 200, created.text
    files = {"file": ("input.jsonl", data, "application/jsonl")}
    return await client.post(f"{base}/{dataset}:upload", files=files, headers=AUTH)


async def start_job(
    client: httpx2.AsyncClient, root: str, n: int, job: str = "job-1", **body: Any
) -> httpx2.Response:
    assert (await upload(client, root, f"in-{job}", jsonl(n))).status_code == 200
    payload = {
        "model": "accounts/fireworks/models/deepseek-v3p1",
        "inputDatasetId": f"accounts/{ACCOUNT}/datasets/in-{job}",
        "outputDatasetId": f"accounts/{ACCOUNT}/datasets/out-{job}",
        **body,
    }
    url = f"{root}/v1/accounts/{ACCOUNT}/batchInferenceJobs"
    return await client.post(url, params={"batchInferenceJobId": job}, json=payload, headers=AUTH)


async def wait_until_ended(client: httpx2.AsyncClient, root: str, job: str) -> list[dict[str, Any]]:
    """Every job resource read until the job ended."""
    seen = []
    with anyio.fail_after(10):
        while True:
            answer = await client.get(f"{root}/v1/accounts/{ACCOUNT}/batchInferenceJobs/{job}", headers=AUTH)
            assert answer.status_code == 200, answer.text
            seen.append(answer.json())
            if seen[-1]["state"] in {
                f"JOB_STATE_{s}" for s in ("COMPLETED", "FAILED", "EXPIRED", "CANCELLED")
            }:
                return seen
            await anyio.sleep(0.005)


async def download_urls(client: httpx2.AsyncClient, root: str, dataset: str) -> dict[str, str]:
    url = f"{root}/v1/accounts/{ACCOUNT}/datasets/{dataset}:getDownloadEndpoint"
    answer = await client.get(url, headers=AUTH)
    assert answer.status_code == 200, answer.text
    urls: dict[str, str] = answer.json()["filenameToSignedUrls"]
    return urls


async def test_a_dataset_is_created_uploaded_as_multipart_and_read_back(batch_sim: SimulatorServer) -> None:
    async with httpx2.AsyncClient() as client:
        done = await upload(client, batch_sim.root_url, "in-a", jsonl(3))
        assert done.status_code == 200, done.text
        got = await client.get(f"{batch_sim.root_url}/v1/accounts/{ACCOUNT}/datasets/in-a", headers=AUTH)
        again = await client.post(
            f"{batch_sim.root_url}/v1/accounts/{ACCOUNT}/datasets", json={"datasetId": "in-a"}, headers=AUTH
        )
        bad = await client.post(
            f"{batch_sim.root_url}/v1/accounts/{ACCOUNT}/datasets", json={"datasetId": "In_A"}, headers=AUTH
        )
    assert got.json()["state"] == "READY" and got.json()["exampleCount"] == "3"
    assert batch_sim.app.batch.datasets[(ACCOUNT, "in-a")].files["input.jsonl"].read_bytes() == jsonl(3)
    assert again.status_code == 409
    assert bad.status_code == 400 and "lowercase" in bad.json()["error"]["message"]


async def test_a_job_walks_every_state_and_its_results_come_from_the_chat_generator(
    batch_sim: SimulatorServer,
) -> None:
    root = batch_sim.root_url
    async with httpx2.AsyncClient() as client:
        created = await start_job(client, root, 200)
        assert created.status_code == 200, created.text
        seen = await wait_until_ended(client, root, "job-1")
        urls = await download_urls(client, root, "out-job-1")
        results = await client.get(urls["results.jsonl"])
    states = list(dict.fromkeys(s["state"].removeprefix("JOB_STATE_") for s in seen))
    assert states[-1] == "COMPLETED"
    assert set(states) <= {"CREATING", "VALIDATING", "PENDING", "RUNNING", "WRITING_RESULTS", "COMPLETED"}
    assert "RUNNING" in states or "WRITING_RESULTS" in states
    percents = [s["jobProgress"]["percent"] for s in seen]
    assert percents == sorted(percents) and percents[-1] == 100
    assert seen[-1]["jobProgress"]["successfullyProcessedRequests"] == 200
    assert set(urls) == {"results.jsonl"}
    lines = [json.loads(line) for line in results.text.splitlines()]
    assert sorted(line["custom_id"] for line in lines) == sorted(f"req-{i}" for i in range(200))
    first = next(line for line in lines if line["custom_id"] == "req-7")
    body = {
        "model": "accounts/fireworks/models/deepseek-v3p1",
        "messages": [{"role": "user", "content": "question 7"}],
    }
    expected = "".join(d.get("content", "") for d in plan_reply(default_reply(body), body).deltas)
    assert first["response"]["choices"][0]["message"]["content"] == expected


async def test_a_signed_url_refuses_the_fireworks_key_and_resumes_with_range(
    batch_sim: SimulatorServer,
) -> None:
    root = batch_sim.root_url
    async with httpx2.AsyncClient() as client:
        await start_job(client, root, 20)
        await wait_until_ended(client, root, "job-1")
        url = (await download_urls(client, root, "out-job-1"))["results.jsonl"]
        with_key = await client.get(url, headers=AUTH)
        whole = await client.get(url)
        tail = await client.get(url, headers={"range": "bytes=100-"})
    assert with_key.status_code == 400
    assert url.startswith(f"{root}/signed/")
    assert tail.status_code == 206 and tail.content == whole.content[100:]
    assert tail.headers["content-range"] == f"bytes 100-{len(whole.content) - 1}/{len(whole.content)}"


async def test_a_scripted_drop_cuts_one_download_halfway(batch_sim: SimulatorServer) -> None:
    root = batch_sim.root_url
    async with httpx2.AsyncClient() as client:
        await start_job(client, root, 50)
        await wait_until_ended(client, root, "job-1")
        url = (await download_urls(client, root, "out-job-1"))["results.jsonl"]
        batch_sim.app.batch.configure(drop_download_after=1000)
        with pytest.raises(httpx2.RemoteProtocolError):
            await client.get(url)
        again = await client.get(url)
    assert again.status_code == 200 and len(again.content) > 1000


async def test_failing_lines_go_to_an_error_file_and_are_counted(batch_sim: SimulatorServer) -> None:
    root = batch_sim.root_url
    batch_sim.app.batch.configure(fail_match="-1")  # req-1, req-10..req-19
    async with httpx2.AsyncClient() as client:
        await start_job(client, root, 30)
        seen = await wait_until_ended(client, root, "job-1")
        urls = await download_urls(client, root, "out-job-1")
        errors = (await client.get(urls["error.jsonl"])).text.splitlines()
        results = (await client.get(urls["results.jsonl"])).text.splitlines()
    progress = seen[-1]["jobProgress"]
    assert (progress["failedRequests"], progress["successfullyProcessedRequests"]) == (11, 19)
    assert sorted(json.loads(e)["custom_id"] for e in errors) == sorted(
        ["req-1", *(f"req-1{i}" for i in range(10))]
    )
    assert len(results) == 19


@pytest.mark.parametrize(
    ("outcome", "code"), [("FAILED", "INVALID_ARGUMENT"), ("EXPIRED", "DEADLINE_EXCEEDED")]
)
async def test_a_job_can_be_scripted_to_fail_or_expire(
    batch_sim: SimulatorServer, outcome: str, code: str
) -> None:
    batch_sim.app.batch.configure(outcome=outcome)
    async with httpx2.AsyncClient() as client:
        await start_job(client, batch_sim.root_url, 5)
        seen = await wait_until_ended(client, batch_sim.root_url, "job-1")
    assert seen[-1]["state"] == f"JOB_STATE_{outcome}"
    assert seen[-1]["status"]["code"] == code and seen[-1]["status"]["message"]


async def test_a_model_without_batch_support_says_so_and_is_refused(batch_sim: SimulatorServer) -> None:
    batch_sim.app.batch.configure(no_batch_models=["glm-4p6"])
    root = batch_sim.root_url
    async with httpx2.AsyncClient() as client:
        meta = await client.get(f"{root}/v1/accounts/fireworks/models/glm-4p6", headers=AUTH)
        other = await client.get(f"{root}/v1/accounts/fireworks/models/deepseek-v3p1", headers=AUTH)
        refused = await start_job(client, root, 2, model="accounts/fireworks/models/glm-4p6")
    assert meta.json()["batchInferenceSupported"] is False  # camelCase, as every control-plane field
    assert other.json()["batchInferenceSupported"] is True
    assert refused.status_code == 400 and "batch" in refused.json()["error"]["message"]


async def test_delete_cancels_a_running_job_and_lists_show_the_newest_first(
    batch_sim: SimulatorServer,
) -> None:
    batch_sim.app.batch.configure(step_seconds=5)
    root = batch_sim.root_url
    jobs = f"{root}/v1/accounts/{ACCOUNT}/batchInferenceJobs"
    async with httpx2.AsyncClient() as client:
        await start_job(client, root, 2, job="job-a")
        await start_job(client, root, 2, job="job-b")
        deleted = await client.delete(f"{jobs}/job-a", headers=AUTH)
        listing = (await client.get(jobs, headers=AUTH)).json()
    assert deleted.status_code == 200
    states = {j["name"].rsplit("/", 1)[-1]: j["state"] for j in listing["batchInferenceJobs"]}
    assert states == {"job-a": "JOB_STATE_CANCELLED", "job-b": "JOB_STATE_CREATING"}


async def test_the_control_plane_checks_the_key_the_account_and_the_job_id(
    batch_sim: SimulatorServer,
) -> None:
    batch_sim.app.batch.configure(accounts=[ACCOUNT])
    root = batch_sim.root_url
    async with httpx2.AsyncClient() as client:
        no_key = await client.get(f"{root}/v1/accounts/{ACCOUNT}/batchInferenceJobs")
        other = await client.get(f"{root}/v1/accounts/someone-else/batchInferenceJobs", headers=AUTH)
        unknown = await client.get(f"{root}/v1/accounts/{ACCOUNT}/batchInferenceJobs/nope", headers=AUTH)
    assert no_key.status_code == 401
    assert other.status_code == 403
    assert unknown.status_code == 404 and "nope" in unknown.json()["error"]["message"]


async def test_another_process_configures_the_batch_faults_over_sim_controls(
    batch_sim: SimulatorServer,
) -> None:
    async with httpx2.AsyncClient() as client:
        configured = await client.post(f"{batch_sim.root_url}/_sim/batch", json={"outcome": "EXPIRED"})
        typo = await client.post(f"{batch_sim.root_url}/_sim/batch", json={"outcom": "EXPIRED"})
    assert configured.status_code == 200 and configured.json()["outcome"] == "EXPIRED"
    assert typo.status_code == 400 and "outcom" in typo.json()["error"]
    assert batch_sim.app.batch.config["outcome"] == "EXPIRED"


async def test_an_upload_with_other_fields_keeps_the_file_part_only(batch_sim: SimulatorServer) -> None:
    base = f"{batch_sim.root_url}/v1/accounts/{ACCOUNT}/datasets"
    async with httpx2.AsyncClient() as client:
        await client.post(base, json={"datasetId": "in-f"}, headers=AUTH)
        files = {"file": ("mine.jsonl", jsonl(4), "application/jsonl")}
        done = await client.post(f"{base}/in-f:upload", data={"note": "x" * 5000}, files=files, headers=AUTH)
    assert done.status_code == 200, done.text
    stored = batch_sim.app.batch.datasets[(ACCOUNT, "in-f")]
    assert stored.files["mine.jsonl"].read_bytes() == jsonl(4) and stored.example_count == 4


async def test_answers_can_be_padded_to_make_large_result_files(batch_sim: SimulatorServer) -> None:
    batch_sim.app.batch.configure(answer_words=200)
    root = batch_sim.root_url
    async with httpx2.AsyncClient() as client:
        assert (await start_job(client, root, 3)).status_code == 200
        await wait_until_ended(client, root, "job-1")
        urls = await download_urls(client, root, "out-job-1")
        rows = [json.loads(r) for r in (await client.get(urls["results.jsonl"])).text.splitlines()]
    body = {
        "model": "accounts/fireworks/models/deepseek-v3p1",
        "messages": [{"role": "user", "content": "question 0"}],
    }
    plan = plan_reply(default_reply(body), body)
    first = rows[0]["response"]
    content = first["choices"][0]["message"]["content"]
    answer = "".join(d.get("content", "") for d in plan.deltas)
    assert content.startswith(answer + " word0 word1") and len(content.split()) == 200
    assert first["usage"]["completion_tokens"] == len(plan.deltas) + 200 - len(answer.split())
