"""The `fw-mcp` command. Bare `fw-mcp` is `fw-mcp serve`: MCP over stdio, as hosts start it."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from fw_mcp import __version__
from fw_mcp.commands import serve
from fw_mcp.errors import FwMcpError
from fw_mcp.logs import configure_logging

__all__ = ["main"]

logger = logging.getLogger("fw_mcp")

EXAMPLES = """examples:
  fw-mcp                                  serve over stdio (what MCP hosts run)
  fw-mcp --transport http --port 8000     serve streamable HTTP at http://127.0.0.1:8000/mcp
  fw-mcp --config ./fw-mcp.toml           use settings from a TOML file

environment:
  FIREWORKS_API_KEY     your Fireworks key (needed for calls, not to start)
  FIREWORKS_BASE_URL    API base, default https://api.fireworks.ai/inference/v1
  FW_MCP_CONFIG         TOML settings file (same as --config)
  FW_MCP_ALLOWED_DIRS   folders describe_image may read, separated by ':' (';' on Windows)
"""


def build_parser() -> argparse.ArgumentParser:
    flags = argparse.ArgumentParser(add_help=False)
    serve.add_flags(flags)
    parser = argparse.ArgumentParser(
        prog="fw-mcp",
        description="An MCP server for Fireworks AI models: chat, extract_json, describe_image, call_with_tools.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        parents=[flags],
    )
    parser.add_argument("--version", action="version", version=f"fw-mcp {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands.add_parser(
        "serve",
        parents=[flags],
        help="serve MCP (the default command)",
        description="Serve MCP over stdio (default) or streamable HTTP.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    configure_logging()
    try:
        return serve.run(args)
    except FwMcpError as exc:
        print(f"fw-mcp: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
