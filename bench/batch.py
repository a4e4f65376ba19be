"""8. Memory of the server through a 200 MB batch: `batch_submit input_path`, then `batch_results
output_path`, with fw-mcp spawned over stdio as a host spawns it.

A JSON Lines input of about 200 MB (requests of about 2 KB each) is written into a folder the server
may read; the simulator (fast jobs, answers padded to about the same total size) runs the job. The
server's peak RSS (VmHWM, reset to the current RSS first with clear_refs) is read after the submit
(every line checked, the file uploaded) and after the results are downloaded, checked and written
to the output folder; the figure is the highest peak above the idle RSS.
"""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path
from typing import Any

import anyio

from bench.common import (
    FW_CMD,
    LOG_DIR,
    SimProcess,
    no_progress,
    proc_status,
    reset_peak,
    server_env,
    stdio_session,
)

MB = 1024 * 1024
PEAK_TARGET_MB = 100.0
ACCOUNT = "bench-account"
_WORDS = [
    "the",
    "quick",
    "brown",
    "fox",
    "jumps",
    "over",
    "a",
    "lazy",
    "dog",
    "while",
    "seven",
    "tired",
    "engineers",
    "read",
    "batch",
    "logs",
]


def write_input(path: Path, target_bytes: int, line_bytes: int = 2048) -> tuple[int, int]:
    """About `target_bytes` of `{"custom_id", "body"}` lines of about `line_bytes`; (bytes, lines)."""
    filler = " ".join(_WORDS[i % len(_WORDS)] for i in range(line_bytes // 5))[: line_bytes - 160]
    lines = 0
    with path.open("w", encoding="utf-8") as out:
        while out.tell() < target_bytes:
            body = {
                "messages": [{"role": "user", "content": f"Label document {lines}: {filler}"}],
                "max_tokens": 400,
            }
            out.write(json.dumps({"custom_id": f"doc-{lines:07d}", "body": body}) + "\n")
            lines += 1
    return path.stat().st_size, lines


async def _call(fw: Any, tool: str, args: dict[str, Any], seconds: float) -> dict[str, Any]:
    with anyio.fail_after(seconds):
        result = await fw.client.call_tool(tool, args, progress_callback=no_progress)
    if result.is_error:
        raise RuntimeError(
            f"{tool} failed: " + " / ".join(getattr(b, "text", "") for b in result.content)[:500]
        )
    return dict(result.structured_content or {})


def _peak_mb(pid: int, idle: int) -> float:
    return round((proc_status(pid)["VmHWM"] - idle) / MB, 1)


async def run(sim: SimProcess, *, input_bytes: int) -> dict[str, Any]:
    sim.reset()
    sim.configure(latency=0.0)
    sim.control("batch", {"step_seconds": 0.05, "request_seconds": 0.0, "answer_words": 300})
    folder = LOG_DIR / "batch"
    inputs, outputs, cache = folder / "in", folder / "out", folder / "cache"
    for f in (inputs, outputs, cache):
        f.mkdir(parents=True, exist_ok=True)
    size, lines = write_input(inputs / "docs.jsonl", input_bytes)
    env = server_env(
        sim.base_url,
        FIREWORKS_ACCOUNT_ID=ACCOUNT,
        FW_MCP_ALLOWED_DIRS=str(inputs),
        FW_MCP_OUTPUT_DIR=str(outputs),
        XDG_CACHE_HOME=str(cache),
    )
    out: dict[str, Any] = {"input_bytes": size, "requests": lines, "target_mb": PEAK_TARGET_MB}
    try:
        async with stdio_session(FW_CMD, env) as fw:
            await anyio.sleep(0.5)
            idle = proc_status(fw.pid)["VmRSS"]
            out["idle_rss_mb"] = round(idle / MB, 1)
            if not reset_peak(fw.pid):
                return {**out, "met": None, "problem": "cannot reset VmHWM (clear_refs not writable)"}
            t0 = time.monotonic()
            job = await _call(fw, "batch_submit", {"input_path": str(inputs / "docs.jsonl")}, 600)
            out["submit_seconds"] = round(time.monotonic() - t0, 1)
            out["submit_peak_over_idle_mb"] = _peak_mb(fw.pid, idle)
            state = ""
            while state != "COMPLETED":
                status = await _call(fw, "batch_status", {"job_id": job["job_id"], "wait": 30}, 120)
                state = status["state"]
                if state in ("FAILED", "EXPIRED", "CANCELLED"):
                    raise RuntimeError(f"the job ended {state}")
            reset_peak(fw.pid)
            t0 = time.monotonic()
            got = await _call(
                fw, "batch_results", {"job_id": job["job_id"], "output_path": "results.jsonl"}, 900
            )
            out["results_seconds"] = round(time.monotonic() - t0, 1)
            out["results_peak_over_idle_mb"] = _peak_mb(fw.pid, idle)
            out["after_rss_mb"] = round(proc_status(fw.pid)["VmRSS"] / MB, 1)
        if sim.proc is not None:  # the simulator streams datasets to and from disk: it stays small too
            out["simulator_peak_rss_mb"] = round(proc_status(sim.proc.pid)["VmHWM"] / MB, 1)
        out["results_lines"] = got["lines_written"]
        out["results_bytes"] = (outputs / "results.jsonl").stat().st_size
        out["peak_over_idle_mb"] = max(out["submit_peak_over_idle_mb"], out["results_peak_over_idle_mb"])
        out["met"] = out["peak_over_idle_mb"] < PEAK_TARGET_MB and got["lines_written"] == lines
        out["problem"] = None
    except Exception as exc:
        out |= {"met": False, "problem": str(exc)[:500]}
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return out
