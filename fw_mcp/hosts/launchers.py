"""How a host should start fw-mcp: this installation's `fw-mcp` by absolute path, unless it is ephemeral.

`uvx --from . fw-mcp` and `pipx run` run fw-mcp from an environment in a cache that uv or pipx
delete when they like: a host entry pointing there would break some day, silently. Then the entry
starts fw-mcp through the same launcher instead (`uvx ... fw-mcp`, `pipx run ... fw-mcp`), which
rebuilds the environment whenever it is gone.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

__all__ = ["Launch", "ephemeral_launcher", "launch_command"]

PACKAGE = "fw-mcp"
_UV_CACHE_BUCKET = re.compile(r"^(archive|builds|environments)-v\d+$")


@dataclass(frozen=True)
class Launch:
    """How a host starts fw-mcp: absolute paths, since hosts give a minimal PATH."""

    command: str
    args: list[str]
    note: str = ""  # why this launcher was chosen, for the person installing


def launch_command(executable: str | None = None, env: Mapping[str, str] | None = None) -> Launch:
    """The `fw-mcp` script beside this Python (venv, pipx), else this Python with `-m fw_mcp`;
    through uvx or pipx when this Python lives in their cache."""
    python = Path(os.path.abspath(executable or sys.executable))  # not resolved: a venv's python is a link
    ephemeral = ephemeral_launcher(python, os.environ if env is None else env, _source())
    if ephemeral is not None:
        return ephemeral
    script = python.parent / ("fw-mcp.exe" if os.name == "nt" else "fw-mcp")
    if script.is_file():
        return Launch(str(script), [])
    return Launch(str(python), ["-m", "fw_mcp"])


def ephemeral_launcher(python: Path, env: Mapping[str, str], source: str | None) -> Launch | None:
    """`uvx`/`pipx run` when `python` is in uv's or pipx's cache; `source` is a local project folder
    fw-mcp was installed from (then `--from`/`--spec` it, until fw-mcp is on PyPI), else None."""
    parents = python.parents
    if any(_UV_CACHE_BUCKET.match(p.name) and _is_uv_cache(p.parent, env) for p in parents):
        uvx = shutil.which("uvx", path=env.get("PATH")) or "uvx"
        args = ["--from", source, PACKAGE] if source else [PACKAGE]
        return Launch(uvx, args, _note("uv's cache (uvx)", uvx, args))
    pipx_home = env.get("PIPX_HOME")
    if any(p.name == ".cache" and (_is_pipx_home(p.parent, pipx_home)) for p in parents):
        pipx = shutil.which("pipx", path=env.get("PATH")) or "pipx"
        args = ["run", "--spec", source, PACKAGE] if source else ["run", PACKAGE]
        return Launch(pipx, args, _note("pipx's cache (pipx run)", pipx, args))
    return None


def _is_uv_cache(folder: Path, env: Mapping[str, str]) -> bool:
    configured = env.get("UV_CACHE_DIR")
    if configured:
        return folder == Path(os.path.abspath(configured))
    return folder.name in ("uv", "cache")  # ~/.cache/uv, %LOCALAPPDATA%\uv\cache


def _is_pipx_home(folder: Path, configured: str | None) -> bool:
    if configured:
        return folder == Path(os.path.abspath(configured))
    return folder.name == "pipx"  # ~/.local/pipx, ~/.local/share/pipx


def _note(where: str, command: str, args: list[str]) -> str:
    shown = " ".join([Path(command).name, *args])
    return (
        f"Note: this fw-mcp runs from {where}, which may be deleted at any time, so the entry starts "
        f"it with `{shown}` instead of a path into that cache."
    )


def _source() -> str | None:
    """The local folder this installation was built from (PEP 610 direct_url.json), if any."""
    from importlib.metadata import PackageNotFoundError, distribution

    try:
        raw = distribution(PACKAGE).read_text("direct_url.json")
    except PackageNotFoundError:
        return None
    if not raw:
        return None
    try:
        url = json.loads(raw).get("url", "")
    except ValueError:
        return None
    parts = urlsplit(url)
    if parts.scheme != "file":
        return url or None  # a VCS or archive URL: uvx/pipx take it as it is
    return unquote(parts.path)
