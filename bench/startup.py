"""4. Start-up: spawn to the `initialize` answer, fw-mcp vs the bare echo server, and what it imports.

Timed with a raw pipe (no client library in the way): spawn, write one `initialize` request,
read one line. The two servers alternate, and the figure is the median of each round's
ours/echo ratio (the two runs of a round are seconds apart, so a drift of the shared machine
hits both). The CPU time each used until it answered (schedstat, all threads) is reported too,
and, where valgrind is installed (full runs), the instructions each executed (callgrind, fixed
hash seed): a count that the machine's load cannot move. `-X importtime` of both shows which
modules fw-mcp loads that a bare MCP server does not, grouped by top-level package.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import time
from collections import defaultdict
from typing import Any

from mcp.client.stdio import get_default_environment

from bench.common import ECHO_CMD, FW_CMD, LOG_DIR, ROOT, median, ms, on_cpu_seconds, quantile, server_env

INITIALIZE = (
    json.dumps(
        {
            "jsonrpc": "2.0",
            "id": 1,
            "method": "initialize",
            "params": {
                "protocolVersion": "2025-11-25",
                "capabilities": {},
                "clientInfo": {"name": "fw-mcp-bench", "version": "0"},
            },
        }
    )
    + "\n"
).encode()


def time_to_initialize(
    cmd: list[str], env: dict[str, str], extra_args: tuple[str, ...] = ()
) -> tuple[float, str]:
    """Seconds from spawn to the initialize answer, and the server's stderr."""
    log = LOG_DIR / f"startup-{time.monotonic_ns()}.stderr"
    with open(log, "wb") as errlog:
        t0 = time.perf_counter()
        proc = subprocess.Popen(
            [cmd[0], *extra_args, *cmd[1:]],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=errlog,
            env=env,
            cwd=ROOT,
        )
        assert proc.stdin is not None and proc.stdout is not None
        proc.stdin.write(INITIALIZE)
        proc.stdin.flush()
        line = proc.stdout.readline()
        elapsed = time.perf_counter() - t0
        cpu = on_cpu_seconds(proc.pid)
        proc.stdin.close()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    answer = json.loads(line) if line.strip() else {}
    if "result" not in answer:
        tail = log.read_text(errors="replace")[-1500:]
        raise RuntimeError(
            f"{' '.join(cmd)}: no initialize answer ({line[:200]!r}); its stderr ends:\n{tail}"
        )
    return elapsed, cpu, log.read_text(errors="replace")


def instructions_to_initialize(cmds: dict[str, list[str]], env: dict[str, str]) -> dict[str, int] | None:
    """Instructions each server executes from exec to exit, answering one `initialize` (callgrind;
    the servers run side by side, ~1 minute). None without valgrind."""
    if shutil.which("valgrind") is None:
        return None
    procs: dict[str, tuple[subprocess.Popen[bytes], Any]] = {}
    for name, cmd in cmds.items():
        log = LOG_DIR / f"callgrind-{name}-{time.monotonic_ns()}.log"
        valgrind = ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", f"--log-file={log}"]
        proc = subprocess.Popen(
            [*valgrind, *cmd],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env={**env, "PYTHONHASHSEED": "0"},
            cwd=ROOT,
        )
        assert proc.stdin is not None
        proc.stdin.write(INITIALIZE)
        proc.stdin.flush()
        procs[name] = (proc, log)
    counts: dict[str, int] = {}
    for name, (proc, log) in procs.items():
        assert proc.stdin is not None and proc.stdout is not None
        answered = proc.stdout.readline()  # answered before stdin closes: nothing is cancelled
        proc.stdin.close()
        proc.wait(600)
        found = re.search(r"Collected : (\d+)", log.read_text(errors="replace"))
        if not answered.strip() or not found:
            return None
        counts[name] = int(found.group(1))
    return counts


def _parse(stderr: str) -> dict[str, int]:
    out: dict[str, int] = {}
    for line in stderr.splitlines():
        if not line.startswith("import time:"):
            continue
        parts = [p.strip() for p in line[len("import time:") :].split("|")]
        if len(parts) != 3 or not parts[0].isdigit():
            continue
        out[parts[2]] = int(parts[0])
    return out


def extra_imports(fw_stderr: str, echo_stderr: str, top: int = 12) -> tuple[list[dict[str, Any]], float, int]:
    """Top-level packages fw-mcp imports beyond the bare server, by summed self time."""
    fw, echo = _parse(fw_stderr), _parse(echo_stderr)
    by_package: dict[str, int] = defaultdict(int)
    modules: dict[str, int] = defaultdict(int)
    for name, us in fw.items():
        if name not in echo:
            package = name.split(".")[0]
            by_package[package] += us
            modules[package] += 1
    ranked = sorted(by_package.items(), key=lambda kv: -kv[1])
    rows = [{"package": p, "ms": round(us / 1000, 1), "modules": modules[p]} for p, us in ranked[:top]]
    return rows, round(sum(by_package.values()) / 1000, 1), len([n for n in fw if n not in echo])


def run(base_url: str, *, rounds: int, instructions: bool = True) -> dict[str, Any]:
    env = get_default_environment() | server_env(base_url)
    samples: dict[str, list[float]] = {"ours": [], "echo": []}
    cpu: dict[str, list[float]] = {"ours": [], "echo": []}
    paired: list[float] = []
    cmds = {"ours": FW_CMD, "echo": ECHO_CMD}
    for cmd in cmds.values():  # warm the page cache and the .pyc files
        time_to_initialize(cmd, env)
    for r in range(rounds):
        order = list(cmds) if r % 2 == 0 else list(reversed(cmds))
        this_round: dict[str, float] = {}
        for name in order:
            wall, used, _ = time_to_initialize(cmds[name], env)
            samples[name].append(wall)
            cpu[name].append(used)
            this_round[name] = wall
        paired.append(this_round["ours"] / this_round["echo"])
    ratio = median(paired)
    _, _, fw_imports = time_to_initialize(FW_CMD, env, ("-X", "importtime"))
    _, _, echo_imports = time_to_initialize(ECHO_CMD, env, ("-X", "importtime"))
    rows, extra_ms, extra_modules = extra_imports(fw_imports, echo_imports)
    counted = instructions_to_initialize(cmds, env) if instructions else None
    return {
        "rounds": rounds,
        "median_ms": {k: ms(median(v)) for k, v in samples.items()},
        "p90_ms": {k: ms(quantile(v, 0.9)) for k, v in samples.items()},
        "min_ms": {k: ms(min(v)) for k, v in samples.items()},
        "ratio": round(ratio, 3),
        "ratio_of_medians": round(median(samples["ours"]) / median(samples["echo"]), 3),
        "ratio_of_minimums": round(min(samples["ours"]) / min(samples["echo"]), 3),
        "paired_ratio_p10_p90": [round(quantile(paired, 0.1), 3), round(quantile(paired, 0.9), 3)],
        "cpu_median_ms": {k: ms(median(v)) for k, v in cpu.items()},
        "cpu_ratio": round(median(cpu["ours"]) / median(cpu["echo"]), 3),
        "instructions": counted,
        "instructions_ratio": round(counted["ours"] / counted["echo"], 3) if counted else None,
        "target": 1.15,
        "met": ratio <= 1.15,
        "extra_imports": {
            "modules": extra_modules,
            "self_ms_total": extra_ms,
            "top_packages": rows,
            "note": "imported by fw-mcp before answering initialize but not by the bare server; "
            "-X importtime self times, one run",
        },
    }
