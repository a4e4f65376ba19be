"""7. search over this repository's own files: a first search, then the same search again (cached).

The server runs over stdio as a host starts it, allowed to read the repository. The first search
embeds every passage; the second should send only the query to the embeddings endpoint (the passage
vectors come from the in-memory cache) plus the one rerank request. Upstream requests are counted
from the simulator's own records, so the figure is what crossed the wire.
"""

from __future__ import annotations

import time
from typing import Any

from bench.common import FW_CMD, ROOT, SimProcess, ms, no_progress, server_env, stdio_session

QUERY = "how long does the client wait before retrying a failed request"


async def run(sim: SimProcess, *, rounds: int) -> dict[str, Any]:
    """`rounds` server processes, each running the same search twice; figures from the median run."""
    runs = [await _one_server(sim) for _ in range(rounds)]
    runs.sort(key=lambda r: r["first_ms"])
    median = runs[len(runs) // 2]
    second_inputs = median["second"]["embedding_inputs"]
    return {
        **median,
        "rounds": rounds,
        "query": QUERY,
        "met": second_inputs == 1 and median["second"]["requests"] == 2,
    }


async def _one_server(sim: SimProcess) -> dict[str, Any]:
    sim.reset()
    sim.configure(latency=0.0)
    env = server_env(sim.base_url, FW_MCP_ALLOWED_DIRS=str(ROOT))
    out: dict[str, Any] = {}
    async with stdio_session(FW_CMD, env) as fw:
        for name in ("first", "second"):
            before = len(sim.control("requests"))
            t0 = time.perf_counter()
            result = await fw.client.call_tool(
                "search", {"query": QUERY, "paths": [str(ROOT)]}, progress_callback=no_progress
            )
            elapsed = time.perf_counter() - t0
            assert not result.is_error, result.content
            data = result.structured_content or {}
            out[f"{name}_ms"] = ms(elapsed)
            out[name] = _upstream(sim.control("requests")[before:]) | {"searched": data["searched"]}
            out.setdefault("top_match", f"{data['matches'][0]['path']}:{data['matches'][0]['start_line']}")
    return out


def _upstream(records: list[dict[str, Any]]) -> dict[str, Any]:
    """Requests per endpoint, and how many texts went to be embedded."""
    embeddings = [r for r in records if r["path"].endswith("/embeddings")]
    return {
        "requests": len(records),
        "embeddings_requests": len(embeddings),
        "rerank_requests": sum(r["path"].endswith("/rerank") for r in records),
        "embedding_inputs": sum(len(r["body"]["input"]) for r in embeddings),
    }
