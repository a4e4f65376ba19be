"""What every measurement shares: child processes, stdio sessions, the direct baseline, statistics."""

from __future__ import annotations

import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

import httpx2
import mcp
from mcp.client.stdio import stdio_client

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "bench"
PY = sys.executable
KEY = "fw-bench-key-0123456789"
MODEL = "accounts/fireworks/models/deepseek-v3p1"  # what `chat` resolves to with the packaged defaults
FW_CMD = [PY, "-m", "fw_mcp"]
ECHO_CMD = [PY, str(BENCH / "echo_server.py")]
SIM_CMD = [PY, "-m", "fw_mcp.simulator"]  # the simulator as shipped, in its own process
TIMED_SIM_CMD = [PY, str(BENCH / "sim.py"), "--stopwatch"]  # the same app with a stopwatch (sim.py)
LOG_DIR = Path(tempfile.mkdtemp(prefix="fw-mcp-bench-"))
SIM_LINE = re.compile(r"Fireworks simulator at (http://\S+?)/inference/v1")


# -- statistics ----------------------------------------------------------------------------------
def median(xs: list[float]) -> float:
    return statistics.median(xs) if xs else float("nan")


def quantile(xs: list[float], q: float) -> float:
    """Nearest-rank quantile (q in 0..1)."""
    if not xs:
        return float("nan")
    s = sorted(xs)
    return s[min(len(s) - 1, max(0, round(q * (len(s) - 1))))]


def ms(seconds: float) -> float:
    return round(seconds * 1000, 2)


# -- the simulator, in its own process -------------------------------------------------------------
@dataclass
class SimProcess:
    """`python -m fw_mcp.simulator` (or the timed wrapper) on a free loopback port."""

    cmd: list[str]
    latency: float = 0.0
    proc: subprocess.Popen[bytes] | None = None
    root_url: str = ""
    log: Path = field(default_factory=lambda: LOG_DIR / f"sim-{time.monotonic_ns()}.log")

    @property
    def base_url(self) -> str:
        return self.root_url + "/inference/v1"

    def start(self) -> SimProcess:
        with open(self.log, "wb") as errlog:
            self.proc = subprocess.Popen(
                [*self.cmd, "--port", "0", "--latency", str(self.latency)],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=errlog,
                cwd=ROOT,
            )
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            match = SIM_LINE.search(self.log.read_text(errors="replace"))
            if match:
                self.root_url = match.group(1)
                self._wait_ready()
                return self
            if self.proc.poll() is not None:
                break
            time.sleep(0.02)
        self.stop()
        raise RuntimeError(f"the simulator did not start; see {self.log}")

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + 10
        while True:
            try:
                httpx2.get(self.root_url + "/_sim/config", timeout=1).raise_for_status()
                return
            except httpx2.HTTPError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.02)

    def control(self, name: str, payload: Any = None) -> Any:
        if payload is None:
            response = httpx2.get(f"{self.root_url}/_sim/{name}", timeout=30)
        else:
            response = httpx2.post(f"{self.root_url}/_sim/{name}", json=payload, timeout=30)
        response.raise_for_status()
        return response.json()

    def configure(self, **config: Any) -> None:
        self.control("config", config)

    def reset(self) -> None:
        """Forget records and script, and restore the start-up config (latency included)."""
        self.control("reset", {})

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def __enter__(self) -> SimProcess:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


EXTRA_SERVER_ENV: dict[str, str] = {}  # `--server-env KEY=VALUE`: for trying a setting on every server


def server_env(base_url: str, **extra: str) -> dict[str, str]:
    """What a host puts in the server's `env` (merged over the SDK's minimal default environment)."""
    return {"FIREWORKS_API_KEY": KEY, "FIREWORKS_BASE_URL": base_url, **EXTRA_SERVER_ENV, **extra}


# -- stdio sessions through the official client ----------------------------------------------------
@dataclass
class Stdio:
    client: mcp.Client
    pid: int
    log: Path


def child_pids() -> list[int]:
    """Direct children of this process (any thread)."""
    pids: list[int] = []
    for task in Path(f"/proc/{os.getpid()}/task").iterdir():
        try:
            pids += [int(p) for p in (task / "children").read_text().split()]
        except OSError:
            continue
    return pids


def cmdline(pid: int) -> list[str]:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace").split("\0")[:-1]
    except OSError:
        return []


def _log_file(path: Path) -> TextIO:
    return open(path, "w")  # closed by the caller's `with`


