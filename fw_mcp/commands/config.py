"""`fw-mcp config`: the settings file, for a person to start from: where it is read, and an example.

The example ships inside the package (a pip, pipx or uv install has no `configs/` folder), so
`fw-mcp config --example > ~/.config/fw-mcp/config.toml` works wherever fw-mcp does.
"""

from __future__ import annotations

import argparse
import sys

from fw_mcp.commands._common import EXIT_OK, describe

__all__ = ["add_arguments", "example_text", "run"]

EXAMPLES = """\
  fw-mcp config                                   where settings are read from
  fw-mcp config --example                         every setting, with its default and what it does
  mkdir -p ~/.config/fw-mcp && fw-mcp config --example > ~/.config/fw-mcp/config.toml
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    describe(
        parser,
        description="Show where fw-mcp reads its settings, or print the example settings file "
        "(every setting with its default). fw-mcp reads --config PATH, else FW_MCP_CONFIG, else "
        "$XDG_CONFIG_HOME/fw-mcp/config.toml (~/.config/fw-mcp/config.toml) when it exists.",
        examples=EXAMPLES,
    )
    parser.add_argument("--example", action="store_true", help="print the example settings file")


def example_text() -> str:
    from importlib import resources

    return resources.files("fw_mcp").joinpath("configs/fw-mcp.example.toml").read_text(encoding="utf-8")


def run(args: argparse.Namespace) -> int:
    if args.example:
        sys.stdout.write(example_text())
        return EXIT_OK
    from fw_mcp.settings import ENV_CONFIG, config_source, default_config_file

    source = config_source(getattr(args, "config", None))
    print(f"Settings file in use: {source or 'none (packaged defaults and environment variables)'}")
    print(f"Default location:     {default_config_file()} (read when it exists)")
    print(
        f"Choose another with --config PATH or {ENV_CONFIG}. `fw-mcp config --example` prints every setting."
    )
    return EXIT_OK
