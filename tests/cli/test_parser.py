"""The command line itself: help with examples everywhere, --version, flags on either side of a command."""

from __future__ import annotations

import pytest

from fw_mcp import __version__
from fw_mcp.cli import build_parser
from tests.cli.helpers import spawn

COMMANDS = ["serve", "install", "call", "doctor", "models"]


@pytest.mark.parametrize("argv", [["--help"], *([c, "--help"] for c in COMMANDS)])
def test_every_help_has_examples(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as done:
        build_parser().parse_args(argv)
    out = capsys.readouterr().out
    assert done.value.code == 0 and "examples:" in out and "fw-mcp " in out.split("examples:")[1]


def test_top_level_help_lists_every_command(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        build_parser().parse_args(["--help"])
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
    assert build_parser().parse_args(argv).config == config


def test_serve_flags_given_before_the_command_are_kept() -> None:
    args = build_parser().parse_args(["--transport", "http", "--port", "9", "serve"])
    assert (args.transport, args.port) == ("http", 9)


def test_unknown_host_is_refused_by_the_parser(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as done:
        build_parser().parse_args(["install", "emacs"])
    assert done.value.code == 2 and "claude-desktop" in capsys.readouterr().err
