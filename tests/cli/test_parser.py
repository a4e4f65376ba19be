"""The command line itself: help with examples everywhere, --version, flags on either side of a command."""

from __future__ import annotations

import subprocess
import sys

import pytest

from fw_mcp import __version__
from fw_mcp.cli import parse_args
from tests.cli.helpers import spawn

COMMANDS = ["serve", "install", "call", "doctor", "models", "search"]


@pytest.mark.parametrize("argv", [["--help"], *([c, "--help"] for c in COMMANDS)])
def test_every_help_has_examples(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as done:
        parse_args(argv)
    out = capsys.readouterr().out
    assert done.value.code == 0 and "examples:" in out and "fw-mcp " in out.split("examples:")[1]


def test_top_level_help_lists_every_command(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        parse_args(["--help"])
    out = capsys.readouterr().out
    assert all(f"    {c} " in out for c in COMMANDS)


def test_version_is_fast_and_plain() -> None:
    ran = spawn("--version")
    assert (ran.code, ran.out.strip()) == (0, f"fw-mcp {__version__}")


@pytest.mark.parametrize(
    ("argv", "config"),
    [
        (["--config", "a.toml", "doctor"], "a.toml"),
        (["doctor", "--config", "b.toml"], "b.toml"),
        (["--config", "a.toml", "call", "chat", "--config", "b.toml"], "b.toml"),
        (["--config", "a.toml", "serve"], "a.toml"),
        (["serve", "--config", "b.toml"], "b.toml"),
    ],
)
def test_config_flag_works_before_or_after_the_command(argv: list[str], config: str) -> None:
    assert parse_args(argv).config == config


def test_serve_flags_given_before_the_command_are_kept() -> None:
    args = parse_args(["--transport", "http", "--port", "9", "serve"])
    assert (args.transport, args.port) == ("http", 9)


def test_unknown_host_is_refused_by_the_parser(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as done:
        parse_args(["install", "emacs"])
    assert done.value.code == 2 and "claude-desktop" in capsys.readouterr().err


def test_a_command_loads_its_own_module_and_no_other() -> None:
    code = (
        "import sys; from fw_mcp.cli import parse_args; args = parse_args(sys.argv[1:]); "
        "print(args.command, *sorted(m for m in sys.modules if m.startswith('fw_mcp.commands.')))"
    )
    for argv, loaded in (
        (["models", "--json"], "models fw_mcp.commands._common fw_mcp.commands.models fw_mcp.commands.serve"),
        (["--port", "9"], "None fw_mcp.commands._common fw_mcp.commands.serve"),
    ):
        done = subprocess.run([sys.executable, "-c", code, *argv], capture_output=True, text=True, check=True)
        assert done.stdout.split() == loaded.split()
