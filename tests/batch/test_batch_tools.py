"""The batch_* tools end to end, through the official MCP client and the simulator: a 1,000-request
job submitted, watched with progress, paged and accounted for, and every fault the issue lists."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import anyio
import mcp
import pytest
from mcp.types import CallToolResult

from fw_mcp.server import build_server
from fw_mcp.settings import Settings
from fw_mcp.simulator import SimulatorServer
from fw_mcp.simulator.generate import default_reply, plan_reply
from tests.batch.conftest import ACCOUNT
from tests.conftest import make_settings

MODEL = "accounts/fireworks/models/deepseek-v3p1"


def settings_for(sim: SimulatorServer, account: str | None = ACCOUNT) -> Settings:
    fireworks = {"account_id": account} if account else {}
    return make_settings(sim.base_url, fireworks=fireworks, batch={"poll_interval": 0.02})


@asynccontextmanager
async def host(settings: Settings) -> AsyncIterator[mcp.Client]:
    """A fresh server per use: what one process knows, the next one does not."""
    async with mcp.Client(build_server(settings)) as client:
        yield client


async def call(
    client: mcp.Client, tool: str, progress: list[Any] | None = None, **args: Any
) -> CallToolResult:
    async def on_progress(value: float, total: float | None, message: str | None) -> None:
        if progress is not None:
            progress.append((value, total, message))

    with anyio.fail_after(60):
        return await client.call_tool(tool, args, progress_callback=on_progress)


def text(result: CallToolResult) -> str:
    return "\n".join(b.text for b in result.content if b.type == "text")


def data(result: CallToolResult) -> dict[str, Any]:
    assert not result.is_error, text(result)
    assert result.structured_content is not None
    return result.structured_content


def prompts(n: int) -> list[dict[str, Any]]:
    """Half with the caller's ids, half left to be generated."""
    return [
        {"prompt": f"label ticket {i}", **({"custom_id": f"ticket-{i}"} if i % 2 else {})} for i in range(n)
    ]


async def submit(client: mcp.Client, requests: list[dict[str, Any]], **args: Any) -> CallToolResult:
    return await call(client, "batch_submit", requests=requests, **args)


async def test_a_thousand_requests_are_submitted_watched_paged_and_all_accounted_for(
    batch_sim: SimulatorServer,
) -> None:
    settings = settings_for(batch_sim)
    async with host(settings) as client:
        submitted = data(await submit(client, prompts(1000), max_tokens=32, display_name="tickets"))
        progress: list[Any] = []
        status = data(await call(client, "batch_status", progress, job_id=submitted["job_id"], wait=30))
    assert submitted["requests"] == 1000 and submitted["model"] == MODEL
    assert status["state"] == "COMPLETED" and status["succeeded"] == 1000 and status["percent"] == 100
    assert progress, "waiting sent no progress"
    assert [p[0] for p in progress] == sorted(p[0] for p in progress)
    assert all(p[1] == 100 and p[2].endswith("/1,000 requests") for p in progress)

    items: list[dict[str, Any]] = []
    offset: int | None = 0
    async with host(settings) as later:  # a restarted server: only the job id is known
        while offset is not None:
            page = data(
                await call(later, "batch_results", job_id=submitted["job_id"], offset=offset, limit=300)
            )
            items += page["results"]
            offset = page["next_offset"]
    expected_ids = [f"ticket-{i}" if i % 2 else f"request-{i // 2 + 1}" for i in range(1000)]
    assert [item["custom_id"] for item in items] == expected_ids
    body = {"model": MODEL, "messages": [{"role": "user", "content": "label ticket 7"}], "max_tokens": 32}
    plan = plan_reply(default_reply(body), body)
    assert items[7]["text"] == "".join(d.get("content", "") for d in plan.deltas)
    assert items[7]["finish_reason"] == plan.finish_reason and items[7]["error"] is None
    assert not any(d["authorization"] for d in batch_sim.app.batch.downloads)
    job = batch_sim.app.batch.jobs[(ACCOUNT, submitted["job_id"])]
    assert job.body["inferenceParameters"] == {"maxTokens": 32} and job.body["displayName"] == "tickets"


async def test_bad_requests_are_all_listed_with_their_positions_and_nothing_is_uploaded(
    batch_sim: SimulatorServer,
) -> None:
    requests = [
        {"custom_id": "a", "prompt": "fine"},
        {"custom_id": "a", "prompt": "same id"},
        {"custom_id": "b"},
        {"custom_id": "c", "prompt": "x", "messages": [{"role": "user", "content": "y"}]},
        {"custom_id": "d", "prompt": "   "},
    ]
    async with host(settings_for(batch_sim)) as client:
        result = await submit(client, requests)
    said = text(result)
    assert result.is_error and "4 problems found, nothing was uploaded" in said
    assert "requests[1]: `custom_id` 'a' is used twice" in said
    assert "requests[2].prompt: give exactly one" in said and "requests[3].prompt" in said
    assert "requests[4].prompt: is empty" in said
    assert batch_sim.app.batch.datasets == {} and batch_sim.app.batch.jobs == {}


async def test_past_twenty_problems_the_rest_are_counted(batch_sim: SimulatorServer) -> None:
    async with host(settings_for(batch_sim)) as client:
        result = await submit(client, [{"custom_id": f"r{i}"} for i in range(25)])
    said = text(result)
    assert result.is_error and "25 problems" in said and "... and 5 more" in said
    assert "requests[19]" in said and "requests[20]" not in said


