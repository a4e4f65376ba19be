"""What the subcommands share: exit codes, the `--config` flag, settings, `--simulate`, key masking.

Command modules import only light modules at the top (heavy ones inside functions), so that
`fw-mcp --help` and `fw-mcp --version` answer at once.
"""

from __future__ import annotations

import argparse
import os
import textwrap
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from fw_mcp.errors import FwMcpError

if TYPE_CHECKING:
    from fw_mcp.settings import Settings

SIMULATED_KEY = "simulated-key-not-a-real-fireworks-key"

__all__ = [
    "EXIT_FAILED",
    "EXIT_OK",
    "EXIT_USAGE",
    "UsageError",
    "add_config_flag",
    "add_simulate_flag",
    "command_settings",
    "describe",
    "key_problem",
    "mask_key",
    "simulator_overrides",
]

EXIT_OK = 0
EXIT_FAILED = 1  # the command ran and found a failure (tool error, failed check, Fireworks error)
EXIT_USAGE = 2  # the command could not run as asked (bad argument or setting); argparse uses 2 too


class UsageError(FwMcpError):
    """A command-line argument was wrong; the message names it and says what to give instead."""


def describe(parser: argparse.ArgumentParser, *, description: str, examples: str) -> None:
    """Give a subcommand's parser its description and a --help that ends with examples, laid out as written.

    Its one-line help is in fw_mcp.commands.COMMANDS, where cli.py registers the command.
    """
    parser.description = textwrap.fill(description, 100)
    parser.epilog = "examples:\n" + examples
    parser.formatter_class = argparse.RawDescriptionHelpFormatter


def add_config_flag(
    parser: argparse.ArgumentParser, help: str = "TOML settings file (or FW_MCP_CONFIG)"
) -> None:
    # SUPPRESS: `fw-mcp --config X doctor` sets it on the top-level parser; a default here would erase it.
    parser.add_argument("--config", metavar="PATH", default=argparse.SUPPRESS, help=help)


def add_simulate_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--simulate",
        action="store_true",
        default=argparse.SUPPRESS,
        help="use the built-in Fireworks simulator (no key, no network); answers are not a model's",
    )


@contextmanager
def command_settings(args: argparse.Namespace) -> Iterator[Settings]:
    """Settings from --config/env; with --simulate, pointed at a simulator running for the block.

    Raises:
        ConfigError: the config file or a setting is wrong (the message names it).
    """
    from fw_mcp.settings import load_settings

    config = getattr(args, "config", None)
    with simulator_overrides(getattr(args, "simulate", False)) as overrides:
        settings = load_settings(config, overrides=overrides or None)
        if settings.api_key is None:
            raise shell_missing_key(args)
        yield settings


def shell_missing_key(args: argparse.Namespace) -> FwMcpError:
    """The missing-key message for a person at a shell (a host's user gets the config-file one)."""
    from fw_mcp.errors import ConfigError

    command = getattr(args, "command", None) or "call"
    return ConfigError(
        "FIREWORKS_API_KEY is not set in this shell. Create a key at https://fireworks.ai/account/api-keys, "
        "run `export FIREWORKS_API_KEY=fw_...` with your key in place of fw_..., and run this again. "
        f"To try it without a key: `fw-mcp {command} --simulate ...` answers from the built-in simulator."
    )


@contextmanager
def simulator_overrides(enabled: bool) -> Iterator[dict[str, Any]]:
    """Settings overrides that point at a simulator running for the block (--simulate); {} if off.

    A placeholder key is used only when FIREWORKS_API_KEY is unset, so nothing real is needed.
    """
    if not enabled:
        yield {}
        return
    from fw_mcp.settings import ENV_API_KEY
    from fw_mcp.simulator import SimulatorServer

    with SimulatorServer() as sim:
        # Nothing is billed: simulated calls stay out of the usage ledger and the budgets.
        overrides: dict[str, Any] = {"fireworks": {"base_url": sim.base_url}, "budget": {"store": "off"}}
        if not os.environ.get(ENV_API_KEY, "").strip():
            overrides["api_key"] = SIMULATED_KEY
        yield overrides


def mask_key(key: str) -> str:
    """`fw_…abcd`: enough to tell two keys apart, never enough to use one."""
    key = key.strip()
    if len(key) < 12:
        return f"(set, {len(key)} characters)"
    prefix = key[: key.index("_") + 1] if "_" in key[:6] else ""
    return f"{prefix}…{key[-4:]}"


def key_problem(key: str) -> str | None:
    """Why `key` cannot be a Fireworks API key (a placeholder, a paste with extra characters), or None.

    Fireworks keys are `fw_` and a run of letters and digits; a README's `fw_...` is not one.
    """
    if not key.strip():
        return "it is empty"
    if key != key.strip() or any(c.isspace() or c in "\"'" for c in key):
        return "it has spaces, quotes or a newline in it"
    if any(mark in key for mark in ("...", "\u2026", "<", ">")) or key.lower().rstrip("_x") == "fw":
        return "it is a placeholder (like fw_... in the README), not a key"
    if not key.startswith("fw_"):
        return "Fireworks keys start with fw_"
    if len(key) < 16 or not key[3:].replace("_", "").replace("-", "").isalnum():
        return "it is too short or has characters Fireworks keys do not have"
    return None
