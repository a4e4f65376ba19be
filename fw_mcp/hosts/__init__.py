"""MCP hosts fw-mcp can install itself into: where each keeps its server list, and the entry's shape.

Shapes and locations follow each host's documentation: Claude Desktop and Cursor use `mcpServers`;
VS Code uses `servers`, a `type`, and an `inputs` prompt so the key lives in its secret storage
rather than in the file.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fw_mcp.hosts.launchers import Launch, launch_command

__all__ = [
    "HOSTS",
    "KEY_INPUT",
    "Host",
    "Launch",
    "default_config_path",
    "desired_entry",
    "launch_command",
]

KEY_VAR = "FIREWORKS_API_KEY"
KEY_INPUT: dict[str, Any] = {
    "type": "promptString",
    "id": "fireworks-api-key",
    "description": "Fireworks API key (https://fireworks.ai/account/api-keys)",
    "password": True,
}


@dataclass(frozen=True)
class Host:
    name: str
    title: str
    servers_key: str
    typed: bool  # entries carry "type": "stdio"
    key_by_input: bool  # the key is prompted for (`${input:...}`), never written
    after: str  # what to do for the host to pick the change up
    comments: bool = False  # the host reads JSONC (comments, trailing commas), so we keep them


HOSTS: dict[str, Host] = {
    "claude-desktop": Host(
        "claude-desktop", "Claude Desktop", "mcpServers", False, False, "Quit and restart Claude Desktop."
    ),
    "cursor": Host(
        "cursor",
        "Cursor",
        "mcpServers",
        False,
        False,
        "Cursor picks it up in Settings > MCP (or restart it).",
    ),
    "vscode": Host(
        "vscode",
        "VS Code",
        "servers",
        True,
        True,
        "VS Code asks for the key when it first starts the server (MCP: List Servers to start it).",
        comments=True,
    ),
}
CLAUDE_CODE = "claude-code"  # no file of ours to edit: its own `claude mcp` command does it


def default_config_path(
    host: Host, platform: str = sys.platform, env: Mapping[str, str] | None = None, home: Path | None = None
) -> Path:
    """The host's user-level config file on this platform (macOS, Windows, Linux)."""
    env = os.environ if env is None else env
    home = Path.home() if home is None else home
    if host.name == "cursor":
        return home / ".cursor" / "mcp.json"
    if platform == "darwin":
        base = home / "Library" / "Application Support"
    elif platform == "win32":
        base = Path(env.get("APPDATA") or home / "AppData" / "Roaming")
    else:
        base = Path(env.get("XDG_CONFIG_HOME") or home / ".config")
    if host.name == "vscode":
        return base / "Code" / "User" / "mcp.json"
    return base / "Claude" / "claude_desktop_config.json"


def desired_entry(
    host: Host, launch: Launch, env: dict[str, str], existing: Mapping[str, Any]
) -> dict[str, Any]:
    """The entry after install: our command, args and env on top of whatever else the entry had.

    An existing key in `env` is kept unless `env` brings a new one; VS Code gets the input reference.
    """
    merged_env = {**(existing.get("env") or {}), **env}
    if host.key_by_input and KEY_VAR not in merged_env:
        merged_env[KEY_VAR] = "${input:" + KEY_INPUT["id"] + "}"
    entry = {k: v for k, v in existing.items() if k not in ("type", "command", "args", "env")}
    ours: dict[str, Any] = {"type": "stdio"} if host.typed else {}
    ours |= {"command": launch.command, "args": launch.args}
    if merged_env:
        ours["env"] = merged_env
    return ours | entry
