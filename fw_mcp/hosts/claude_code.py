"""Claude Code keeps its servers itself: `claude mcp add-json --scope user` is the supported way in.

User scope, because the default (local) scope registers the server only for the folder the command
was typed in. When `claude` is not on PATH, the exact command is printed for the person to run; a
key in it is spliced from the shell's own variable, so the key is never printed.
"""

from __future__ import annotations

import json
import shlex
import shutil
import subprocess
from typing import Any

from fw_mcp.hosts import KEY_VAR, Launch

__all__ = ["add_command", "install", "remove_command", "uninstall"]

SCOPE = "user"


def _entry(launch: Launch, env: dict[str, str]) -> dict[str, Any]:
    entry: dict[str, Any] = {"type": "stdio", "command": launch.command, "args": launch.args}
    if env:
        entry["env"] = env
    return entry


def add_command(claude: str, name: str, launch: Launch, env: dict[str, str]) -> list[str]:
    return [claude, "mcp", "add-json", "--scope", SCOPE, name, json.dumps(_entry(launch, env))]


def remove_command(claude: str, name: str) -> list[str]:
    return [claude, "mcp", "remove", "--scope", SCOPE, name]


def _printable(argv: list[str], env: dict[str, str]) -> str:
    """The command for a shell, with the key replaced by `$FIREWORKS_API_KEY` (expanded by the shell)."""
    if KEY_VAR not in env:
        return shlex.join(argv)
    marker = "@@FW_MCP_KEY@@"
    argv = [*argv[:-1], json.dumps(_entry_from_json(argv[-1], marker))]
    quoted = shlex.join(argv)
    return quoted.replace(marker, "'\"$" + KEY_VAR + "\"'")


def _entry_from_json(raw: str, marker: str) -> dict[str, Any]:
    entry: dict[str, Any] = json.loads(raw)
    entry["env"] = {**entry["env"], KEY_VAR: marker}
    return entry


def install(name: str, launch: Launch, env: dict[str, str], *, dry_run: bool) -> int:
    """Run (or print) `claude mcp add-json --scope user NAME JSON`; replaces an entry of that name."""
    claude = shutil.which("claude")
    argv = add_command(claude or "claude", name, launch, env)
    if launch.note:
        print(launch.note)
    if claude is None or dry_run:
        why = "Dry run: nothing was run." if dry_run else "`claude` is not on PATH here."
        print(f"{why} To add fw-mcp to Claude Code for every folder (user scope), run:")
        print(f"  {_printable(argv, env)}")
        if KEY_VAR not in env:
            print(f"Add --with-key to put {KEY_VAR} from this shell in the entry.")
        return 0
    done = _run(argv)
    if done.returncode != 0 and "already exists" in done.stdout + done.stderr:
        _run(remove_command(claude, name))
        done = _run(argv)
    if done.returncode != 0:
        print(f"`claude mcp add-json` failed (exit {done.returncode}):")
        print((done.stderr or done.stdout).strip())
        return 1
    print(f'Added "{name}" to Claude Code (user scope: every folder). Check with `claude mcp list`.')
    if KEY_VAR not in env:
        print(f"Note: the entry has no {KEY_VAR}; run again with --with-key to copy it from this shell.")
    return 0


def uninstall(name: str, *, dry_run: bool) -> int:
    claude = shutil.which("claude")
    argv = remove_command(claude or "claude", name)
    if claude is None or dry_run:
        why = "Dry run: nothing was run." if dry_run else "`claude` is not on PATH here."
        print(f"{why} To remove fw-mcp from Claude Code, run:\n  {shlex.join(argv)}")
        return 0
    done = _run(argv)
    if done.returncode != 0:
        print(f"`claude mcp remove` failed (exit {done.returncode}):\n{(done.stderr or done.stdout).strip()}")
        return 1
    print(f'Removed "{name}" from Claude Code (user scope).')
    return 0


def _run(argv: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, capture_output=True, text=True, check=False, timeout=60)
