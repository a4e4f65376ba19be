"""`fw-mcp bundle -o fw-mcp.mcpb`: an MCP Bundle that Claude Desktop installs with a double click.

The bundle (manifest 0.4, server type `uv`) holds this installation's `fw_mcp` package and a
pyproject.toml naming its dependencies; Claude Desktop runs it with uv, which fetches Python and
the dependencies itself, on any platform. The key is a `sensitive` user_config field (kept in the
OS keychain); the folders describe_image may read are a `directory` list, passed as arguments.
"""

from __future__ import annotations

import argparse
import json
import zipfile
from pathlib import Path
from typing import Any

from fw_mcp.commands._common import EXIT_OK, describe

__all__ = ["add_arguments", "build_bundle", "manifest", "run"]

EXAMPLES = """\
  fw-mcp bundle -o fw-mcp.mcpb          then open fw-mcp.mcpb with Claude Desktop (double click)
"""

ENTRY_POINT = "server/main.py"
# The bundle's entry point: folders chosen in the host's settings arrive as arguments.
MAIN = '''"""fw-mcp in an MCP Bundle: the folders chosen for describe_image arrive as arguments."""

import os
import sys

if len(sys.argv) > 1:
    os.environ["FW_MCP_ALLOWED_DIRS"] = os.pathsep.join(a for a in sys.argv[1:] if a)

from fw_mcp.cli import main

raise SystemExit(main([]))
'''


def add_arguments(parser: argparse.ArgumentParser) -> None:
    describe(
        parser,
        description="Build an MCP Bundle (.mcpb) of this fw-mcp for Claude Desktop: manifest 0.4, run "
        "by uv, the API key asked for as a secret, the folders describe_image may read as a folder list.",
        examples=EXAMPLES,
    )
    parser.add_argument("-o", "--output", metavar="FILE", default="fw-mcp.mcpb", help="default fw-mcp.mcpb")


def run(args: argparse.Namespace) -> int:
    import anyio

    tools, prompts = anyio.run(_tools_and_prompts)
    out = Path(args.output)
    build_bundle(out, manifest(tools, prompts))
    print(f"Wrote {out} ({out.stat().st_size:,} bytes). Open it with Claude Desktop to install fw-mcp.")
    return EXIT_OK


async def _tools_and_prompts() -> tuple[list[dict[str, str]], list[dict[str, Any]]]:
    """What the server offers, listed by the server itself (no key needed to list)."""
    import mcp

    from fw_mcp.server import build_server
    from fw_mcp.settings import load_settings

    async with mcp.Client(build_server(load_settings())) as client:
        tools = [
            {"name": t.name, "description": t.description or ""} for t in (await client.list_tools()).tools
        ]
        prompts = []
        for p in (await client.list_prompts()).prompts:
            arguments = [a.name for a in p.arguments or []]
            prompts.append(
                {
                    "name": p.name,
                    "description": p.description or "",
                    "arguments": arguments,
                    "text": (p.description or p.name)
                    + "".join(f"\n{a}: ${{arguments.{a}}}" for a in arguments),
                }
            )
    return tools, prompts


def manifest(tools: list[dict[str, str]], prompts: list[dict[str, Any]]) -> dict[str, Any]:
    from fw_mcp import __version__

    return {
        "manifest_version": "0.4",
        "name": "fw-mcp",
        "display_name": "Fireworks AI (fw-mcp)",
        "version": __version__,
        "description": "Fireworks AI open models as MCP tools: chat, structured JSON, vision, function calling.",
        "author": {"name": "fw-mcp contributors"},
        "server": {
            "type": "uv",
            "entry_point": ENTRY_POINT,
            "mcp_config": {
                "command": "uv",
                "args": ["run", "--directory", "${__dirname}", ENTRY_POINT, "${user_config.allowed_dirs}"],
                "env": {"FIREWORKS_API_KEY": "${user_config.fireworks_api_key}"},
            },
        },
        "tools": tools,
        "prompts": prompts,
        "keywords": ["fireworks", "llm", "open-models", "vision", "json-schema", "function-calling"],
        "license": "MIT",
        "compatibility": {"platforms": ["darwin", "win32", "linux"], "runtimes": {"python": ">=3.11"}},
        "user_config": {
            "fireworks_api_key": {
                "type": "string",
                "title": "Fireworks API key",
                "description": "Your key from https://fireworks.ai/account/api-keys (starts with fw_).",
                "sensitive": True,
                "required": True,
            },
            "allowed_dirs": {
                "type": "directory",
                "title": "Folders describe_image may read",
                "description": "Local images in these folders can be described; others are refused.",
                "multiple": True,
                "required": False,
                "default": [],
            },
        },
    }


def _pyproject() -> str:
    """A pyproject.toml for uv: this version of fw-mcp, its dependencies as installed, the package."""
    from importlib.metadata import requires

    from fw_mcp import __version__

    deps = [r for r in requires("fw-mcp") or [] if "extra ==" not in r]
    lines = [
        "[build-system]",
        'requires = ["setuptools>=77"]',
        'build-backend = "setuptools.build_meta"',
        "",
        "[project]",
        'name = "fw-mcp"',
        f'version = "{__version__}"',
        'requires-python = ">=3.11"',
        "dependencies = [",
        *(f"    {json.dumps(d)}," for d in deps),
        "]",
        "",
        "[tool.setuptools.packages.find]",
        'include = ["fw_mcp*"]',
        "",
        "[tool.setuptools.package-data]",
        'fw_mcp = ["configs/*.toml", "py.typed"]',
        "",
    ]
    return "\n".join(lines)


def build_bundle(out: Path, data: dict[str, Any]) -> None:
    """Write the zip: manifest, pyproject, entry point, and the fw_mcp package (no caches)."""
    import fw_mcp

    package = Path(fw_mcp.__file__).parent
    out.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as bundle:
        bundle.writestr("manifest.json", json.dumps(data, indent=2) + "\n")
        bundle.writestr("pyproject.toml", _pyproject())
        bundle.writestr(ENTRY_POINT, MAIN)
        for path in sorted(package.rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc":
                bundle.write(path, f"fw_mcp/{path.relative_to(package).as_posix()}")
