"""embed, rerank and search over streamable HTTP: `python -m fw_mcp --transport http`, as operators run it."""

from __future__ import annotations

import json
from pathlib import Path

from fw_mcp.simulator import SimulatorServer
from tests.http.helpers import call, http_server, mcp_client, server_env, texts


async def test_all_three_tools_over_http(simulator: SimulatorServer, tmp_path: Path) -> None:
    docs, out = tmp_path / "docs", tmp_path / "out"
    docs.mkdir()
    out.mkdir()
    (docs / "a.md").write_text("The retry policy waits between attempts.\n")
    (docs / "b.md").write_text("The canteen serves soup.\n")
    env = server_env(simulator.base_url, FW_MCP_ALLOWED_DIRS=str(docs), FW_MCP_OUTPUT_DIR=str(out))
    with http_server(env) as server:
        for mode in ("legacy", "auto"):
            async with mcp_client(server.url, mode=mode) as (client, _):
                embedded = await call(
                    client, "embed", {"texts": ["x y", "z"], "dimensions": 8, "output_path": f"{mode}.jsonl"}
                )
                ranked = await call(
                    client, "rerank", {"query": "soup", "documents": ["tea", "soup"], "top_n": 1}
                )
                found = await call(client, "search", {"query": "retry", "paths": [str(docs)], "top_k": 1})
                refused = await call(client, "embed", {"texts": []})
            assert not embedded.is_error, texts(embedded)
            assert len(embedded.structured_content["embeddings"]) == 2
            lines = (out / f"{mode}.jsonl").read_text().splitlines()
            assert [json.loads(line)["index"] for line in lines] == [0, 1]
            assert ranked.structured_content["results"] == [
                {"index": 1, "score": ranked.structured_content["results"][0]["score"], "document": "soup"}
            ]
            assert found.structured_content["matches"][0]["path"] == str(docs / "a.md")
            assert texts(found)[0].startswith(f"{docs / 'a.md'}:1-1 (")
            assert refused.is_error and "`texts`" in texts(refused)[0]
