"""embed and rerank through the real server and the official MCP client, against the simulator."""

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

from fw_mcp.server import build_server
from fw_mcp.settings import Settings
from fw_mcp.simulator import SimulatorServer
from fw_mcp.simulator.embeddings import embed_text
from tests.conftest import make_settings

EMBED_MODEL = "fireworks/qwen3-embedding-8b"


@asynccontextmanager
async def connect(settings: Settings) -> AsyncIterator[mcp.Client]:
    async with mcp.Client(build_server(settings)) as client:
        yield client


async def call(
    client: mcp.Client, tool: str, args: dict[str, Any], progress: list[Any] | None = None
) -> CallToolResult:
    async def on_progress(value: float, total: float | None, message: str | None) -> None:
        if progress is not None:
            progress.append((value, total, message))

    with anyio.fail_after(30):
        return await client.call_tool(tool, args, progress_callback=on_progress)


def text(result: CallToolResult) -> str:
    return "\n".join(b.text for b in result.content if b.type == "text")


def upstream(sim: SimulatorServer, path: str) -> list[dict[str, Any]]:
    return [r for r in sim.sim.requests if r["path"].endswith(path)]


async def test_embed_returns_vectors_in_input_order_and_a_short_text(simulator: SimulatorServer) -> None:
    texts = ["the retry policy", "bananas", "retry after a 429"]
    async with connect(make_settings(simulator.base_url)) as client:
        result = await call(client, "embed", {"texts": texts, "dimensions": 32})
    assert not result.is_error, text(result)
    data = result.structured_content
    assert data["embeddings"] == [pytest.approx(embed_text(t, 32), abs=1e-6) for t in texts]
    assert data["model"] == EMBED_MODEL and data["dimensions"] == 32
    assert data["usage"]["prompt_tokens"] == data["usage"]["total_tokens"] > 0
    shown = text(result)
    assert "3 vectors of 32 numbers" in shown and len(shown) < 600, "no flood of floats"
    assert f"{data['embeddings'][0][0]:.4f}" in shown
    (request,) = upstream(simulator, "/embeddings")
    assert request["body"] == {"input": texts, "model": EMBED_MODEL, "dimensions": 32, "normalize": True}


async def test_embed_takes_a_single_string(simulator: SimulatorServer) -> None:
    async with connect(make_settings(simulator.base_url)) as client:
        result = await call(client, "embed", {"texts": "just one", "dimensions": 8, "normalize": False})
    assert not result.is_error
    assert result.structured_content["embeddings"] == [pytest.approx(embed_text("just one", 8, False))]


async def test_large_inputs_go_as_concurrent_requests_with_progress(simulator: SimulatorServer) -> None:
    texts = [f"text number {i}" for i in range(10)]
    simulator.sim.enqueue({"path": "/embeddings", "delay": 0.3, "times": 3})
    progress: list[Any] = []
    settings = make_settings(simulator.base_url, embeddings={"batch_size": 4})
    async with connect(settings) as client:
        result = await call(client, "embed", {"texts": texts, "dimensions": 8}, progress)
    assert not result.is_error
    assert result.structured_content["embeddings"] == [pytest.approx(embed_text(t, 8)) for t in texts]
    requests = upstream(simulator, "/embeddings")
    assert sorted(len(r["body"]["input"]) for r in requests) == [2, 4, 4]
    starts = sorted(r["started_at"] for r in requests)
    ends = sorted(r["ended_at"] for r in requests)
    assert starts[-1] < ends[0], "the three requests were in flight at the same time"
    assert progress[-1] == (10, 10, "10 of 10 texts")
    assert [p[0] for p in progress] == sorted(p[0] for p in progress)
    assert "3 requests" in text(result)


