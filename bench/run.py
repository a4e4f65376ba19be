"""Run the fw-mcp benchmark: `python -m bench [--quick] [--only overhead,streaming,...]`.

Also runs as `python bench/run.py`. Starts the simulator in its own process on loopback and
measures everything in this one run (see bench/README.md for how to read the output).
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # `python bench/run.py`: make `bench` importable, and not shadow stdlib names
    _root = str(Path(__file__).resolve().parents[1])
    sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
    sys.path.insert(0, _root)

from bench import batch, concurrency, http_load, memory, overhead, report, search, startup, streaming
from bench.common import EXTRA_SERVER_ENV, LOG_DIR, SIM_CMD, TIMED_SIM_CMD, SimProcess

SECTIONS = ("overhead", "concurrency", "streaming", "startup", "memory", "http", "search", "batch")
HERE = Path(__file__).resolve().parent

# (full, quick) repetitions
PLAN: dict[str, dict[str, Any]] = {
    "overhead": {"rounds": (200, 40), "warmup": (10, 5)},
    "concurrency": {"rounds": (8, 3)},
    "streaming": {"calls": (15, 4), "reps": (6, 2)},
    "startup": {"rounds": (30, 4), "instructions": (True, False)},
    "memory": {"calls": (1000, 1000)},
    "http": {"duration": (10.0, 2.5), "warmup": (3.0, 1.0), "single_calls": (20, 8)},
    "search": {"rounds": (3, 1)},
    "batch": {"input_bytes": (200 * 1024 * 1024, 20 * 1024 * 1024)},
}
PER_CALL_LATENCY = 0.05  # "a fixed upstream latency": 50 ms, a fast model's time to first byte
CONCURRENCY_LATENCY = 0.3  # the 300 ms upstream


def _n(section: str, key: str, quick: bool) -> Any:
    return PLAN[section][key][1 if quick else 0]


async def measure(sections: list[str], quick: bool) -> dict[str, Any]:
    results: dict[str, Any] = {}
    timings: dict[str, float] = {}

    def start(name: str) -> float:
        print(f"... {name}", file=sys.stderr, flush=True)
        return time.monotonic()

    with SimProcess(SIM_CMD, latency=PER_CALL_LATENCY) as sim:
        if "startup" in sections:
            t0 = start("startup")
            results["startup"] = startup.run(
                sim.base_url,
                rounds=_n("startup", "rounds", quick),
                instructions=_n("startup", "instructions", quick),
            )
            timings["startup"] = time.monotonic() - t0
        if "overhead" in sections:
            t0 = start("overhead")
            results["overhead"] = await overhead.run(
                sim,
                rounds=_n("overhead", "rounds", quick),
                warmup=_n("overhead", "warmup", quick),
                latency=PER_CALL_LATENCY,
            )
            timings["overhead"] = time.monotonic() - t0
        if "concurrency" in sections:
            t0 = start("concurrency")
            results["concurrency"] = await concurrency.run(
                sim, rounds=_n("concurrency", "rounds", quick), latency=CONCURRENCY_LATENCY
            )
            timings["concurrency"] = time.monotonic() - t0
        if "memory" in sections:
            t0 = start("memory")
            results["memory"] = await memory.run(
                sim, calls=_n("memory", "calls", quick), image_bytes=9_000_000
            )
            timings["memory"] = time.monotonic() - t0
        if "http" in sections:
            t0 = start("http")
            results["http"] = await http_load.run(
                sim,
                latency=PER_CALL_LATENCY,
                clients=64,
                warmup=_n("http", "warmup", quick),
                duration=_n("http", "duration", quick),
                single_calls=_n("http", "single_calls", quick),
            )
            timings["http"] = time.monotonic() - t0
        if "search" in sections:
            t0 = start("search")
            results["search"] = await search.run(sim, rounds=_n("search", "rounds", quick))
            timings["search"] = time.monotonic() - t0
        if "batch" in sections:
            t0 = start("batch")
            results["batch"] = await batch.run(sim, input_bytes=_n("batch", "input_bytes", quick))
            timings["batch"] = time.monotonic() - t0
    if "streaming" in sections:
        t0 = start("streaming")
        with SimProcess(TIMED_SIM_CMD, latency=PER_CALL_LATENCY) as timed:
            results["streaming"] = await streaming.run(
                timed,
                calls=_n("streaming", "calls", quick),
                words=60,
                token_delay=0.02,
                reps=_n("streaming", "reps", quick),
            )
        timings["streaming"] = time.monotonic() - t0
    results["_seconds"] = {k: round(v, 1) for k, v in timings.items()}
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--quick", action="store_true", help="fewer repetitions: a smoke run in under 2 minutes"
    )
    parser.add_argument(
        "--only", metavar="LIST", help=f"comma-separated sections among {', '.join(SECTIONS)}"
    )
    parser.add_argument(
        "--out", metavar="PATH", default=str(HERE / "results.json"), help="default: bench/results.json"
    )
    parser.add_argument(
        "--plot",
        metavar="PATH",
        default=str(HERE / "results.png"),
        help="default: bench/results.png (needs matplotlib: pip install -e '.[bench]')",
    )
    parser.add_argument("--markdown", action="store_true", help="also print the summary as a Markdown table")
    parser.add_argument(
        "--server-env",
        metavar="KEY=VALUE",
        action="append",
        default=[],
        help="extra environment for every server started (repeatable), e.g. to try a setting",
    )
    args = parser.parse_args(argv)
    sections = [s.strip() for s in args.only.split(",")] if args.only else list(SECTIONS)
    unknown = [s for s in sections if s not in SECTIONS]
    if unknown:
        parser.error(f"unknown sections {unknown}; choose among {', '.join(SECTIONS)}")

    for item in args.server_env:
        key, sep, value = item.partition("=")
        if not sep or not key:
            parser.error(f"--server-env wants KEY=VALUE, got {item!r}")
        EXTRA_SERVER_ENV[key] = value

    started = time.monotonic()
    meta = {
        "started": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
        "quick": args.quick,
        "sections": sections,
        "server_env": dict(EXTRA_SERVER_ENV),
        "machine": report.machine(),
    }
    results = asyncio.run(measure(sections, args.quick))
    meta["seconds"] = round(time.monotonic() - started, 1)
    meta["section_seconds"] = results.pop("_seconds")
    meta["machine"]["loadavg_at_end"] = [round(x, 2) for x in os.getloadavg()]
    meta["logs"] = str(LOG_DIR)
    rows = report.summary(results)
    Path(args.out).write_text(
        json.dumps({"meta": meta, "summary": rows, "results": results}, indent=2) + "\n"
    )
    m = meta["machine"]
    print(
        f"\nfw-mcp benchmark at {m['commit'] or '?'}, {meta['started']}{' (quick)' if args.quick else ''}: {m['nproc']} CPUs ({m['cpu']}), "
        f"Python {m['python']}, load {m['loadavg_at_start']} -> {m['loadavg_at_end']}, {meta['seconds']} s\n"
    )
    print(report.table(rows))
    if args.markdown:
        print("\n" + report.markdown(rows))
    print(f"\nwrote {args.out}", end="")
    if args.plot and report.plot(results, Path(args.plot)):
        print(f" and {args.plot}", end="")
    print(f"; server logs in {LOG_DIR}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