async def test_a_model_without_batch_support_is_refused_before_any_upload(batch_sim: SimulatorServer) -> None:
    batch_sim.app.batch.configure(no_batch_models=["glm-4p6"])
    async with host(settings_for(batch_sim)) as client:
        result = await submit(client, prompts(3), model="glm")
    said = text(result)
    assert result.is_error and "glm-4p6 does not support batch inference" in said
    assert "Configured models that do:" in said and "deepseek-v3p1" in said and "glm-4p6," not in said
    assert batch_sim.app.batch.datasets == {}


async def test_failed_lines_come_back_as_errors_and_still_add_up(batch_sim: SimulatorServer) -> None:
    batch_sim.app.batch.configure(fail_match="ticket-1")  # ticket-1, ticket-11, ticket-13, ...
    async with host(settings_for(batch_sim)) as client:
        job = data(await submit(client, prompts(20)))["job_id"]
        status = data(await call(client, "batch_status", job_id=job, wait=30))
        page = data(await call(client, "batch_results", job_id=job, limit=100))
    failed = {"ticket-1", "ticket-11", "ticket-13", "ticket-15", "ticket-17", "ticket-19"}
    assert (status["succeeded"], status["failed"]) == (14, 6)
    assert (page["succeeded"], page["failed"], page["total"]) == (14, 6, 20)
    assert {i["custom_id"] for i in page["results"] if i["error"]} == failed
    assert all(i["text"] is None for i in page["results"] if i["error"])


@pytest.mark.parametrize("outcome", ["FAILED", "EXPIRED"])
async def test_a_failed_or_expired_job_reports_why_and_has_no_results(
    batch_sim: SimulatorServer, outcome: str
) -> None:
    batch_sim.app.batch.configure(outcome=outcome)
    async with host(settings_for(batch_sim)) as client:
        job = data(await submit(client, prompts(4)))["job_id"]
        status = data(await call(client, "batch_status", job_id=job, wait=30))
        results = await call(client, "batch_results", job_id=job)
    assert status["state"] == outcome and status["reason"]
    assert results.is_error and f"ended {outcome}" in text(results)


async def test_a_job_cancelled_from_another_client_is_reported_cancelled(batch_sim: SimulatorServer) -> None:
    batch_sim.app.batch.configure(step_seconds=5)
    settings = settings_for(batch_sim)
    async with host(settings) as first:
        job = data(await submit(first, prompts(4)))["job_id"]
        async with host(settings) as second:
            cancelled = data(await call(second, "batch_cancel", job_id=job))
        status = data(await call(first, "batch_status", job_id=job))
        listed = data(await call(first, "batch_list"))
        early = await call(first, "batch_results", job_id=job)
    assert cancelled == {"job_id": job, "state": "CANCELLED"}
    assert status["state"] == "CANCELLED" and status["reason"]
    assert [(j["job_id"], j["state"]) for j in listed["jobs"]] == [(job, "CANCELLED")]
    assert early.is_error and "CANCELLED" in text(early)


async def test_results_before_the_end_say_to_wait(batch_sim: SimulatorServer) -> None:
    batch_sim.app.batch.configure(step_seconds=5)
    async with host(settings_for(batch_sim)) as client:
        job = data(await submit(client, prompts(2)))["job_id"]
        result = await call(client, "batch_results", job_id=job)
    assert result.is_error and "results come once it is COMPLETED" in text(result)


async def test_a_dropped_download_is_resumed_and_nothing_is_lost(batch_sim: SimulatorServer) -> None:
    async with host(settings_for(batch_sim)) as client:
        job = data(await submit(client, prompts(200)))["job_id"]
        data(await call(client, "batch_status", job_id=job, wait=30))
        batch_sim.app.batch.configure(drop_download_after=3000)
        page = data(await call(client, "batch_results", job_id=job, limit=1000))
    assert len(page["results"]) == 200 and page["next_offset"] is None
    assert any(d["range"] == "bytes=3000-" for d in batch_sim.app.batch.downloads)


async def test_results_that_do_not_add_up_are_an_error_not_a_gap(batch_sim: SimulatorServer) -> None:
    async with host(settings_for(batch_sim)) as client:
        job = data(await submit(client, prompts(10)))["job_id"]
        data(await call(client, "batch_status", job_id=job, wait=30))
        output = next(
            ds for (_, name), ds in batch_sim.app.batch.datasets.items() if name.startswith("fw-mcp-output")
        )
        lines = output.files["results.jsonl"].read_bytes().splitlines(keepends=True)
        output.files["results.jsonl"].write_bytes(b"".join([*lines[1:], lines[2]]))  # one lost, one twice
        result = await call(client, "batch_results", job_id=job)
    said = text(result)
    assert result.is_error and "do not account for every request exactly once" in said
    assert (
        "1 request(s) with neither a result nor an error" in said
        and "1 request(s) appearing more than once" in said
    )
    assert json.loads(lines[0])["custom_id"] in said


async def test_unknown_jobs_missing_accounts_and_forbidden_accounts_get_clear_messages(
    batch_sim: SimulatorServer,
) -> None:
    async with host(settings_for(batch_sim)) as client:
        unknown = await call(client, "batch_status", job_id="no-such-job")
    async with host(settings_for(batch_sim, account=None)) as client:
        no_account = await call(client, "batch_list")
    batch_sim.app.batch.configure(accounts=["someone-else"])
    async with host(settings_for(batch_sim)) as client:
        forbidden = await call(client, "batch_list")
    assert unknown.is_error and "no batch job 'no-such-job'" in text(unknown)
    assert no_account.is_error and "FIREWORKS_ACCOUNT_ID" in text(no_account)
    assert forbidden.is_error and f"refused access to account {ACCOUNT!r}" in text(forbidden)