async def test_a_retried_request_is_said_in_progress_and_the_call_succeeds(
    simulator: SimulatorServer,
) -> None:
    simulator.sim.enqueue(
        {"path": "/embeddings", "error": "503_overloaded", "headers": {"retry-after-ms": "20"}}
    )
    progress: list[Any] = []
    async with connect(make_settings(simulator.base_url)) as client:
        result = await call(client, "embed", {"texts": ["a", "b"], "dimensions": 4}, progress)
    assert not result.is_error
    assert [r["status"] for r in upstream(simulator, "/embeddings")] == [503, 200]
    assert any("trying again" in (m or "") for _, _, m in progress)
    assert progress[-1] == (2, 2, "2 of 2 texts")
    values = [v for v, _, _ in progress]
    assert values == sorted(set(values)), "progress strictly increases"


@pytest.mark.parametrize(
    ("args", "argument"),
    [
        ({"texts": []}, "texts"),
        ({"texts": ["ok", ""]}, "texts[1]"),
        ({"texts": ["ok", "   "]}, "texts[1]"),
        ({"texts": ["ok", 3]}, "texts"),
        ({"texts": ["x"] * 6}, "texts"),
        ({"texts": "x", "dimensions": 0}, "dimensions"),
        ({"texts": "x", "output_path": "out.jsonl"}, "output_path"),
    ],
)
async def test_bad_embed_input_is_refused_and_nothing_goes_upstream(
    simulator: SimulatorServer, args: dict[str, Any], argument: str
) -> None:
    settings = make_settings(simulator.base_url, embeddings={"max_texts": 5})
    async with connect(settings) as client:
        result = await call(client, "embed", args)
    assert result.is_error and f"`{argument}" in text(result), text(result)
    assert simulator.sim.requests == []


async def test_one_failed_request_fails_the_call_and_stops_the_others(simulator: SimulatorServer) -> None:
    texts = [f"t{i}" for i in range(9)]
    simulator.sim.enqueue(
        {"path": "/embeddings", "match": '"t0"', "delay": 10},
        {"path": "/embeddings", "match": '"t3"', "error": "400_bad_value", "delay": 0.2},
        {"path": "/embeddings", "match": '"t6"', "delay": 10},
    )
    settings = make_settings(simulator.base_url, embeddings={"batch_size": 3})
    async with connect(settings) as client:
        result = await call(client, "embed", {"texts": texts})
    assert result.is_error
    message = text(result)
    assert "HTTP 400" in message and "Request 2 of 3 (texts 3-5) failed" in message
    assert "no vectors are returned" in message and result.structured_content is None
    records = simulator.sim.wait_for(lambda rs: len(rs) == 3 and all(r["outcome"] for r in rs))
    outcomes = {r["body"]["input"][0]: r["outcome"] for r in records}
    assert outcomes == {"t0": "disconnected", "t3": "error", "t6": "disconnected"}


async def test_cancelling_the_call_cancels_every_request_in_flight(simulator: SimulatorServer) -> None:
    simulator.sim.enqueue({"path": "/embeddings", "delay": 10, "times": 3})
    settings = make_settings(simulator.base_url, embeddings={"batch_size": 2})
    async with connect(settings) as client:
        async with anyio.create_task_group() as tg:
            tg.start_soon(call, client, "embed", {"texts": [f"t{i}" for i in range(6)]})
            await simulator.sim.wait_for_async(lambda rs: len(rs) == 3, timeout=10)
            tg.cancel_scope.cancel()
        records = await simulator.sim.wait_for_async(lambda rs: all(r["outcome"] for r in rs), timeout=5)
    assert [r["outcome"] for r in records] == ["disconnected"] * 3


async def test_the_call_deadline_stops_slow_requests(simulator: SimulatorServer) -> None:
    simulator.sim.enqueue({"path": "/embeddings", "delay": 10, "times": 2})
    settings = make_settings(simulator.base_url, timeouts={"total": 0.5}, embeddings={"batch_size": 1})
    async with connect(settings) as client:
        result = await call(client, "embed", {"texts": ["a", "b"]})
    assert result.is_error and "0.5 s" in text(result) and "[timeouts] total" in text(result)
    records = simulator.sim.wait_for(lambda rs: len(rs) == 2 and all(r["outcome"] for r in rs))
    assert [r["outcome"] for r in records] == ["disconnected"] * 2


