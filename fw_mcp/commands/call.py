"""`fw-mcp call TOOL`: run one tool without a host, through the MCP server itself (in-process).

The answer streams to stdout as it arrives (the printer watches the call's output and the client's
events as data, `fw_mcp.commands._output`); status, the account line and errors go to stderr, so
`fw-mcp call ... > answer.txt` keeps only the answer. `--json` is the machine mode: JSON arguments
in, the whole CallToolResult as JSON out.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from typing import TYPE_CHECKING, Any

from fw_mcp.commands._common import (
    EXIT_FAILED,
    EXIT_OK,
    UsageError,
    add_config_flag,
    add_simulate_flag,
    command_settings,
    describe,
)
from fw_mcp.commands._output import Printer
from fw_mcp.registry import TOOLS, streamed_tools

if TYPE_CHECKING:
    from fw_mcp.settings import Settings

__all__ = ["add_arguments", "parse_arguments", "run", "typed_value"]

EXAMPLES = """\
  fw-mcp call chat --arg prompt="Explain CRDTs in two sentences." --arg max_tokens=200
  fw-mcp call chat --arg prompt=hi --arg model=qwen3          (an alias from `fw-mcp models`)
  fw-mcp call extract_json --arg text="Ann is 31" \\
      --arg schema='{"type": "object", "properties": {"age": {"type": "integer"}}}'
  fw-mcp call describe_image --arg image=./screenshot.png --arg prompt="What is wrong here?"
  fw-mcp call chat --json '{"prompt": "hi"}'                   JSON in, the whole result as JSON out
  fw-mcp call chat --arg prompt=hi --json                      the whole result as JSON
  fw-mcp call --simulate chat --arg prompt=hi                  offline, against the built-in simulator

--arg values are read as JSON when that gives a type the argument takes (numbers, lists, objects),
and as text otherwise. Exit code: 0 on success, 1 when the tool reported an error, 2 on a usage or
configuration problem.
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    describe(
        parser,
        description="Run one fw-mcp tool through the MCP server in-process, exactly as a host's call "
        "runs it. The answer streams to stdout; status and errors go to stderr.",
        examples=EXAMPLES,
    )
    parser.add_argument("tool", metavar="TOOL", nargs="?", help=", ".join(t.name for t in TOOLS))
    parser.add_argument("stray", nargs="*", help=argparse.SUPPRESS)  # `prompt=hi` without --arg: a hint
    parser.add_argument(
        "--arg",
        dest="pairs",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="one tool argument (repeatable)",
    )
    parser.add_argument(
        "--json",
        dest="json_args",
        nargs="?",
        const="",
        metavar="'{...}'",
        help="print the whole result as JSON; optionally give the arguments as a JSON object "
        "('-' reads it from stdin); --arg values override its keys",
    )
    add_config_flag(parser)
    add_simulate_flag(parser)


def run(args: argparse.Namespace) -> int:
    import anyio

    tool, json_args = _tool_and_json(args)
    simulated = bool(getattr(args, "simulate", False))
    with command_settings(args) as settings:
        return anyio.run(_call, settings, simulated, tool, args.pairs, json_args)


def _tool_and_json(args: argparse.Namespace) -> tuple[str, str | None]:
    """`fw-mcp call --json chat` puts the tool name in --json's value: take it back."""
    tool, json_args = args.tool, args.json_args
    if args.stray:
        fixed = " ".join(f"--arg {pair}" if "=" in pair else pair for pair in args.stray)
        raise UsageError(
            f"Tool arguments go after --arg, one each: fw-mcp call {tool or 'TOOL'} {fixed} "
            f"(got {' '.join(args.stray)!r})."
        )
    if tool is None and json_args and re.fullmatch(r"[A-Za-z0-9_-]+", json_args):
        tool, json_args = json_args, ""
    if tool is None:
        raise UsageError(
            "Name the tool to run: fw-mcp call TOOL [--arg KEY=VALUE ...], e.g. fw-mcp call chat."
        )
    if json_args == "-":
        json_args = sys.stdin.read()
    return tool, json_args


async def _call(
    settings: Settings, simulated: bool, tool: str, pairs: list[str], json_args: str | None
) -> int:
    import mcp

    from fw_mcp.server import build_server

    printer = Printer(tool in streamed_tools(), sys.stdout, sys.stderr)
    watcher = None if json_args is not None else printer
    async with mcp.Client(build_server(settings, simulated=simulated, watcher=watcher)) as client:
        tools = {t.name: t for t in (await client.list_tools()).tools}
        if tool not in tools:
            raise UsageError(f"Unknown tool {tool!r}. This server has: {', '.join(tools)}.")
        arguments = parse_arguments(pairs, json_args, tools[tool].input_schema)
        if json_args is not None:
            result = await client.call_tool(tool, arguments)
            print(
                json.dumps(
                    result.model_dump(mode="json", by_alias=True, exclude_none=True),
                    indent=2,
                    ensure_ascii=False,
                )
            )
            return EXIT_FAILED if result.is_error else EXIT_OK
        printer.start()
        result = await client.call_tool(tool, arguments)
    return printer.finish(result)


def parse_arguments(pairs: list[str], json_args: str | None, schema: dict[str, Any]) -> dict[str, Any]:
    """`--json` object first, then each `--arg KEY=VALUE` (typed by the tool's input schema).

    Raises:
        UsageError: --json is not a JSON object, or an --arg has no `=`.
    """
    arguments: dict[str, Any] = {}
    if json_args:
        try:
            arguments = json.loads(json_args)
        except ValueError as exc:
            raise UsageError(f"--json must be the arguments as a JSON object ({exc}).") from None
        if not isinstance(arguments, dict):
            raise UsageError('--json must be a JSON object, e.g. --json \'{"prompt": "hi"}\'.')
    properties = schema.get("properties", {})
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        if not sep or not key.strip():
            raise UsageError(f"--arg takes KEY=VALUE, e.g. --arg prompt=hello (got {pair!r}).")
        arguments[key.strip()] = typed_value(raw, properties.get(key.strip()))
    return arguments


def typed_value(raw: str, schema: dict[str, Any] | None) -> Any:
    """JSON when it parses to a type the argument takes; else the text itself (`prompt=42` stays "42")."""
    try:
        parsed = json.loads(raw)
    except ValueError:
        return raw
    if schema is None or _accepts(schema, parsed) or not _accepts(schema, raw):
        return parsed
    return raw


def _accepts(schema: dict[str, Any], value: Any) -> bool:
    types = _schema_types(schema)
    kind = _json_type(value)
    return types is None or kind in types or (kind == "integer" and "number" in types)


def _schema_types(schema: dict[str, Any]) -> set[str] | None:
    """The JSON types a schema allows; None when it does not say (anything goes)."""
    if "type" in schema:
        declared = schema["type"]
        return set(declared) if isinstance(declared, list) else {declared}
    branches = schema.get("anyOf") or schema.get("oneOf")
    if not branches:
        return None
    allowed: set[str] = set()
    for branch in branches:
        types = _schema_types(branch)
        if types is None:
            return None
        allowed |= types
    return allowed


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    return {float: "number", str: "string", list: "array", dict: "object"}[type(value)]