@asynccontextmanager
async def stdio_session(cmd: list[str], env: dict[str, str], *, mode: str = "auto") -> AsyncIterator[Stdio]:
    """A server spawned as a host spawns it; its stderr goes to a log file, its pid is found in /proc."""
    before = set(child_pids())
    params = mcp.StdioServerParameters(command=cmd[0], args=cmd[1:], env=env, cwd=str(ROOT))
    log = LOG_DIR / f"server-{time.monotonic_ns()}.stderr"
    with _log_file(log) as errlog:
        async with mcp.Client(stdio_client(params, errlog=errlog), mode=mode) as client:  # type: ignore[arg-type]
            new = [p for p in child_pids() if p not in before and cmdline(p)[1:] == cmd[1:]]
            yield Stdio(client=client, pid=new[0] if new else -1, log=log)


def proc_status(pid: int) -> dict[str, int]:
    """VmRSS / VmHWM of a process, in bytes."""
    out: dict[str, int] = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, rest = line.partition(":")
        if name in ("VmRSS", "VmHWM"):
            out[name] = int(rest.split()[0]) * 1024
    return out


def cpu_seconds(pid: int, *, tree: bool = False) -> float:
    """User + system CPU time of a process (and, with tree, of its children), in seconds."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    total = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    if tree:
        for task in Path(f"/proc/{pid}/task").iterdir():
            try:
                children = [int(p) for p in (task / "children").read_text().split()]
            except OSError:
                continue
            total += sum(cpu_seconds(child, tree=True) for child in children)
    return total


def on_cpu_seconds(pid: int) -> float:
    """Nanosecond-precise time on a CPU of all the process's threads (/proc/PID/task/*/schedstat)."""
    total = 0
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            total += int((task / "schedstat").read_text().split()[0])
        except (OSError, ValueError, IndexError):
            continue
    return total / 1e9


def reset_peak(pid: int) -> bool:
    """Reset VmHWM to the current RSS (Linux: write 5 to clear_refs); False when not allowed."""
    try:
        Path(f"/proc/{pid}/clear_refs").write_text("5")
        return True
    except OSError:
        return False


# -- the direct baseline: one pooled httpx2 client, streaming like fw-mcp's ---------------------------
def direct_client(max_connections: int = 256) -> httpx2.AsyncClient:
    """Pool size, keep-alive and timeouts exactly as fw-mcp's `create_http_client` sets them.

    (Keeping all 256 connections alive is slower, not faster: httpcore2's pool scans every
    connection for every request, which costs more CPU at 256 in flight than reconnecting.)
    """
    return httpx2.AsyncClient(
        timeout=httpx2.Timeout(connect=5, read=60, write=30, pool=None),
        limits=httpx2.Limits(
            max_connections=max_connections, max_keepalive_connections=min(max_connections, 64)
        ),
        headers={"accept": "text/event-stream"},
    )


def chat_body(prompt: str) -> dict[str, Any]:
    """The body fw-mcp sends for `chat(prompt=...)` with default settings."""
    return {
        "model": MODEL,
        "messages": [{"role": "user", "content": prompt}],
        "stream": True,
        "stream_options": {"include_usage": True},
    }


async def direct_chat(http: httpx2.AsyncClient, base_url: str, prompt: str) -> str:
    """One streamed chat completion, read event by event and reassembled, as fw-mcp's client does."""
    text: list[str] = []
    async with http.stream(
        "POST",
        base_url + "/chat/completions",
        json=chat_body(prompt),
        headers={"authorization": f"Bearer {KEY}"},
    ) as response:
        if response.status_code != 200:
            raise RuntimeError(f"HTTP {response.status_code}: {(await response.aread())[:200]!r}")
        done = False
        async for event in httpx2.EventSource(response):  # to the end: the connection goes back to the pool
            if done or event.data.strip() == "[DONE]":
                done = True
                continue
            chunk = json.loads(event.data)
            for choice in chunk.get("choices") or []:
                text.append((choice.get("delta") or {}).get("content") or "")
    return "".join(text)


def result_text(result: Any) -> str:
    """The answer text of a `chat` result (structuredContent when present, else the first block)."""
    if result.is_error:
        raise RuntimeError("tool error: " + " / ".join(getattr(b, "text", "") for b in result.content))
    if result.structured_content and "text" in result.structured_content:
        return str(result.structured_content["text"])
    return str(result.content[0].text)


async def no_progress(progress: float, total: float | None, message: str | None) -> None:
    """A host that asks for progress and shows it (here: drops it)."""
