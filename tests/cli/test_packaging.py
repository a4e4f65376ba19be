"""Ready for PyPI, the MCP Registry and Claude Desktop: wheel and sdist, server.json, the MCP Bundle.

These build and run the real artefacts with the real tools (build, twine, uv), as a release would.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tarfile
import tomllib
import zipfile
from pathlib import Path

import anyio
import jsonschema
import pytest
from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client

from fw_mcp.hosts.launchers import ephemeral_launcher
from fw_mcp.python_version import python_too_old
from fw_mcp.registry import TOOLS as REGISTRY
from tests.cli.helpers import ROOT, child_env, spawn
from tests.conftest import TEST_KEY

SCHEMAS = Path(__file__).parents[1] / "schemas"
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
VERSION = PYPROJECT["project"]["version"]
TOOLS = {tool.name for tool in REGISTRY}
BIN = Path(sys.executable).parent


def _source_copy(dest: Path) -> Path:
    """The project's files without the local venv and caches, so a build leaves the checkout alone."""
    skip = shutil.ignore_patterns(".venv", ".git", "build", "dist", "*.egg-info", "__pycache__", ".*_cache")
    return Path(shutil.copytree(ROOT, dest / "src", ignore=skip))


def test_wheel_and_sdist_build_and_pass_twine_check(tmp_path: Path) -> None:
    source = _source_copy(tmp_path)
    dist = tmp_path / "dist"
    built = subprocess.run(
        [sys.executable, "-m", "build", "--no-isolation", "--outdir", str(dist), str(source)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert built.returncode == 0, built.stdout[-2000:] + built.stderr[-2000:]
    [wheel] = dist.glob("*.whl")
    [sdist] = dist.glob("*.tar.gz")
    assert wheel.name == f"fw_mcp-{VERSION}-py3-none-any.whl"
    checked = subprocess.run(
        [str(BIN / "twine"), "check", "--strict", str(wheel), str(sdist)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert checked.returncode == 0 and checked.stdout.count("PASSED") == 2, checked.stdout + checked.stderr
    with tarfile.open(sdist) as tar:
        names = {n.split("/", 1)[1] for n in tar.getnames() if "/" in n}
    assert {
        "LICENSE",
        "CHANGELOG.md",
        "README.md",
        "server.json",
        "fw_mcp/configs/fw-mcp.example.toml",
    } <= names
    with zipfile.ZipFile(wheel) as whl:
        files = set(whl.namelist())
        metadata = whl.read(f"fw_mcp-{VERSION}.dist-info/METADATA").decode()
    assert {"fw_mcp/configs/default.toml", "fw_mcp/configs/fw-mcp.example.toml", "fw_mcp/py.typed"} <= files
    assert f"fw_mcp-{VERSION}.dist-info/licenses/LICENSE" in files
    assert "Requires-Python: >=3.11" in metadata and "License-Expression: MIT" in metadata
    assert "httpx2" in metadata and "Requires-Dist: httpx\n" not in metadata


def test_an_old_python_gets_a_clear_message_not_an_import_error() -> None:
    message = python_too_old((3, 10, 12))
    assert message is not None and "needs Python 3.11 or newer; this is Python 3.10.12" in message
    assert python_too_old((3, 11, 0)) is None and python_too_old((3, 13, 1)) is None
    assert PYPROJECT["project"]["requires-python"] == ">=3.11"


def test_server_json_is_valid_for_the_mcp_registry() -> None:
    schema = json.loads((SCHEMAS / "server.schema.2025-12-11.json").read_text())
    server = json.loads((ROOT / "server.json").read_text())
    assert server["$schema"] == schema["$id"]
    jsonschema.Draft7Validator(schema, format_checker=jsonschema.FormatChecker()).validate(server)
    [package] = server["packages"]
    assert (package["registryType"], package["identifier"], package["transport"]) == (
        "pypi",
        PYPROJECT["project"]["name"],
        {"type": "stdio"},
    )
    assert server["version"] == package["version"] == VERSION
    env = {v["name"]: v for v in package["environmentVariables"]}
    assert env["FIREWORKS_API_KEY"]["isSecret"] is True and all(v["description"] for v in env.values())
    assert f"mcp-name: {server['name']}" in (ROOT / "README.md").read_text()  # PyPI ownership marker


def test_a_broken_server_json_would_fail_the_schema() -> None:
    schema = json.loads((SCHEMAS / "server.schema.2025-12-11.json").read_text())
    server = json.loads((ROOT / "server.json").read_text())
    server["packages"][0]["version"] = "latest"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.Draft7Validator(schema).validate(server)


def _substituted(value: str, dirname: Path, user_config: dict[str, str | list[str]]) -> list[str]:
    """A host's substitution of one mcp_config string: ${__dirname}, ${user_config.X} (lists expand)."""
    for name, given in user_config.items():
        if value == f"${{user_config.{name}}}" and isinstance(given, list):
            return given
        value = value.replace(f"${{user_config.{name}}}", str(given))
    return [value.replace("${__dirname}", str(dirname))]


async def test_the_bundle_validates_and_runs_as_its_manifest_says(tmp_path: Path) -> None:
    out = tmp_path / "fw-mcp.mcpb"
    ran = await anyio.to_thread.run_sync(lambda: spawn("bundle", "-o", str(out)))
    assert ran.code == 0 and out.is_file()
    unpacked = tmp_path / "installed"
    with zipfile.ZipFile(out) as bundle:
        bundle.extractall(unpacked)
    manifest = json.loads((unpacked / "manifest.json").read_text())
    schema = json.loads((SCHEMAS / "mcpb-manifest-v0.4.schema.json").read_text())
    jsonschema.Draft7Validator(schema).validate(manifest)
    assert manifest["manifest_version"] == "0.4" and manifest["server"]["type"] == "uv"
    assert manifest["user_config"]["fireworks_api_key"]["sensitive"] is True
    assert manifest["user_config"]["allowed_dirs"]["type"] == "directory"
    assert {t["name"] for t in manifest["tools"]} == TOOLS
    assert {p["name"] for p in manifest["prompts"]} == {
        "summarize",
        "extract_to_schema",
        "describe_screenshot",
    }

    config = manifest["server"]["mcp_config"]
    user_config: dict[str, str | list[str]] = {"fireworks_api_key": TEST_KEY, "allowed_dirs": [str(tmp_path)]}
    assert config["command"] == "uv"
    args = [a for arg in config["args"] for a in _substituted(arg, unpacked, user_config)]
    env = {k: _substituted(v, unpacked, user_config)[0] for k, v in config.get("env", {}).items()}
    assert env == {"FIREWORKS_API_KEY": TEST_KEY}
    params = StdioServerParameters(
        command=str(BIN / "uv"),
        args=args,
        env=child_env(
            {**env, "UV_CACHE_DIR": os.environ.get("UV_CACHE_DIR", str(Path.home() / ".cache" / "uv"))}
        ),
        cwd=str(tmp_path),
    )
    with anyio.fail_after(300):  # uv fetches the dependencies on the first run, as in Claude Desktop
        async with stdio_client(params) as (read, write), ClientSession(read, write) as session:
            await session.initialize()
            tools = (await session.list_tools()).tools
    assert {t.name for t in tools} == TOOLS


@pytest.mark.parametrize(
    ("python", "env", "source", "expected"),
    [
        (
            "/home/a/.cache/uv/archive-v0/Xy12/bin/python",
            {},
            "/src/fw-mcp",
            ["--from", "/src/fw-mcp", "fw-mcp"],
        ),
        ("/c/uvcache/builds-v0/.tmp1/bin/python", {"UV_CACHE_DIR": "/c/uvcache"}, None, ["fw-mcp"]),
        ("/home/a/.local/pipx/.cache/3f2e/bin/python", {}, None, ["run", "fw-mcp"]),
        ("/home/a/.local/share/pipx/.cache/3f2e/bin/python", {}, "/src", ["run", "--spec", "/src", "fw-mcp"]),
    ],
)
def test_ephemeral_launchers_are_recognised(
    python: str, env: dict[str, str], source: str | None, expected: list[str]
) -> None:
    launch = ephemeral_launcher(Path(python), {"PATH": "", **env}, source)
    assert launch is not None and launch.args == expected and "may be deleted" in launch.note


@pytest.mark.parametrize(
    "python",
    ["/home/a/.local/share/uv/tools/fw-mcp/bin/python", "/home/a/.local/pipx/venvs/fw-mcp/bin/python"],
)
def test_lasting_installs_are_not_ephemeral(python: str) -> None:
    assert ephemeral_launcher(Path(python), {"PATH": ""}, None) is None


def test_install_run_through_uvx_writes_uvx_not_a_cache_path(tmp_path: Path) -> None:
    config = tmp_path / "claude_desktop_config.json"
    done = subprocess.run(
        [
            str(BIN / "uvx"),
            "--from",
            str(ROOT),
            "fw-mcp",
            "install",
            "claude-desktop",
            "--config-path",
            str(config),
        ],
        env=child_env({"PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    entry = json.loads(config.read_text())["mcpServers"]["fireworks"]
    assert Path(entry["command"]).name == "uvx" and entry["args"] == ["--from", str(ROOT), "fw-mcp"]
    assert "uv's cache" in done.stdout
