"""What `fw-mcp` loads to serve over stdio: only what serving uses, so a host's start-up stays quick.

The other commands, the HTTP transport, the host-config code, the model catalogue and the HTTP
connection pool are imported when they are first used, never on the way to the `initialize` answer.
Pinned here (from `-X importtime`, in a fresh process) so that one stray top-level import cannot
silently bring them back.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from fw_mcp import __version__
from tests.cli.helpers import ROOT, child_env
from tests.conftest import INITIALIZE

# Packages none of whose modules serving over stdio may import, and single modules likewise.
NOT_SERVING_PACKAGES = ("fw_mcp.http", "fw_mcp.hosts", "fw_mcp.simulator", "httpcore2", "jwt")
NOT_SERVING_MODULES = (
    "fw_mcp.commands.install",
    "fw_mcp.commands.call",
    "fw_mcp.commands.doctor",
    "fw_mcp.commands.models",
    "fw_mcp.commands._output",
    "fw_mcp.commands._checks",
    "fw_mcp.catalogue",  # when fireworks://models is read
)


def serve_one_initialize(tmp_path: Path) -> tuple[dict[str, object], set[str]]:
    """`python -m fw_mcp` answering one `initialize` then seeing stdin close: the answer, and every
    module it imported (from the start until it exited)."""
    log = tmp_path / "stderr.txt"
    with open(log, "wb") as stderr:  # a file, not a pipe: importtime's lines could fill a pipe and block
        proc = subprocess.Popen(
            [sys.executable, "-X", "importtime", "-m", "fw_mcp"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=stderr,
            env=child_env(),
            cwd=ROOT,
        )
        assert proc.stdin is not None and proc.stdout is not None
        try:
            proc.stdin.write((json.dumps(INITIALIZE) + "\n").encode())
            proc.stdin.flush()
            line = proc.stdout.readline()
            proc.stdin.close()
            proc.wait(timeout=30)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            proc.stdout.close()
    text = log.read_text(encoding="utf-8", errors="replace")
    assert line.strip(), f"no answer to initialize; stderr ends:\n{text[-2000:]}"
    imported = {
        row.rsplit("|", 1)[1].strip()
        for row in text.splitlines()
        if row.startswith("import time:") and row.count("|") == 2
    }
    return json.loads(line), imported


def test_serving_over_stdio_imports_only_what_serving_uses(tmp_path: Path) -> None:
    answer, imported = serve_one_initialize(tmp_path)
    assert answer["result"]["serverInfo"]["version"] == __version__  # type: ignore[index]
    assert {"fw_mcp.server", "fw_mcp.commands.serve"} <= imported, "the import log was not read"
    loaded = sorted(
        m
        for m in imported
        if m in NOT_SERVING_MODULES or any(m == p or m.startswith(p + ".") for p in NOT_SERVING_PACKAGES)
    )
    assert loaded == [], f"serving over stdio imported modules it does not use: {loaded}"