async def test_an_unknown_model_is_a_clear_error(simulator: SimulatorServer) -> None:
    async with connect(make_settings(simulator.base_url)) as client:
        result = await call(client, "embed", {"texts": "x", "model": "nobody/nothing"})
    assert result.is_error and "HTTP 404" in text(result) and "`model`" in text(result)


async def test_output_path_writes_json_lines_and_never_overwrites_unasked(
    simulator: SimulatorServer, tmp_path: Path
) -> None:
    settings = make_settings(simulator.base_url, files={"output_dir": str(tmp_path)})
    async with connect(settings) as client:
        result = await call(client, "embed", {"texts": ["a", "b"], "dimensions": 4, "output_path": "v.jsonl"})
        assert not result.is_error, text(result)
        written = tmp_path / "v.jsonl"
        assert result.structured_content["output_path"] == str(written) and str(written) in text(result)
        lines = [json.loads(line) for line in written.read_text().splitlines()]
        assert lines == [
            {"index": i, "embedding": v} for i, v in enumerate(result.structured_content["embeddings"])
        ]
        sent = len(simulator.sim.requests)
        again = await call(client, "embed", {"texts": ["c"], "output_path": "v.jsonl"})
        assert again.is_error and "overwrite: true" in text(again)
        assert len(simulator.sim.requests) == sent, "refused before anything was sent"
        replaced = await call(
            client, "embed", {"texts": ["c"], "dimensions": 4, "output_path": "v.jsonl", "overwrite": True}
        )
    assert not replaced.is_error
    assert len(written.read_text().splitlines()) == 1


async def test_rerank_orders_documents_best_first(simulator: SimulatorServer) -> None:
    docs = ["bananas are yellow", "the retry policy backs off", "retry policy: retry on 429 " + "x " * 200]
    async with connect(make_settings(simulator.base_url)) as client:
        result = await call(client, "rerank", {"query": "retry policy", "documents": docs})
        top = await call(client, "rerank", {"query": "retry policy", "documents": docs, "top_n": 1})
    assert not result.is_error, text(result)
    data = result.structured_content
    assert [r["index"] for r in data["results"]] == [2, 1, 0]
    assert [r["document"] for r in data["results"]] == [docs[2], docs[1], docs[0]]
    assert (
        data["model"] == "accounts/fireworks/models/qwen3-reranker-8b" and data["usage"]["total_tokens"] > 0
    )
    lines = text(result).splitlines()
    assert lines[0].startswith("1. [2] ") and len(lines[0]) < 240, "documents are previewed, not pasted whole"
    assert [r["index"] for r in top.structured_content["results"]] == [2]
    body = upstream(simulator, "/rerank")[-1]["body"]
    assert body["top_n"] == 1 and body["documents"] == docs


@pytest.mark.parametrize(
    ("args", "argument"),
    [
        ({"query": "q", "documents": []}, "documents"),
        ({"query": "q", "documents": ["d"] * 4}, "documents"),
        ({"query": "q", "documents": ["d", " "]}, "documents[1]"),
        ({"query": "q", "documents": ["d"], "top_n": 0}, "top_n"),
        ({"query": " ", "documents": ["d"]}, "query"),
    ],
)
async def test_bad_rerank_input_is_refused_and_nothing_goes_upstream(
    simulator: SimulatorServer, args: dict[str, Any], argument: str
) -> None:
    settings = make_settings(simulator.base_url, embeddings={"max_documents": 3})
    async with connect(settings) as client:
        result = await call(client, "rerank", args)
    assert result.is_error and f"`{argument}" in text(result), text(result)
    assert simulator.sim.requests == []
