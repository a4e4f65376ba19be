"""A host built on the official MCP TypeScript SDK sees every progress notification, the last included.

That SDK handles a notification a tick later than a result read in the same chunk, and then drops the
notification as "for an unknown token"; fw-mcp writes the result only once the host has read the last
notification. Needs Node and npm (on CI: a missing Node fails the test); the SDK is installed from npm
into a cache folder on first use, as .ci/inspector.sh installs the Inspector.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from fw_mcp.simulator import SimulatorServer
from tests.conftest import TEST_KEY

SDK_VERSION = "1.32.2"
SCRIPT = Path(__file__).with_name("ts_progress_client.mjs")
CALLS = 25
TAIL = 160  # the progress message carries the answer's last characters (fw_mcp.tools.progress)


def node_or_fail() -> tuple[str, str]:
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        if os.environ.get("CI"):
            pytest.fail("Node and npm are needed for the TypeScript SDK client test (Node 20 is on CI)")
        pytest.skip("Node and npm are not installed")
    return node, npm


def sdk_dir(npm: str) -> Path:
    """A folder with the SDK installed and the client script beside it (ESM imports resolve from there)."""
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    folder = Path(os.environ.get("FW_MCP_TS_SDK_DIR") or cache / f"fw-mcp-ts-sdk-{SDK_VERSION}")
    if not (folder / "node_modules/@modelcontextprotocol/sdk/package.json").exists():
        folder.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [
                npm,
                "install",
                "--prefix",
                str(folder),
                "--no-audit",
                "--no-fund",
                "--loglevel=error",
                f"@modelcontextprotocol/sdk@{SDK_VERSION}",
            ],
            check=True,
            capture_output=True,
            timeout=300,
        )
    shutil.copyfile(SCRIPT, folder / SCRIPT.name)
    return folder


def test_every_progress_notification_reaches_a_typescript_sdk_host(simulator: SimulatorServer) -> None:
    node, npm = node_or_fail()
    folder = sdk_dir(npm)
    env = {**os.environ, "FIREWORKS_API_KEY": TEST_KEY, "FIREWORKS_BASE_URL": simulator.base_url}
    ran = subprocess.run(
        [node, str(folder / SCRIPT.name), sys.executable, str(CALLS)],
        env=env,
        cwd=Path(__file__).resolve().parents[2],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert ran.returncode == 0, ran.stderr[-3000:]
    report = json.loads(ran.stdout.strip().splitlines()[-1])
    assert report["errors"] == []
    assert "chat" in report["tools"]
    assert len(report["results"]) == CALLS
    for result in report["results"]:
        assert result["isError"] is False and result["text"]
        assert result["progress"], "no progress notification arrived"
        assert result["progress"][-1]["message"] == result["text"][-TAIL:], "the last notification was lost"
