"""embed, rerank and search end to end over stdio: `python -m fw_mcp` spawned as a host does."""

from __future__ import annotations

import json
import time
from pathlib import Path

import anyio

from fw_mcp.simulator import SimulatorServer
from tests.e2e.helpers import server_env, stdio_session, texts

NOTES = (
    "# Ops\n\nDeploys happen on Tuesdays.\n\n## Retry policy\n\nRequests are retried twice with backoff.\n"
)


def files(tmp_path: Path) -> Path:
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "ops.md").write_text(NOTES)
    (tmp_path / "docs" / "food.md").write_text("Lunch is at noon.\n\nThe canteen serves soup.\n")
    (tmp_path / "out").mkdir()
    return tmp_path


async def test_all_three_tools_over_stdio(simulator: SimulatorServer, tmp_path: Path) -> None:
    root = files(tmp_path)
    env = server_env(
        simulator.base_url, FW_MCP_ALLOWED_DIRS=str(root / "docs"), FW_MCP_OUTPUT_DIR=str(root / "out")
    )
    async with stdio_session(env) as s:
        listed = {t.name: t for t in (await s.client.list_tools()).tools}
        assert {"embed", "rerank", "search"} <= set(listed)
        for name in ("embed", "rerank", "search"):
            assert listed[name].output_schema is not None
            assert all(p.get("description") for p in listed[name].input_schema["properties"].values())
        embedded = await s.call(
            "embed", {"texts": ["a b", "c d"], "dimensions": 16, "output_path": "v.jsonl"}
        )
        ranked = await s.call("rerank", {"query": "soup", "documents": ["no", "soup today", "maybe soup"]})
        found = await s.call("search", {"query": "retry policy", "paths": [str(root / "docs")], "top_k": 1})
        outside = await s.call("search", {"query": "x", "paths": [str(root / "out")]})
    assert not embedded.is_error, texts(embedded)
    assert len(embedded.structured_content["embeddings"]) == 2
    written = [json.loads(line) for line in (root / "out" / "v.jsonl").read_text().splitlines()]
    assert [w["index"] for w in written] == [0, 1]
    assert written[1]["embedding"] == embedded.structured_content["embeddings"][1]
    assert [r["index"] for r in ranked.structured_content["results"]] == [1, 2, 0]
    (match,) = found.structured_content["matches"]
    assert match["path"] == str(root / "docs" / "ops.md") and match["start_line"] == 1
    assert texts(found)[0].startswith(f"{root / 'docs' / 'ops.md'}:1-7 (")
    assert outside.is_error and "not inside a folder this server may read" in texts(outside)[0]


async def test_cancelling_an_embed_over_stdio_closes_every_upstream_request(
    simulator: SimulatorServer,
) -> None:
    simulator.sim.enqueue({"path": "/embeddings", "delay": 10, "times": 4})
    env = server_env(simulator.base_url)
    async with stdio_session(env) as s:
        async with anyio.create_task_group() as tg:
            # 600 texts at the default 256 per request: 3 requests
            tg.start_soon(s.call, "embed", {"texts": [f"t{i}" for i in range(600)], "dimensions": 4})
            await simulator.sim.wait_for_async(lambda rs: len(rs) == 3, timeout=10)
            cancelled_at = time.monotonic()
            tg.cancel_scope.cancel()
        records = await simulator.sim.wait_for_async(lambda rs: all(r["outcome"] for r in rs), timeout=5)
        assert [r["outcome"] for r in records] == ["disconnected"] * 3
        assert all(r["disconnected_at"] - cancelled_at < 1.0 for r in records)
        after = await s.call("rerank", {"query": "q", "documents": ["q"]})
    assert not after.is_error, "the server stays healthy after a cancel"
