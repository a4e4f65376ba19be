"""One-click install links: Cursor's deeplink and VS Code's `vscode:mcp/install` URL.

Both carry the entry as JSON (Cursor base64-encoded, VS Code URL-encoded). The key is never in a
link, since links are pasted and shared: each host is told to ask for it or read it from its env.
"""

from __future__ import annotations

import base64
import json
from typing import Any
from urllib.parse import quote, urlencode

from fw_mcp.hosts import KEY_VAR, Launch

__all__ = ["cursor_link", "install_links", "vscode_link"]


def _entry(launch: Launch, env: dict[str, str]) -> dict[str, Any]:
    entry: dict[str, Any] = {"command": launch.command, "args": launch.args}
    if env:
        entry["env"] = env
    return entry


def cursor_link(name: str, launch: Launch, env: dict[str, str]) -> str:
    config = json.dumps(_entry(launch, env), separators=(",", ":")).encode()
    query = urlencode({"name": name, "config": base64.b64encode(config).decode()})
    return f"cursor://anysphere.cursor-deeplink/mcp/install?{query}"


def vscode_link(name: str, launch: Launch, env: dict[str, str]) -> str:
    config = {"name": name, "type": "stdio", **_entry(launch, env)}
    return "vscode:mcp/install?" + quote(json.dumps(config, separators=(",", ":")), safe="")


def install_links(name: str, launch: Launch, env: dict[str, str]) -> str:
    assert KEY_VAR not in env
    lines = [
        "Cursor (open it, or paste it in a browser):",
        f"  {cursor_link(name, launch, env)}",
        "VS Code:",
        f"  {vscode_link(name, launch, env)}",
        f"The links start `{' '.join([launch.command, *launch.args])}` and hold no key: add {KEY_VAR} "
        "to the entry's env in the host after installing (or use `fw-mcp install HOST`).",
    ]
    if launch.note:
        lines.append(launch.note)
    return "\n".join(lines)
