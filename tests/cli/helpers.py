"""Running `fw-mcp` as a person does: a child process, its output and exit code."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from tests.conftest import TEST_KEY

ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Ran:
    code: int
    out: str
    err: str


Cli = Callable[..., Ran]


def spawn(*argv: str, env: dict[str, str] | None = None, cwd: Path = ROOT, timeout: float = 60) -> Ran:
    """`python -m fw_mcp ARGV` in a child process with this environment plus `env`."""
    done = subprocess.run(
        [sys.executable, "-m", "fw_mcp", *argv],
        env=child_env(env),
        cwd=cwd,
        capture_output=True,
        encoding="utf-8",
        timeout=timeout,
        check=False,
    )
    return Ran(done.returncode, done.stdout, done.stderr)


def child_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """The test's environment (FIREWORKS_*/FW_MCP_* already cleared) plus `extra`, in UTF-8."""
    return {**os.environ, "PYTHONUTF8": "1", **(extra or {})}


def sim_env(base_url: str, key: str | None = TEST_KEY, **extra: str) -> dict[str, str]:
    env = {"FIREWORKS_BASE_URL": base_url, **extra}
    if key is not None:
        env["FIREWORKS_API_KEY"] = key
    return env
