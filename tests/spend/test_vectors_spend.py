"""embed, rerank and search are metered like chat: cost, budget holds, the usage ledger, spans."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import anyio
import mcp
import pytest
from mcp.types import CallToolResult

from fw_mcp.simulator import SimulatorServer
from fw_mcp.simulator.embeddings import token_count
from fw_mcp.spend.prices import NANOS_PER_USD
from tests.spend.helpers import connect, ledger, settings_for

EMBED = "fireworks/qwen3-embedding-8b"
RERANK = "accounts/fireworks/models/qwen3-reranker-8b"
EMBED_USD_PER_TOKEN = 0.10 / 1e6  # default.toml
RERANK_USD_PER_TOKEN = 0.20 / 1e6
NOTES = "# Ops\n\nDeploys happen on Tuesdays.\n\n## Retry policy\n\nRequests are retried twice.\n"


async def call(client: mcp.Client, tool: str, args: dict[str, Any]) -> CallToolResult:
    with anyio.fail_after(30):
        return await client.call_tool(tool, args)


def text(result: CallToolResult) -> str:
    return "\n".join(b.text for b in result.content if b.type == "text")


def usd(tokens: int, per_token: float) -> float:
    """What the price table makes of `tokens` (rounded up to a nano-dollar, as prices.py does)."""
    nanos = -(-round(tokens * per_token * NANOS_PER_USD * 1000) // 1000)
    return round(nanos / NANOS_PER_USD, 9)


def upstream(simulator: SimulatorServer, path: str) -> list[dict[str, Any]]:
    return [r for r in simulator.sim.requests if r["path"].endswith(path)]


def billed(record: dict[str, Any]) -> int:
    """The prompt tokens the simulator reported for a request it answered."""
    body = record["body"]
    if "query" in body:
        return sum(token_count(body["query"]) + token_count(d) for d in body["documents"])
    return sum(token_count(t) for t in body["input"])


async def test_embed_sums_the_cost_of_its_concurrent_requests(
    simulator: SimulatorServer, tmp_path: Path
) -> None:
    settings = settings_for(simulator, tmp_path, embeddings={"batch_size": 2})
    async with connect(settings) as client:
        result = await call(
            client, "embed", {"texts": ["alpha beta", "gamma", "delta epsilon", "zeta", "eta"]}
        )
    assert not result.is_error, text(result)
    requests = upstream(simulator, "/embeddings")
    assert len(requests) == 3
    tokens = result.structured_content["usage"]["prompt_tokens"]
    per_request = [billed(r) for r in requests]
    assert sum(per_request) == tokens
    expected = round(sum(usd(t, EMBED_USD_PER_TOKEN) for t in per_request), 9)
    assert result.structured_content["cost"] == {
        "usd": expected,
        "estimated": True,
        "prices_as_of": "2026-11",
    }
    assert text(result).splitlines()[-1].endswith(" (est.)]") and "· cost: ~$" in text(result)
    rows, spent = await ledger(settings)
    [row] = rows
    assert (row.tool, row.model, row.calls, row.prompt_tokens) == ("embed", EMBED, 3, tokens)
    assert spent == row.cost_nanos > 0, "settled: nothing is left held"


async def test_rerank_reports_its_cost_and_is_counted(simulator: SimulatorServer, tmp_path: Path) -> None:
    settings = settings_for(simulator, tmp_path)
    async with connect(settings) as client:
        result = await call(client, "rerank", {"query": "soup", "documents": ["no", "soup today"]})
    assert not result.is_error, text(result)
    tokens = result.structured_content["usage"]["prompt_tokens"]
    assert result.structured_content["cost"]["usd"] == usd(tokens, RERANK_USD_PER_TOKEN)
    assert "· cost: ~$" in text(result).splitlines()[-1]
    rows, _ = await ledger(settings)
    assert [(r.tool, r.model, r.calls, r.prompt_tokens) for r in rows] == [("rerank", RERANK, 1, tokens)]


async def test_search_costs_its_embeddings_and_its_rerank(simulator: SimulatorServer, tmp_path: Path) -> None:
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "ops.md").write_text(NOTES)
    settings = settings_for(simulator, tmp_path, images={"allowed_dirs": [str(tmp_path / "docs")]})
    async with connect(settings) as client:
        first = await call(client, "search", {"query": "retry policy", "paths": [str(tmp_path / "docs")]})
        again = await call(client, "search", {"query": "retry policy", "paths": [str(tmp_path / "docs")]})
    assert not first.is_error, text(first)
    [embedded, later] = [billed(r) for r in upstream(simulator, "/embeddings")]
    reranked = [billed(r) for r in upstream(simulator, "/rerank")]
    expected = usd(embedded, EMBED_USD_PER_TOKEN) + usd(reranked[0], RERANK_USD_PER_TOKEN)
    assert first.structured_content["cost"]["usd"] == round(expected, 9)
    # The second search embeds only the query (the passages are cached), so it costs less.
    assert later < embedded
    assert again.structured_content["cost"]["usd"] < first.structured_content["cost"]["usd"]
    rows, _ = await ledger(settings)
    assert {(r.tool, r.model, r.calls) for r in rows} == {("search", EMBED, 2), ("search", RERANK, 2)}


@pytest.mark.parametrize(
    ("tool", "args"),
    [
        ("embed", {"texts": ["one", "two", "three"]}),
        ("rerank", {"query": "soup", "documents": ["no", "soup today"]}),
        ("search", {"query": "retry policy"}),
    ],
)
async def test_over_budget_nothing_is_sent(
    simulator: SimulatorServer, tmp_path: Path, tool: str, args: dict[str, Any]
) -> None:
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "ops.md").write_text(NOTES)
    if tool == "search":
        args = {**args, "paths": [str(tmp_path / "docs")]}
    settings = settings_for(
        simulator,
        tmp_path,
        budget={"daily_usd": 0.000001},  # 1,000 nano-dollars: less than any of these may cost
        embeddings={"batch_size": 1},
        images={"allowed_dirs": [str(tmp_path / "docs")]},
    )
    async with connect(settings) as client:
        result = await call(client, tool, args)
    assert result.is_error
    assert "Refused before anything was sent" in text(result) and "daily budget of $0.000001" in text(result)
    assert simulator.sim.requests == []
    _, spent = await ledger(settings)
    assert spent == 0, "the holds made before the refusal were dropped"


async def test_an_unpriced_embeddings_model_is_refused_under_a_budget(
    simulator: SimulatorServer, tmp_path: Path
) -> None:
    settings = settings_for(simulator, tmp_path, budget={"daily_usd": 5})
    async with connect(settings) as client:
        result = await call(client, "embed", {"texts": "x", "model": "nomic-ai/nomic-embed-text-v1.5"})
    assert result.is_error and '[prices."nomic-ai/nomic-embed-text-v1.5"]' in text(result)
    assert simulator.sim.requests == []
    async with connect(settings_for(simulator, tmp_path)) as client:  # no budget: answered, no cost, a note
        result = await call(client, "embed", {"texts": "x", "model": "nomic-ai/nomic-embed-text-v1.5"})
    assert not result.is_error and "cost" not in result.structured_content
    assert "no price is configured for nomic-ai/nomic-embed-text-v1.5" in text(result)


async def test_the_hold_is_released_when_the_upstream_fails(
    simulator: SimulatorServer, tmp_path: Path
) -> None:
    simulator.sim.enqueue({"path": "/embeddings", "match": '"t2"', "error": "400_bad_value"})
    settings = settings_for(simulator, tmp_path, budget={"daily_usd": 5}, embeddings={"batch_size": 2})
    async with connect(settings) as client:
        failed = await call(client, "embed", {"texts": ["t0", "t1", "t2", "t3"]})
        simulator.sim.enqueue({"path": "/rerank", "error": "400_bad_value"})
        reranked_failed = await call(client, "rerank", {"query": "q", "documents": ["a"]})
    assert failed.is_error and reranked_failed.is_error
    rows, spent = await ledger(settings)
    # Only a request that was answered is counted; every other hold is gone (not waiting to expire).
    assert spent == sum(r.cost_nanos for r in rows)
    assert all(r.tool == "embed" and r.calls <= 1 for r in rows)


async def test_spans_follow_the_genai_conventions(
    simulator: SimulatorServer, tmp_path: Path, spans: Any
) -> None:
    async with connect(settings_for(simulator, tmp_path)) as client:
        embedded = await call(client, "embed", {"texts": ["alpha beta"]})
        ranked = await call(client, "rerank", {"query": "soup", "documents": ["soup today"]})
    finished = {s.name: s for s in spans.get_finished_spans()}
    embed_span = finished[f"embeddings {EMBED}"]
    assert embed_span.kind.name == "CLIENT"
    assert (
        embed_span.parent is not None
        and embed_span.parent.span_id == finished["tools/call embed"].context.span_id
    )
    attrs = dict(embed_span.attributes)
    assert attrs["gen_ai.operation.name"] == "embeddings"
    assert attrs["gen_ai.provider.name"] == "fireworks"
    assert attrs["gen_ai.request.model"] == attrs["gen_ai.response.model"] == EMBED
    assert attrs["gen_ai.usage.input_tokens"] == embedded.structured_content["usage"]["prompt_tokens"]
    assert attrs["gen_ai.usage.output_tokens"] == 0
    assert attrs["fw_mcp.cost.usd"] == embedded.structured_content["cost"]["usd"]
    assert "gen_ai.request.max_tokens" not in attrs
    rerank_attrs = dict(finished[f"rerank {RERANK}"].attributes)
    assert rerank_attrs["gen_ai.operation.name"] == "rerank"
    assert rerank_attrs["gen_ai.usage.input_tokens"] == ranked.structured_content["usage"]["prompt_tokens"]
    assert rerank_attrs["fw_mcp.cost.usd"] == ranked.structured_content["cost"]["usd"]


async def test_costs_over_stdio_as_a_host_sees_them(simulator: SimulatorServer, tmp_path: Path) -> None:
    from tests.e2e.helpers import server_env, stdio_session

    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "ops.md").write_text(NOTES)
    env = server_env(
        simulator.base_url, XDG_STATE_HOME=str(tmp_path / "state"), FW_MCP_ALLOWED_DIRS=str(tmp_path / "docs")
    )
    async with stdio_session(env) as s:
        results = [
            await s.call("embed", {"texts": ["alpha", "beta"]}),
            await s.call("rerank", {"query": "soup", "documents": ["no", "soup today"]}),
            await s.call("search", {"query": "retry policy", "paths": [str(tmp_path / "docs")]}),
        ]
    for result in results:
        assert not result.is_error, text(result)
        assert result.structured_content["cost"]["usd"] > 0
        assert result.structured_content["cost"]["prices_as_of"] == "2026-11"
        footer = text(result).splitlines()[-1]
        assert footer.endswith("(est.)]") and "cost: ~$" in footer
    assert (tmp_path / "state" / "fw-mcp" / "usage.db").exists(), "counted in the state folder's store"
