"""`fw-mcp models`: the models this account can use, what each suits, and the configured names."""

from __future__ import annotations

import argparse
import json
import sys
from typing import TYPE_CHECKING

from fw_mcp.commands._common import EXIT_OK, add_config_flag, add_simulate_flag, command_settings, describe

if TYPE_CHECKING:
    from fw_mcp.catalogue import Catalogue, ModelEntry

__all__ = ["add_arguments", "render_table", "run"]

EXAMPLES = """\
  fw-mcp models                 a table: text, tools, vision, context, and your aliases/defaults
  fw-mcp models --json          the same as JSON (what the fireworks://models MCP resource holds)
  fw-mcp models --simulate      the built-in simulator's sample catalogue (no key, no network)
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    describe(
        parser,
        description="List the models from Fireworks' /models for the configured key: which suit text, "
        "tools (function calling) and vision, and which the configured aliases and defaults name. "
        "'?' means Fireworks did not say.",
        examples=EXAMPLES,
    )
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    add_config_flag(parser)
    add_simulate_flag(parser)


def run(args: argparse.Namespace) -> int:
    import anyio

    from fw_mcp.catalogue import fetch_catalogue

    with command_settings(args) as settings:
        catalogue = anyio.run(fetch_catalogue, settings)
    print(json.dumps(catalogue.as_json(), indent=2) if args.json else render_table(catalogue))
    if getattr(args, "simulate", False):
        print(
            "fw-mcp: simulated: the built-in simulator's sample catalogue, not your account's.",
            file=sys.stderr,
        )
    return EXIT_OK


def render_table(catalogue: Catalogue) -> str:
    rows: list[tuple[str, ...]] = [("model", "text", "tools", "vision", "context", "configured as")]
    rows += [_row(m) for m in catalogue.models]
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]) - 1)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=False)) + "  " + r[-1] for r in rows]
    lines = [line.rstrip() for line in lines]
    lines.append(f"\n{len(catalogue.models)} models. Use a name or an alias as `model` in any tool.")
    if catalogue.not_listed:
        lines.append(
            "Configured in [models] but not listed for this key: "
            + ", ".join(catalogue.not_listed)
            + ". A call naming one will likely fail with HTTP 404; `fw-mcp doctor` checks the defaults."
        )
    return "\n".join(lines)


def _row(model: ModelEntry) -> tuple[str, ...]:
    configured = [f"default for {t}" for t in model.default_for] + [f"alias {a}" for a in model.aliases]
    context = f"{model.context_length:,}" if model.context_length else "?"
    return (
        model.name,
        _mark(model.text),
        _mark(model.tools),
        _mark(model.vision),
        context,
        ", ".join(configured),
    )


def _mark(flag: bool | None) -> str:
    return "?" if flag is None else ("yes" if flag else "-")
