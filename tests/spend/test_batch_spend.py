"""Batch jobs' spend: the maximum held at submission (refused over budget before any upload), and the
real cost at batch prices counted once per job, however many processes see the job end."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
import mcp
import pytest
from mcp.types import CallToolResult

from fw_mcp.cli import main
from fw_mcp.resources import USAGE_URI
from fw_mcp.server import build_server
from fw_mcp.settings import Settings, load_settings
from fw_mcp.simulator import SimulatorServer
from fw_mcp.simulator.batch_store import BatchStore
from tests.conftest import TEST_KEY
from tests.e2e.helpers import server_env, stdio_session
from tests.spend.helpers import ledger

ACCOUNT = "acct-spend"
DEEPSEEK = "accounts/fireworks/models/deepseek-v3p1"
# deepseek-v3p1 in default.toml: input 0.56, cached 0.28, output 1.68 USD per million; batch at half.
INPUT, CACHED, OUTPUT = 0.28e-6, 0.14e-6, 0.84e-6


@pytest.fixture
def batch_sim(simulator: SimulatorServer) -> SimulatorServer:
    store: BatchStore = simulator.app.batch
    store.reset()
    store.configure(step_seconds=0.05, request_seconds=0.0001)
    return simulator


def config_file(tmp_path: Path, store: str, daily_usd: float = 5) -> Path:
    path = tmp_path / "fw-mcp.toml"
    path.write_text(
        f'[fireworks]\naccount_id = "{ACCOUNT}"\n\n[batch]\npoll_interval = 0.02\n\n'
        f'[budget]\nstore = "{store}"\ndaily_usd = {daily_usd}\n'
    )
    return path


def settings_for(sim: SimulatorServer, config: Path) -> Settings:
    return load_settings(
        str(config), overrides={"fireworks": {"base_url": sim.base_url}, "api_key": TEST_KEY}
    )


@asynccontextmanager
async def host(settings: Settings) -> AsyncIterator[mcp.Client]:
    async with mcp.Client(build_server(settings)) as client:
        yield client


async def call(client: mcp.Client, tool: str, **args: Any) -> CallToolResult:
    with anyio.fail_after(60):
        return await client.call_tool(tool, args)


def text(result: CallToolResult) -> str:
    return "\n".join(b.text for b in result.content if b.type == "text")


def nanos(usd: float) -> int:
    return round(usd * 1e9)


HELLO = [{"custom_id": f"r{i}", "prompt": "hello", "max_tokens": 100} for i in range(3)]
# Each: one user message of 5 bytes (+16 of template) and 100 output tokens, at batch prices.
HELLO_CEILING = 3 * ((16 + 5) * INPUT + 100 * OUTPUT)


async def test_submit_returns_its_maximum_at_batch_prices_and_holds_it(
    batch_sim: SimulatorServer, tmp_path: Path
) -> None:
    batch_sim.app.batch.configure(step_seconds=5)  # the job stays running: its hold stays
    settings = settings_for(batch_sim, config_file(tmp_path, str(tmp_path / "usage.db")))
    async with host(settings) as client:
        submitted = await call(client, "batch_submit", requests=HELLO)
    assert not submitted.is_error, text(submitted)
    estimate = submitted.structured_content["estimated_cost"]
    assert estimate == {"usd": round(HELLO_CEILING, 9), "estimated": True, "prices_as_of": "2026-11"}
    assert "Estimated cost: at most ~$0.00027" in text(submitted) and "batch prices" in text(submitted)
    rows, held = await ledger(settings)
    assert rows == [] and held == nanos(HELLO_CEILING), "the maximum is held while the job runs"


async def test_over_budget_nothing_is_uploaded(batch_sim: SimulatorServer, tmp_path: Path) -> None:
    settings = settings_for(batch_sim, config_file(tmp_path, str(tmp_path / "usage.db"), daily_usd=0.0002))
    async with host(settings) as client:
        refused = await call(client, "batch_submit", requests=HELLO)
    assert refused.is_error
    assert "Refused before anything was sent" in text(refused) and "daily budget of $0.0002" in text(refused)
    assert batch_sim.app.batch.datasets == {} and batch_sim.app.batch.jobs == {}


async def test_an_unpriced_model_has_no_estimate_but_the_note(
    batch_sim: SimulatorServer, tmp_path: Path
) -> None:
    config = tmp_path / "fw-mcp.toml"
    config.write_text(f'[fireworks]\naccount_id = "{ACCOUNT}"\n[budget]\nstore = "{tmp_path / "usage.db"}"\n')
    async with host(settings_for(batch_sim, config)) as client:
        submitted = await call(client, "batch_submit", requests=HELLO, model="llama-8b")
        status = await call(client, "batch_status", job_id=submitted.structured_content["job_id"], wait=20)
    assert not submitted.is_error, text(submitted)
    assert "estimated_cost" not in submitted.structured_content
    assert '[prices."llama-v3p1-8b-instruct"]' in text(submitted)
    assert "cost" not in status.structured_content and '[prices."llama-v3p1-8b-instruct"]' in text(status)


@pytest.mark.parametrize("store", ["sqlite", "redis"])
async def test_a_finished_job_is_counted_once_however_many_processes_see_it(
    batch_sim: SimulatorServer,
    tmp_path: Path,
    request: pytest.FixtureRequest,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    store: str,
) -> None:
    where = str(tmp_path / "usage.db") if store == "sqlite" else request.getfixturevalue("fresh_redis")
    config = config_file(tmp_path, where)
    settings = settings_for(batch_sim, config)
    requests = [{"prompt": f"question {i}", "max_tokens": 50} for i in range(8)]
    async with host(settings) as client:
        job = (await call(client, "batch_submit", requests=requests)).structured_content["job_id"]
    env = server_env(batch_sim.base_url, FW_MCP_CONFIG=str(config))
    statuses: list[dict[str, Any]] = []

    async def watch() -> None:  # a host's server process, waiting for the job to end
        async with stdio_session(env) as s:
            result = await s.call("batch_status", {"job_id": job, "wait": 20})
            assert not result.is_error, result.content
            statuses.append(result.structured_content)

    async with anyio.create_task_group() as tg:
        tg.start_soon(watch)
        tg.start_soon(watch)
    for name, value in {"FIREWORKS_BASE_URL": batch_sim.base_url, "FIREWORKS_API_KEY": TEST_KEY}.items():
        monkeypatch.setenv(name, value)
    assert await anyio.to_thread.run_sync(main, ["batch", "--config", str(config), "status", job]) == 0
    async with host(settings) as client:  # and this process, which submitted it, sees it too
        statuses.append((await call(client, "batch_results", job_id=job)).structured_content)
        statuses.append((await call(client, "batch_status", job_id=job)).structured_content)

    n = len(requests)  # the simulator reports 12 input (4 cached) and 20 output tokens per request
    real = (12 - 4) * n * INPUT + 4 * n * CACHED + 20 * n * OUTPUT
    assert [s["cost"]["usd"] for s in statuses if "cost" in s] == [round(real, 9)] * 3
    assert "Cost: ~$0.00" in capsys.readouterr().out
    rows, spent = await ledger(settings)
    [row] = rows
    assert (row.tool, row.model, row.calls) == ("batch", DEEPSEEK, 1)
    assert (row.prompt_tokens, row.cached_tokens, row.completion_tokens) == (12 * n, 4 * n, 20 * n)
    assert row.cost_nanos == nanos(real)
    assert spent == row.cost_nanos, "the submission's hold was dropped when the job was counted"


async def test_usage_lists_embed_rerank_and_batch(
    batch_sim: SimulatorServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = config_file(tmp_path, str(tmp_path / "usage.db"))
    settings = settings_for(batch_sim, config)
    async with host(settings) as client:
        assert not (await call(client, "embed", texts=["alpha", "beta"])).is_error
        assert not (await call(client, "rerank", query="soup", documents=["soup", "bread"])).is_error
        job = (await call(client, "batch_submit", requests=HELLO)).structured_content["job_id"]
        status = (await call(client, "batch_status", job_id=job, wait=20)).structured_content
        listed = (await call(client, "batch_list")).structured_content
        [content] = (await client.read_resource(USAGE_URI)).contents
    assert listed["jobs"][0]["cost"] == status["cost"] and status["cost"]["usd"] > 0
    resource = json.loads(content.text)
    assert {r["model"] for r in resource["rows"]} == {
        "fireworks/qwen3-embedding-8b",
        "accounts/fireworks/models/qwen3-reranker-8b",
        DEEPSEEK,
    }
    assert all(r["cost_usd"] > 0 for r in resource["rows"])
    assert (
        await anyio.to_thread.run_sync(main, ["usage", "--by", "tool", "--json", "--config", str(config)])
        == 0
    )
    report = json.loads(capsys.readouterr().out)
    assert [(r["tool"], r["calls"]) for r in report["rows"]] == [("batch", 1), ("embed", 1), ("rerank", 1)]


def test_the_cli_submission_is_refused_over_budget_before_any_upload(
    batch_sim: SimulatorServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    for name, value in {"FIREWORKS_BASE_URL": batch_sim.base_url, "FIREWORKS_API_KEY": TEST_KEY}.items():
        monkeypatch.setenv(name, value)
    config = config_file(tmp_path, str(tmp_path / "usage.db"), daily_usd=0.0002)
    source = tmp_path / "prompts.jsonl"
    rows = [
        {"custom_id": f"c{i}", "body": {"messages": [{"role": "user", "content": "hello"}]}} for i in range(3)
    ]
    source.write_text("".join(json.dumps(r) + "\n" for r in rows))
    argv = ["batch", "--config", str(config), "submit", str(source), "--max-tokens", "100"]
    assert main(argv) != 0
    assert "Refused before anything was sent" in capsys.readouterr().err
    assert batch_sim.app.batch.datasets == {} and batch_sim.app.batch.jobs == {}
    config.write_text(config.read_text().replace("daily_usd = 0.0002", "daily_usd = 5"))
    assert main(argv) == 0, capsys.readouterr().err
    assert len(batch_sim.app.batch.jobs) == 1


async def test_a_cancelled_job_drops_its_hold_and_counts_what_it_processed(
    batch_sim: SimulatorServer, tmp_path: Path
) -> None:
    batch_sim.app.batch.configure(step_seconds=5)
    settings = settings_for(batch_sim, config_file(tmp_path, str(tmp_path / "usage.db")))
    async with host(settings) as client:
        job = (await call(client, "batch_submit", requests=HELLO)).structured_content["job_id"]
        _, held = await ledger(settings)
        cancelled = await call(client, "batch_cancel", job_id=job)
    assert held == nanos(HELLO_CEILING)
    assert cancelled.structured_content["state"] == "CANCELLED"
    rows, spent = await ledger(settings)
    [row] = rows
    assert (row.tool, row.calls) == ("batch", 1)
    assert spent == row.cost_nanos < held, "the hold is gone; only what was processed is counted"
