"""2. Concurrency: N `chat` calls at once over one stdio session (a host with many parallel calls)
vs the same N requests at once on one pooled httpx2 client, with a slow (300 ms) upstream.

A batch's wall time is from the first request to the last answer. Batches of fw-mcp, direct and
a bare MCP echo server take turns (the order rotates every round); the ratio compares median
batch wall times. CPU time used per call by each process (schedstat) shows where the time goes
when the machine, not the upstream, is the limit. `reference_direct_plus_echo` is what a server
that added nothing to the MCP and HTTP work would score: (direct + bare echo) / direct.
"""

from __future__ import annotations

import asyncio
import os
import time
from typing import Any

import anyio

from bench.common import (
    ECHO_CMD,
    FW_CMD,
    SimProcess,
    direct_chat,
    direct_client,
    median,
    ms,
    no_progress,
    on_cpu_seconds,
    quantile,
    result_text,
    server_env,
    stdio_session,
)

TARGETS = {32: 1.15, 256: 1.3}


async def _batch(call: Any, n: int, tag: str) -> tuple[float, list[float], int]:
    """Run n calls at once; (wall time, per-call latencies, errors)."""
    latencies: list[float] = []
    errors = 0

    async def one(i: int) -> None:
        nonlocal errors
        t0 = time.perf_counter()
        try:
            with anyio.fail_after(60):
                await call(f"{tag} call {i}: say something short.")
        except Exception:
            errors += 1
        latencies.append(time.perf_counter() - t0)

    t0 = time.perf_counter()
    await asyncio.gather(*(one(i) for i in range(n)))
    return time.perf_counter() - t0, latencies, errors


async def run(
    sim: SimProcess, *, rounds: int, latency: float, sizes: tuple[int, ...] = (32, 256)
) -> dict[str, Any]:
    sim.reset()
    sim.configure(latency=latency)
    env = server_env(sim.base_url)
    out: dict[str, Any] = {"upstream_latency_ms": ms(latency), "rounds": rounds}
    async with (
        direct_client() as http,
        stdio_session(FW_CMD, env) as fw,
        stdio_session(ECHO_CMD, env) as echo,
    ):

        async def direct(prompt: str) -> None:
            text = await direct_chat(http, sim.base_url, prompt)
            assert text.startswith("Simulated"), text

        async def bare_echo(prompt: str) -> None:
            result = await echo.client.call_tool("echo", {"text": prompt}, progress_callback=no_progress)
            assert result_text(result) == prompt

        async def ours(prompt: str) -> None:
            result = await fw.client.call_tool("chat", {"prompt": prompt}, progress_callback=no_progress)
            assert result_text(result).startswith("Simulated")

        variants = {"direct": direct, "echo": bare_echo, "ours": ours}
        assert sim.proc is not None
        pids = {"simulator": sim.proc.pid, "server": fw.pid, "host": os.getpid(), "echo_server": echo.pid}
        for n in sizes:
            for name, call in variants.items():  # warm-up: open the connections, load everything
                await _batch(call, n, f"warm-{name}")
            walls: dict[str, list[float]] = {name: [] for name in variants}
            lats: dict[str, list[float]] = {name: [] for name in variants}
            cpu: dict[str, dict[str, float]] = {name: dict.fromkeys(pids, 0.0) for name in variants}
            errors = dict.fromkeys(variants, 0)
            for r in range(rounds):
                order = list(variants)
                order = order[r % 3 :] + order[: r % 3]  # rotate, so no variant always runs first
                for name in order:
                    before = {k: on_cpu_seconds(pid) for k, pid in pids.items()}
                    wall, per_call, errs = await _batch(variants[name], n, f"{name}-{n}-{r}")
                    for k, pid in pids.items():
                        cpu[name][k] += on_cpu_seconds(pid) - before[k]
                    walls[name].append(wall)
                    lats[name] += per_call
                    errors[name] += errs
            wall = {k: median(v) for k, v in walls.items()}
            ratio = wall["ours"] / wall["direct"]
            out[str(n)] = {
                "concurrent": n,
                "median_wall_ms": {k: ms(v) for k, v in wall.items()},
                "call_p50_ms": {k: ms(median(v)) for k, v in lats.items()},
                "call_p99_ms": {k: ms(quantile(v, 0.99)) for k, v in lats.items()},
                "cpu_ms_per_call": {
                    name: {k: ms(v / (n * rounds)) for k, v in used.items() if v > 0.0005 * n * rounds}
                    for name, used in cpu.items()
                },
                "errors": errors,
                "ratio": round(ratio, 3),
                "reference_direct_plus_echo": round((wall["direct"] + wall["echo"]) / wall["direct"], 3),
                "target": TARGETS.get(n),
                "met": ratio <= TARGETS.get(n, 1.3) and errors["ours"] == 0,
            }
    return out
