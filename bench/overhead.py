"""1. Per-call overhead: one `chat` over stdio vs the same request sent directly, vs a bare MCP echo.

All run in the same loop, interleaved in a shuffled order each round, so drifts in machine load hit
them alike. `ours / (direct + echo)` is 1.0 when fw-mcp costs no more than an upstream request plus
any MCP round trip; what is above 1.0 is fw-mcp's own work. A second fw-mcp server runs with a
budget on (a SQLite store of its own and a daily limit, so each call also reserves its maximum
before going upstream): `ours_budget / ours` is what a budget costs per call (issue 13: <= 1.05).
"""

from __future__ import annotations

import random
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import anyio

from bench.common import (
    ECHO_CMD,
    FW_CMD,
    LOG_DIR,
    SimProcess,
    direct_chat,
    direct_client,
    median,
    ms,
    no_progress,
    quantile,
    result_text,
    server_env,
    stdio_session,
)

PROMPT = "Explain CRDTs in two sentences. Round {i}."
BUDGET_TARGET = 1.05


def budget_config() -> Path:
    """A config with a daily limit no round reaches, on a SQLite file of its own."""
    path = LOG_DIR / "budget.toml"
    path.write_text(f'[budget]\nstore = "{LOG_DIR / "budget-usage.db"}"\ndaily_usd = 1000\n')
    return path


async def run(sim: SimProcess, *, rounds: int, warmup: int, latency: float) -> dict[str, Any]:
    sim.reset()
    sim.configure(latency=latency)
    env = server_env(sim.base_url)
    async with (
        direct_client() as http,
        stdio_session(FW_CMD, env) as fw,
        stdio_session(FW_CMD, {**env, "FW_MCP_CONFIG": str(budget_config())}) as budgeted,
        stdio_session(ECHO_CMD, env) as echo,
    ):

        async def direct(i: int) -> None:
            text = await direct_chat(http, sim.base_url, PROMPT.format(i=i))
            assert text.startswith("Simulated"), text

        async def bare_echo(i: int) -> None:
            prompt = PROMPT.format(i=i)
            result = await echo.client.call_tool("echo", {"text": prompt}, progress_callback=no_progress)
            assert result_text(result) == prompt

        async def ours(i: int) -> None:
            result = await fw.client.call_tool(
                "chat", {"prompt": PROMPT.format(i=i)}, progress_callback=no_progress
            )
            assert result_text(result).startswith("Simulated")

        async def ours_budget(i: int) -> None:
            result = await budgeted.client.call_tool(
                "chat", {"prompt": PROMPT.format(i=i)}, progress_callback=no_progress
            )
            assert result_text(result).startswith("Simulated"), result_text(result)

        async def ours_no_progress(i: int) -> None:
            result = await fw.client.call_tool("chat", {"prompt": PROMPT.format(i=i)})
            assert result_text(result).startswith("Simulated")

        variants: dict[str, Callable[[int], Awaitable[None]]] = {
            "direct": direct,
            "echo": bare_echo,
            "ours": ours,
            "ours_budget": ours_budget,
            "ours_no_progress_token": ours_no_progress,
        }
        samples: dict[str, list[float]] = {name: [] for name in variants}
        rng = random.Random(5)
        for i in range(warmup + rounds):
            order = list(variants)
            rng.shuffle(order)
            for name in order:
                t0 = time.perf_counter()
                with anyio.fail_after(30):
                    await variants[name](i)
                if i >= warmup:
                    samples[name].append(time.perf_counter() - t0)
    med = {name: median(xs) for name, xs in samples.items()}
    ratio = med["ours"] / (med["direct"] + med["echo"])
    budget_ratio = med["ours_budget"] / med["ours"]
    return {
        "upstream_latency_ms": ms(latency),
        "rounds": rounds,
        "median_ms": {name: ms(v) for name, v in med.items()},
        "p90_ms": {name: ms(quantile(xs, 0.9)) for name, xs in samples.items()},
        "added_ms": ms(med["ours"] - med["direct"] - med["echo"]),
        "ratio": round(ratio, 3),
        "ratio_no_progress_token": round(med["ours_no_progress_token"] / (med["direct"] + med["echo"]), 3),
        "target": 1.15,
        "met": ratio <= 1.15,
        "ratio_budget": round(budget_ratio, 3),
        "budget_added_ms": ms(med["ours_budget"] - med["ours"]),
        "budget_target": BUDGET_TARGET,
        "budget_met": budget_ratio <= BUDGET_TARGET,
    }
