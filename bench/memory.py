"""5. Memory of the server process: resident set idle, after 1,000 calls, and the peak while a
9 MB local image goes through `describe_image`.

RSS is read from /proc/PID/status of the spawned server. For the image: one small image first
(it loads Pillow; `first_image_call_mb` is that one-time cost), then three calls with the 9 MB
one; the peak (VmHWM) is reset to the current RSS before each (Linux `clear_refs` 5). The figure
judged is the highest peak over the RSS before the first big image; `retained` is what stays
resident after the calls (freed buffers that malloc keeps count: they are the process's memory).
The image is noise, so it does not compress: its file size is also its pixel data size, and since
it is over Fireworks' 10 MB limit once base64-encoded, fw-mcp must decode and downscale it.
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Any

import anyio

from bench.common import (
    ECHO_CMD,
    FW_CMD,
    LOG_DIR,
    SimProcess,
    no_progress,
    proc_status,
    reset_peak,
    result_text,
    server_env,
    stdio_session,
)

MB = 1024 * 1024
GROWTH_TARGET = 0.10
PEAK_TARGET = 5.0  # "a few times the image size"


def noise_png(path: Path, target_bytes: int) -> int:
    """An incompressible RGB PNG of about target_bytes; returns its size."""
    from PIL import Image

    side = int((target_bytes / 3) ** 0.5)
    Image.frombytes("RGB", (side, side), os.urandom(side * side * 3)).save(path, compress_level=1)
    return path.stat().st_size


async def _calls(fw: Any, n: int, width: int = 8) -> None:
    async def worker(w: int) -> None:
        for i in range(w, n, width):
            with anyio.fail_after(30):
                result = await fw.client.call_tool(
                    "chat", {"prompt": f"memory call {i}"}, progress_callback=no_progress
                )
            result_text(result)

    await asyncio.gather(*(worker(w) for w in range(width)))


async def _image_calls(fw: Any, image: Path, size: int, *, calls: int) -> dict[str, Any]:
    """Several describe_image calls on the same file; the peak (VmHWM) is reset before each.

    A small image goes first, so that loading Pillow (a one-time cost, reported apart) is not
    counted as memory that sending a big image needs.
    """
    from PIL import Image

    small = image.with_name("small.png")
    Image.new("RGB", (64, 64), "white").save(small)
    before_pillow = proc_status(fw.pid)["VmRSS"]
    with anyio.fail_after(60):
        result_text(await fw.client.call_tool("describe_image", {"image": str(small)}))
    start = proc_status(fw.pid)["VmRSS"]
    rows: list[dict[str, float]] = []
    problem = None
    for _ in range(calls):
        if not reset_peak(fw.pid):
            problem = "cannot reset VmHWM (clear_refs not writable)"
            break
        before = proc_status(fw.pid)["VmRSS"]
        try:
            with anyio.fail_after(120):
                result = await fw.client.call_tool(
                    "describe_image", {"image": str(image)}, progress_callback=no_progress
                )
            result_text(result)
        except Exception as exc:
            problem = f"describe_image failed: {str(exc)[:300]}"
            break
        status = proc_status(fw.pid)
        rows.append(
            {
                "rss_before_mb": round(before / MB, 1),
                "peak_mb": round(status["VmHWM"] / MB, 1),
                "rss_after_mb": round(status["VmRSS"] / MB, 1),
            }
        )
    if not rows:
        return {"bytes": size, "calls": [], "met": False, "problem": problem}
    peak = max(r["peak_mb"] for r in rows) * MB - start
    retained = rows[-1]["rss_after_mb"] * MB - start
    return {
        "bytes": size,
        "first_image_call_mb": round((start - before_pillow) / MB, 1),
        "rss_before_first_mb": round(start / MB, 1),
        "calls": rows,
        "peak_over_before_mb": round(peak / MB, 1),
        "peak_times_image": round(peak / size, 2),
        "retained_after_mb": round(retained / MB, 1),
        "retained_times_image": round(retained / size, 2),
        "target_times_image": PEAK_TARGET,
        "met": len(rows) == calls and peak / size <= PEAK_TARGET,
        "problem": problem,
    }


async def run(sim: SimProcess, *, calls: int, image_bytes: int) -> dict[str, Any]:
    sim.reset()
    sim.configure(latency=0.0)
    folder = LOG_DIR / "images"
    folder.mkdir(exist_ok=True)
    image = folder / "noise.png"
    size = noise_png(image, image_bytes)
    env = server_env(sim.base_url, FW_MCP_ALLOWED_DIRS=str(folder))
    out: dict[str, Any] = {"calls": calls}
    async with stdio_session(FW_CMD, env) as fw, stdio_session(ECHO_CMD, env) as echo:
        await anyio.sleep(0.5)
        out["before_tools_list_rss_mb"] = round(proc_status(fw.pid)["VmRSS"] / MB, 1)
        # Idle as a host leaves a server: every host lists the tools right after `initialize`, and
        # fw-mcp loads its tool modules then (not before `initialize`, which hosts wait for).
        await fw.client.list_tools()
        await echo.client.list_tools()
        await anyio.sleep(0.5)
        idle = proc_status(fw.pid)["VmRSS"]
        out["echo_idle_rss_mb"] = round(proc_status(echo.pid)["VmRSS"] / MB, 1)
        await _calls(fw, 10)
        warm = proc_status(fw.pid)["VmRSS"]
        await _calls(fw, calls)
        after = proc_status(fw.pid)["VmRSS"]
        growth = (after - idle) / idle
        out |= {
            "idle_rss_mb": round(idle / MB, 1),
            "after_10_calls_rss_mb": round(warm / MB, 1),
            "after_calls_rss_mb": round(after / MB, 1),
            "growth_vs_idle": round(growth, 3),
            "growth_vs_warm": round((after - warm) / warm, 3),
            "growth_target": GROWTH_TARGET,
            "growth_met": growth < GROWTH_TARGET,
        }
        out["image"] = await _image_calls(fw, image, size, calls=3)
    return out
