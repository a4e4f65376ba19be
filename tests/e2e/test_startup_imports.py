"""Hosts wait for `initialize`: a spawned server answers it without loading any tool, and a call loads
only the tool it calls (start-up time is benchmarked in bench/, these pin what it depends on).

The modules a process imported are read from `python -v`, which names each one on stderr as it is
loaded (`-X importtime` misses those loaded by `importlib.import_module`, as the registry loads
tools): the server itself has no debug switch for it, and stdout stays the protocol.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
from pathlib import Path

from fw_mcp.simulator import SimulatorServer
from tests.conftest import TEST_KEY

ROOT = Path(__file__).resolve().parents[2]
TIMEOUT = 60.0
LOADED = re.compile(r"^import '([\w.]+)' #", re.MULTILINE)

# Loaded on first use, never to answer `initialize`: every tool, the Fireworks client and its HTTP
# stack, the spend ledger (prices, budgets, the SQLite store), the files code, images, telemetry's use.
NOT_AT_INITIALIZE = (
    "fw_mcp.tools.chat",
    "fw_mcp.tools.job",
    "fw_mcp.tools.search",
    "fw_mcp.tools.embed",
    "fw_mcp.tools.batch_submit",
    "fw_mcp.fireworks.client",
    "fw_mcp.fireworks.wire",
    "fw_mcp.spend.budget",
    "fw_mcp.spend.meter",
    "fw_mcp.spend.sqlite_store",
    "fw_mcp.files.cache",
    "fw_mcp.images",
    "httpcore2",
    "sqlite3",
)


def _message(id_: int | None, method: str, params: dict[str, object] | None = None) -> bytes:
    body: dict[str, object] = {"jsonrpc": "2.0", "method": method}
    if id_ is not None:
        body["id"] = id_
    if params is not None:
        body["params"] = params
    return (json.dumps(body) + "\n").encode()


INITIALIZE = _message(
    1,
    "initialize",
    {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "t", "version": "0"}},
)


def _imported(
    requests: list[bytes], env: dict[str, str], log: Path
) -> tuple[list[dict[str, object]], set[str]]:
    """Spawn `python -m fw_mcp` as a host does, send each request and read its answer, then close stdin.

    Returns the answers and every module the process imported (it exits when stdin closes). Its
    stderr goes to `log` (a pipe nobody reads while we wait for an answer would fill and block it).
    """
    with log.open("wb") as errors:
        proc = subprocess.Popen(
            [sys.executable, "-v", "-m", "fw_mcp"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=errors,
            cwd=ROOT,
            env=env,
        )
    watchdog = threading.Timer(TIMEOUT, proc.kill)  # a hung server fails the test instead of hanging it
    watchdog.start()
    try:
        assert proc.stdin is not None and proc.stdout is not None
        answers: list[dict[str, object]] = []
        for request in requests:
            proc.stdin.write(request)
            proc.stdin.flush()
            if b'"id"' in request:
                answers.append(json.loads(proc.stdout.readline()))
        proc.communicate()
    finally:
        watchdog.cancel()
    return answers, set(LOADED.findall(log.read_text(errors="replace")))


def _env(base_url: str) -> dict[str, str]:
    return {**os.environ, "FIREWORKS_API_KEY": TEST_KEY, "FIREWORKS_BASE_URL": base_url}


def test_initialize_is_answered_before_any_tool_is_loaded(tmp_path: Path) -> None:
    answers, modules = _imported([INITIALIZE], _env("http://127.0.0.1:9/inference/v1"), tmp_path / "err")
    result = answers[0]["result"]
    assert isinstance(result, dict) and result["serverInfo"]["name"] == "fw-mcp"
    assert "fw_mcp.server" in modules and "fw_mcp.settings" in modules  # the check can see our modules
    loaded = [name for name in NOT_AT_INITIALIZE if name in modules]
    assert loaded == [], f"imported before `initialize` was answered: {loaded}"


def test_a_call_loads_only_the_tool_it_calls(simulator: SimulatorServer, tmp_path: Path) -> None:
    call = _message(2, "tools/call", {"name": "chat", "arguments": {"prompt": "hi"}})
    requests = [INITIALIZE, _message(None, "notifications/initialized"), call]
    answers, modules = _imported(requests, _env(simulator.base_url), tmp_path / "err")
    result = answers[1]["result"]
    assert isinstance(result, dict) and result["isError"] is False, result
    assert {"fw_mcp.tools.chat", "fw_mcp.fireworks.client", "fw_mcp.spend.meter"} <= modules
    others = [
        m for m in ("fw_mcp.tools.search", "fw_mcp.tools.embed", "fw_mcp.tools.batch_submit") if m in modules
    ]
    assert others == [], f"a chat call loaded other tools: {others}"
