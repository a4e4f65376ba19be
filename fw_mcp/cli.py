"""The `fw-mcp` command. Bare `fw-mcp` is `fw-mcp serve`: MCP over stdio, as hosts start it.

Each subcommand lives in `fw_mcp.commands.<name>`; this module only parses, dispatches, and turns
errors into one readable line and an exit code: never a traceback. A subcommand's module is imported
only when that command is on the command line, so serving (what hosts start, and wait for) loads
none of the others.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence
from importlib import import_module

from fw_mcp.commands import COMMANDS, serve
from fw_mcp.commands._common import EXIT_FAILED, EXIT_USAGE
from fw_mcp.errors import FireworksError, FwMcpError
from fw_mcp.logs import configure_logging
from fw_mcp.redaction import redact
from fw_mcp.registry import TOOLS

__all__ = ["main", "parse_args"]

logger = logging.getLogger("fw_mcp")

# The commands that talk to Fireworks, so `--simulate` (before or after the command) means something.
SIMULATED_COMMANDS = ("serve", "call", "doctor", "models")

EXAMPLES = """examples:
  fw-mcp                                  serve over stdio (what MCP hosts run)
  fw-mcp --transport http --port 8000     serve streamable HTTP at http://127.0.0.1:8000/mcp
  fw-mcp --config ./fw-mcp.toml           use settings from a TOML file
  fw-mcp --simulate                       serve offline: the built-in simulator answers (no key)
  fw-mcp install claude-desktop           add fw-mcp to Claude Desktop (also: claude-code, cursor, vscode)
  fw-mcp doctor                           check the key, the base URL, folders and models
  fw-mcp doctor --simulate                the same checks offline, against the built-in simulator
  fw-mcp config --example                 every setting, with its default
  fw-mcp call chat --arg prompt=hello     run one tool from the shell
  fw-mcp models                           the models your key can use
  fw-mcp search "retry policy" ./docs     search files by meaning; prints path:line:text like grep -n
  fw-mcp usage --by day                   calls, tokens and estimated cost per day; budget left
  FW_MCP_AUTH_TOKEN=... fw-mcp --transport http --host 0.0.0.0 --workers 4   a team server (README)

Run `fw-mcp COMMAND --help` for each command's options and examples.

environment:
  FIREWORKS_API_KEY     your Fireworks key (needed for calls, not to start)
  FIREWORKS_BASE_URL    API base, default https://api.fireworks.ai/inference/v1
  FW_MCP_CONFIG         TOML settings file (same as --config)
  FW_MCP_ALLOWED_DIRS   folders describe_image may read, separated by ':' (';' on Windows)
  FW_MCP_LOG_LEVEL      log level on stderr (serve: INFO; other commands: WARNING)
  FW_MCP_AUTH_TOKEN     HTTP: bearer token clients must send (FW_MCP_AUTH_TOKENS_FILE: one per user)
"""

SERVE_EXAMPLES = """examples:
  fw-mcp serve                            stdio, as hosts start it (same as bare `fw-mcp`)
  fw-mcp serve --transport http --port 8000
  fw-mcp serve --config ./fw-mcp.toml
  fw-mcp serve --simulate                 no key, no network: every answer is labelled simulated
  FW_MCP_AUTH_TOKEN=... fw-mcp serve --transport http --host 0.0.0.0 --workers 4
"""


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """The command line, parsed, with each subcommand's options loaded only when it is given.

    `fw-mcp --help` needs only each command's one line (fw_mcp.commands.COMMANDS), and serving needs
    no other command. So a first pass (`parse_known_args`) finds the command; its module's
    `add_arguments` then completes that command's parser, and the second pass parses for real.
    """
    args = list(sys.argv[1:] if argv is None else argv)
    parser, incomplete = _build_parser()
    found, _ = parser.parse_known_args(args)
    if found.command in incomplete:
        command = incomplete[found.command]
        command.add_argument("-h", "--help", action="help", help="show this help message and exit")
        import_module(f"fw_mcp.commands.{found.command}").add_arguments(command)
    return parser.parse_args(args)


def _build_parser() -> tuple[argparse.ArgumentParser, dict[str, argparse.ArgumentParser]]:
    """The parser, and the commands' parsers still without their options (nor --help, so that the
    first pass leaves `fw-mcp doctor --help` to the completed parser)."""
    top_flags = argparse.ArgumentParser(add_help=False)
    serve.add_flags(top_flags)
    parser = argparse.ArgumentParser(
        prog="fw-mcp",
        description=f"An MCP server for Fireworks AI models: {', '.join(t.name for t in TOOLS)}; "
        "and the commands to install, try and check it.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        parents=[top_flags],
    )
    parser.add_argument("-V", "--version", action="store_true", help="print the version and exit")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    serve_parser = commands.add_parser(
        "serve",
        help="serve MCP (the default command)",
        description="Serve MCP over stdio (default) or streamable HTTP.",
        epilog=SERVE_EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    serve.add_flags(serve_parser)  # its defaults are SUPPRESSed: `fw-mcp --port 9 serve` keeps 9
    incomplete = {
        name: commands.add_parser(name, help=help, add_help=False) for name, help in COMMANDS.items()
    }
    return parser, incomplete


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.version:
        from fw_mcp import __version__  # read from the installed metadata only when asked for

        print(f"fw-mcp {__version__}")
        return 0
    command = args.command or "serve"
    configure_logging(None if command == "serve" else os.environ.get("FW_MCP_LOG_LEVEL") or "WARNING")
    if getattr(args, "simulate", False) and command not in SIMULATED_COMMANDS:
        print(
            f"fw-mcp: --simulate applies to {', '.join(SIMULATED_COMMANDS)}, not to {command}.",
            file=sys.stderr,
        )
        return EXIT_USAGE
    try:
        run = serve.run if command == "serve" else import_module(f"fw_mcp.commands.{command}").run
        return run(args)
    except KeyboardInterrupt:
        return 130
    except BaseException as exc:  # the top level: every error ends as one line, never a traceback
        return _report(exc)


def _report(exc: BaseException) -> int:
    error = _unwrap(exc)
    if isinstance(error, KeyboardInterrupt):
        return 130
    if isinstance(error, SystemExit):
        raise error
    if isinstance(error, BrokenPipeError):  # `fw-mcp models | head`: the reader left; nothing to say
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_FAILED
    if isinstance(error, FwMcpError):
        print(f"fw-mcp: {redact(str(error))}", file=sys.stderr)
        return EXIT_FAILED if isinstance(error, FireworksError) else EXIT_USAGE
    logger.debug("unexpected error", exc_info=error)
    print(
        f"fw-mcp: unexpected error: {type(error).__name__}: {redact(str(error))}\n"
        "This is a bug in fw-mcp. Run again with FW_MCP_LOG_LEVEL=DEBUG for the details, and report it.",
        file=sys.stderr,
    )
    return EXIT_FAILED


def _unwrap(exc: BaseException) -> BaseException:
    """Task groups wrap a lone failure in an ExceptionGroup: report the failure itself."""
    while isinstance(exc, BaseExceptionGroup) and len(exc.exceptions) == 1:
        exc = exc.exceptions[0]
    return exc
