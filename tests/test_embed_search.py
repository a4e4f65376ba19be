"""search through the real server and the official MCP client: files -> passages -> embed -> rerank."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from fw_mcp.simulator import SimulatorServer
from tests.conftest import make_settings
from tests.test_embed_tools import call, connect, text, upstream

RETRY = """# Networking

Connections are pooled.

## Retry policy

A failed request is retried twice. The retry policy waits with exponential backoff,
and honours Retry-After when Fireworks sends it.
"""
FRUIT = "Bananas are yellow.\n\nApples are red or green, and pears are sweet.\n"


@pytest.fixture
def docs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "docs" / "sub").mkdir(parents=True)
    (tmp_path / "docs" / "net.md").write_text(RETRY)
    (tmp_path / "docs" / "sub" / "fruit.txt").write_text(FRUIT)
    (tmp_path / "docs" / "logo.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    monkeypatch.setenv("FW_MCP_ALLOWED_DIRS", str(tmp_path))
    return tmp_path / "docs"


async def test_search_finds_the_passage_and_its_lines(simulator: SimulatorServer, docs: Path) -> None:
    async with connect(make_settings(simulator.base_url)) as client:
        result = await call(
            client, "search", {"query": "retry policy backoff", "paths": [str(docs)], "top_k": 2}
        )
    assert not result.is_error, text(result)
    data = result.structured_content
    best = data["matches"][0]
    assert best["path"] == str(docs / "net.md")
    assert (best["start_line"], best["end_line"]) == (1, 8)
    assert best["text"] == RETRY.strip()
    assert best["score"] > data["matches"][1]["score"]
    assert data["searched"] == {"files": 2, "passages": 2, "embedded": 2}
    assert data["model"] == "fireworks/qwen3-embedding-8b"
    assert data["rerank_model"] == "accounts/fireworks/models/qwen3-reranker-8b"
    assert data["usage"]["total_tokens"] > 0
    assert any("logo.png" in note and "binary" in note for note in data["notes"])
    assert text(result).startswith(f"{docs / 'net.md'}:1-8 (")
    (embedded,) = upstream(simulator, "/embeddings")
    assert embedded["body"]["input"][0] == "retry policy backoff" and len(embedded["body"]["input"]) == 3
    assert embedded["body"]["dimensions"] == 1024


async def test_a_second_search_sends_only_the_query(simulator: SimulatorServer, docs: Path) -> None:
    async with connect(make_settings(simulator.base_url)) as client:
        first = await call(client, "search", {"query": "retry", "paths": [str(docs)]})
        (docs / "sub" / "fruit.txt").write_text(FRUIT + "\nCherries are small.\n")  # one passage changes
        second = await call(client, "search", {"query": "bananas", "paths": [str(docs)]})
        third = await call(client, "search", {"query": "retry", "paths": [str(docs)]})
    assert first.structured_content["searched"]["embedded"] == 2
    assert second.structured_content["searched"]["embedded"] == 1
    assert third.structured_content["searched"]["embedded"] == 0
    assert third.structured_content["matches"][0] == first.structured_content["matches"][0]
    inputs = [r["body"]["input"] for r in upstream(simulator, "/embeddings")]
    assert inputs[1] == ["bananas", FRUIT + "\nCherries are small."]
    assert inputs[2] == ["retry"]
    assert second.structured_content["matches"][0]["path"] == str(docs / "sub" / "fruit.txt")


async def test_glob_and_a_named_file(simulator: SimulatorServer, docs: Path) -> None:
    async with connect(make_settings(simulator.base_url)) as client:
        by_glob = await call(client, "search", {"query": "apples", "paths": [str(docs)], "glob": "*.txt"})
        named = await call(client, "search", {"query": "apples", "paths": [str(docs / "net.md")]})
    assert {m["path"] for m in by_glob.structured_content["matches"]} == {str(docs / "sub" / "fruit.txt")}
    assert {m["path"] for m in named.structured_content["matches"]} == {str(docs / "net.md")}


@pytest.mark.parametrize(
    ("args", "argument"),
    [
        ({"query": "q", "paths": ["/etc"]}, "paths[0]"),
        ({"query": "q", "paths": []}, "paths"),
        ({"query": " ", "paths": ["DOCS"]}, "query"),
        ({"query": "q", "paths": ["DOCS"], "top_k": 0}, "top_k"),
        ({"query": "q", "paths": ["DOCS/missing.md"]}, "paths[0]"),
    ],
)
async def test_refused_searches_send_nothing_upstream(
    simulator: SimulatorServer, docs: Path, args: dict[str, Any], argument: str
) -> None:
    args = {**args, "paths": [p.replace("DOCS", str(docs)) for p in args["paths"]]}
    async with connect(make_settings(simulator.base_url)) as client:
        result = await call(client, "search", args)
    assert result.is_error and f"`{argument}" in text(result), text(result)
    assert simulator.sim.requests == []


async def test_limits_say_what_was_left_out(simulator: SimulatorServer, docs: Path) -> None:
    for i in range(5):
        (docs / f"extra{i}.md").write_text(f"extra file {i}\n")
    settings = make_settings(simulator.base_url, files={"max_passages": 4})
    async with connect(settings) as client:
        result = await call(client, "search", {"query": "extra", "paths": [str(docs)]})
    assert not result.is_error
    assert result.structured_content["searched"]["passages"] == 4
    assert any("max_passages" in n for n in result.structured_content["notes"])
    assert "max_passages" in text(result)


async def test_a_folder_without_text_files_answers_without_calling_upstream(
    simulator: SimulatorServer, docs: Path
) -> None:
    async with connect(make_settings(simulator.base_url)) as client:
        result = await call(client, "search", {"query": "q", "paths": [str(docs)], "glob": "*.png"})
    assert not result.is_error
    assert result.structured_content["matches"] == [] and "No passages" in text(result)
    assert simulator.sim.requests == []


async def test_a_failing_reranker_fails_the_search_clearly(simulator: SimulatorServer, docs: Path) -> None:
    simulator.sim.enqueue({"path": "/rerank", "error": "404_model"})
    async with connect(make_settings(simulator.base_url)) as client:
        result = await call(client, "search", {"query": "retry", "paths": [str(docs)]})
    assert result.is_error and "HTTP 404" in text(result)
