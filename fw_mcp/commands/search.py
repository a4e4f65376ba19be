"""`fw-mcp search QUERY PATH...`: the `search` tool from the shell, its matches printed as `grep -n` does.

The call goes through the MCP server in-process, exactly as `fw-mcp call search` and a host's call
do (same sandbox, limits and cache). Each matching passage is printed as `path:line:text` lines,
passages separated by `--`, best first; what was searched and left out goes to stderr.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import TYPE_CHECKING, Any

from fw_mcp.commands._common import (
    EXIT_FAILED,
    EXIT_OK,
    add_config_flag,
    add_simulate_flag,
    command_settings,
    describe,
)

if TYPE_CHECKING:
    from mcp.types import CallToolResult

    from fw_mcp.settings import Settings

__all__ = ["add_arguments", "grep_lines", "run"]

EXAMPLES = """\
  fw-mcp search "retry policy" ./docs                 the 5 best passages, as path:line:text
  fw-mcp search "how are tokens checked" . --glob '*.py' --top-k 3
  fw-mcp search "deploy steps" ./notes --json          the whole result as JSON
  fw-mcp search --simulate "retry" .                   offline, against the built-in simulator

Paths must be inside the folders the server may read (FW_MCP_ALLOWED_DIRS; by default the current
folder). Exit code: 0 with matches, 1 with none or on an error, 2 on a usage or configuration problem.
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    describe(
        parser,
        description="Search local text files by meaning with the `search` tool (embeddings, then a "
        "reranker) and print the best passages like grep -n: path:line:text.",
        examples=EXAMPLES,
    )
    parser.add_argument("query", metavar="QUERY", help="what to look for, in words")
    parser.add_argument("paths", metavar="PATH", nargs="+", help="files or folders to search")
    parser.add_argument("--top-k", type=int, default=5, metavar="N", help="passages to print (default 5)")
    parser.add_argument("--glob", metavar="PATTERN", help="only files matching this, e.g. '*.md'")
    parser.add_argument("--json", action="store_true", help="print the whole result as JSON")
    add_config_flag(parser)
    add_simulate_flag(parser)


def run(args: argparse.Namespace) -> int:
    import anyio

    arguments: dict[str, Any] = {"query": args.query, "paths": args.paths, "top_k": args.top_k}
    if args.glob:
        arguments["glob"] = args.glob
    simulated = bool(getattr(args, "simulate", False))
    with command_settings(args) as settings:
        result = anyio.run(_call, settings, simulated, arguments)
    if args.json:
        print(json.dumps(result.model_dump(mode="json", by_alias=True, exclude_none=True), indent=2))
        return EXIT_FAILED if result.is_error else EXIT_OK
    return _print(result)


async def _call(settings: Settings, simulated: bool, arguments: dict[str, Any]) -> CallToolResult:
    import mcp

    from fw_mcp.server import build_server

    async with mcp.Client(build_server(settings, simulated=simulated)) as client:
        return await client.call_tool("search", arguments)


def grep_lines(match: dict[str, Any]) -> list[str]:
    """One passage as `path:line:text` lines, numbered from its first line."""
    lines = str(match["text"]).split("\n")
    return [f"{match['path']}:{match['start_line'] + i}:{line}" for i, line in enumerate(lines)]


def _print(result: CallToolResult) -> int:
    texts = [block.text for block in result.content if block.type == "text"]
    data = result.structured_content
    if result.is_error or not isinstance(data, dict):
        print("\n".join(texts), file=sys.stderr)
        return EXIT_FAILED
    for k, match in enumerate(data["matches"]):
        if k:
            print("--")
        print("\n".join(grep_lines(match)))
    for line in [*data.get("notes", []), texts[-1]]:  # what was skipped or left out; what was searched
        print(line, file=sys.stderr)
    return EXIT_OK if data["matches"] else EXIT_FAILED
