"""3. Streaming: first token to first progress notification, notification rate, text fidelity.

Runs against the timed simulator (`bench/sim.py`), which stamps the moment each response
piece is handed to the socket; the host stamps the moment each progress notification reaches its
callback. Both are CLOCK_MONOTONIC, so their difference is the latency fw-mcp adds to the first
token. Each call gets a scripted answer of unique words sent `token_delay` apart, so the text the
notifications carried can be reassembled and compared with the final answer and the script.

Also counts upstream TCP connections (distinct client ports the simulator saw) per call, and the
CPU fw-mcp spends per streamed token against a direct client reading the same stream.
"""

from __future__ import annotations

import json
import os
import time
from typing import Any

import anyio
import httpx2

from bench.common import (
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

TAIL = 160  # fw_mcp.tools.progress._TAIL: a notification carries at most this much of the text


def first_content_at(sends: list[tuple[float, str]]) -> float | None:
    """When the simulator sent the first piece holding a non-empty content delta."""
    for t, data in sends:
        for line in data.splitlines():
            if not line.startswith("data: {"):
                continue
            chunk = json.loads(line[len("data: ") :])
            for choice in chunk.get("choices") or []:
                if (choice.get("delta") or {}).get("content"):
                    return t
    return None


def reassemble(tails: list[str]) -> str:
    """The whole text from the successive tails (each the last <= TAIL characters of the text so far)."""
    text = ""
    for tail in tails:
        if len(tail) < TAIL:
            text = tail  # the whole text so far
            continue
        overlap = next(k for k in range(len(tail), -1, -1) if text.endswith(tail[:k]))
        text += tail[overlap:]
    return text


async def per_token_cpu(sim: SimProcess, fw: Any, *, reps: int, long: int = 4000) -> dict[str, Any]:
    """CPU per streamed token: fw-mcp's server process vs a direct client reading the same stream.

    Answers of 10 and `long` words sent in one burst; (CPU(long) - CPU(10)) / (long - 10).
    """
    used: dict[tuple[str, int], float] = {}
    async with direct_client() as http:
        for words in (10, long):
            content = " ".join(f"t{j}" for j in range(words))
            for who in ("ours", "direct"):
                pid = fw.pid if who == "ours" else os.getpid()
                samples = []
                for i in range(reps + 2):
                    key = f"per-token {who} {words} {i}"
                    sim.control("script", {"match": key, "reply": {"content": content}})
                    before = on_cpu_seconds(pid)
                    if who == "ours":
                        result = await fw.client.call_tool(
                            "chat", {"prompt": key, "max_tokens": long + 10}, progress_callback=no_progress
                        )
                        assert result_text(result) == content
                    else:
                        assert await direct_chat(http, sim.base_url, key) == content
                    if i >= 2:
                        samples.append(on_cpu_seconds(pid) - before)
                used[(who, words)] = median(samples)
    per = {who: (used[(who, long)] - used[(who, 10)]) / (long - 10) for who in ("ours", "direct")}
    return {
        "tokens": long,
        "server_us_per_token": round(per["ours"] * 1e6, 2),
        "direct_client_us_per_token": round(per["direct"] * 1e6, 2),
        "server_ms_per_short_call": ms(used[("ours", 10)]),
        "direct_client_ms_per_short_call": ms(used[("direct", 10)]),
    }


async def run(
    sim: SimProcess, *, calls: int, words: int, token_delay: float, interval: float = 0.1, reps: int = 6
) -> dict[str, Any]:
    env = server_env(sim.base_url)
    first_token: list[float] = []
    rates: list[float] = []
    counts: list[int] = []
    mismatches: list[str] = []
    ports: set[int] = set()
    async with stdio_session(FW_CMD, env) as fw, httpx2.AsyncClient() as control:
        for i in range(-1, calls):  # call -1 warms up
            key = f"stream {i}: count for me"
            content = " ".join(f"w{i}x{j}" for j in range(words))
            sim.control("script", {"match": key, "reply": {"content": content}, "token_delay": token_delay})
            seen: list[tuple[float, str]] = []

            async def on_progress(
                progress: float,
                total: float | None,
                message: str | None,
                seen: list[tuple[float, str]] = seen,
            ) -> None:
                seen.append((time.monotonic(), message or ""))

            with anyio.fail_after(60):
                result = await fw.client.call_tool("chat", {"prompt": key}, progress_callback=on_progress)
            sends = (await control.get(sim.root_url + "/_bench/sends")).json().get(key, [])
            if i < 0:
                continue
            text = result_text(result)
            sent_at = first_content_at([(t, d) for t, d in sends])
            if sent_at is None or not seen:
                mismatches.append(f"call {i}: no first token or no progress")
                continue
            first_token.append(seen[0][0] - sent_at)
            counts.append(len(seen))
            if len(seen) > 1:
                rates.append((len(seen) - 1) / (seen[-1][0] - seen[0][0]))
            streamed = reassemble([m for _, m in seen])
            if not (text == content == streamed):
                mismatches.append(f"call {i}: final {text[:40]!r}, streamed {streamed[:40]!r}")
        ports_seen = (await control.get(sim.root_url + "/_bench/ports")).json()
        ports.update(ports_seen)
        cpu = await per_token_cpu(sim, fw, reps=reps)
    stream_s = words * token_delay
    rate = median(rates)
    ttft = median(first_token)
    return {
        "calls": calls,
        "tokens_per_call": words,
        "token_delay_ms": ms(token_delay),
        "stream_seconds": round(stream_s, 2),
        "first_token_to_progress_ms": {
            "p50": ms(ttft),
            "p90": ms(quantile(first_token, 0.9)),
            "max": ms(max(first_token, default=float("nan"))),
        },
        "notifications_per_call": {
            "median": median([float(c) for c in counts]),
            "max": max(counts, default=0),
        },
        "notifications_per_second": round(rate, 2),
        "coalescing_interval_ms": ms(interval),
        "text_matches": not mismatches,
        "mismatches": mismatches[:5],
        "upstream_connections_per_call": round(len(ports) / (calls + 1), 3),
        "cpu": cpu,
        "met": {"first_token": ttft < 0.1, "rate": rate <= 11.0, "text": not mismatches},
    }
