"""`fw-mcp search` and `fw-mcp call embed|rerank|search`: the new tools from the shell, as a person runs them."""

from __future__ import annotations

import json
from pathlib import Path

from fw_mcp.commands.search import grep_lines
from fw_mcp.simulator import SimulatorServer
from tests.cli.helpers import sim_env, spawn

NOTES = "# Ops\n\nDeploys happen on Tuesdays.\n\n## Retry policy\n\nRequests are retried twice.\n"


def docs(tmp_path: Path) -> Path:
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "ops.md").write_text(NOTES)
    (tmp_path / "docs" / "lunch.md").write_text("Soup at noon.\n")
    return tmp_path


def test_search_prints_matches_like_grep_n(simulator: SimulatorServer, tmp_path: Path) -> None:
    ran = spawn(
        "search",
        "retry policy",
        "./docs",
        "--top-k",
        "2",
        env=sim_env(simulator.base_url),
        cwd=docs(tmp_path),
    )
    assert ran.code == 0, ran.err
    blocks = ran.out.split("--\n")
    assert blocks[0].splitlines() == [
        "docs/ops.md:1:# Ops",
        "docs/ops.md:2:",
        "docs/ops.md:3:Deploys happen on Tuesdays.",
        "docs/ops.md:4:",
        "docs/ops.md:5:## Retry policy",
        "docs/ops.md:6:",
        "docs/ops.md:7:Requests are retried twice.",
    ]
    assert blocks[1] == "docs/lunch.md:1:Soup at noon.\n"
    assert "searched 2 files" in ran.err and "Traceback" not in ran.err


def test_search_outside_the_allowed_folders_is_a_usage_style_failure(
    simulator: SimulatorServer, tmp_path: Path
) -> None:
    root = docs(tmp_path)
    ran = spawn("search", "x", "/etc", env=sim_env(simulator.base_url), cwd=root)
    assert ran.code == 1 and ran.out == ""
    assert "not inside a folder this server may read" in ran.err
    assert simulator.sim.requests == []


def test_search_json_and_call_go_the_same_way(simulator: SimulatorServer, tmp_path: Path) -> None:
    root = docs(tmp_path)
    env = sim_env(simulator.base_url)
    by_search = spawn("search", "soup", "docs", "--json", env=env, cwd=root)
    by_call = spawn(
        "call", "search", "--arg", "query=soup", "--arg", 'paths=["docs"]', "--json", env=env, cwd=root
    )
    assert by_search.code == by_call.code == 0, by_search.err + by_call.err
    one, two = json.loads(by_search.out), json.loads(by_call.out)
    assert one["structuredContent"]["matches"] == two["structuredContent"]["matches"]
    assert one["structuredContent"]["matches"][0]["path"] == "docs/lunch.md"


def test_call_embed_and_rerank(simulator: SimulatorServer) -> None:
    env = sim_env(simulator.base_url)
    embedded = spawn("call", "embed", "--arg", 'texts=["a b", "c"]', "--arg", "dimensions=4", env=env)
    ranked = spawn("call", "rerank", "--arg", "query=soup", "--arg", 'documents=["tea", "hot soup"]', env=env)
    assert embedded.code == 0, embedded.err
    assert "2 vectors of 4 numbers" in embedded.out
    assert ranked.code == 0, ranked.err
    assert ranked.out.splitlines()[0].startswith("1. [1] ") and "hot soup" in ranked.out
    assert "[model: qwen3-reranker-8b" in ranked.err


def test_grep_lines_number_from_the_passage_start() -> None:
    match = {"path": "a.md", "start_line": 10, "text": "x\n\ny"}
    assert grep_lines(match) == ["a.md:10:x", "a.md:11:", "a.md:12:y"]
