"""The serve flags on both spellings (`fw-mcp --port 9 serve` and `fw-mcp serve --port 9`)."""

from __future__ import annotations

import pytest

from fw_mcp.cli import parse_args
from fw_mcp.commands.serve import resolve
from fw_mcp.errors import ConfigError


@pytest.mark.parametrize(
    "argv",
    [
        ["--transport", "http", "--port", "9", "--workers", "3", "--host", "::1", "serve"],
        ["serve", "--transport", "http", "--port", "9", "--workers", "3", "--host", "::1"],
        ["--transport", "http", "--port", "9", "serve", "--workers", "3", "--host", "::1"],
        ["--transport", "http", "--port", "9", "--workers", "3", "--host", "::1"],
    ],
)
def test_flags_work_before_and_after_the_command(argv: list[str]) -> None:
    chosen = resolve(parse_args(argv))
    assert chosen.transport == "http"
    assert (chosen.http.host, chosen.http.port, chosen.http.workers) == ("::1", 9, 3)
    assert chosen.http.stateless_http, "N > 1 workers implies --stateless"


def test_defaults() -> None:
    chosen = resolve(parse_args(["serve"]))
    assert chosen.transport == "stdio" and chosen.config is None and not chosen.simulate
    assert (chosen.http.host, chosen.http.port, chosen.http.workers) == ("127.0.0.1", 8000, 1)
    assert not chosen.http.stateless_http and not chosen.http.insecure_no_auth


def test_switches_on_either_side() -> None:
    chosen = resolve(parse_args(["--stateless", "serve", "--transport", "http", "--simulate"]))
    assert chosen.http.stateless_http and chosen.simulate and chosen.http.simulated


def test_http_only_flags_without_http_say_what_to_add() -> None:
    with pytest.raises(ConfigError, match="--workers only apply to HTTP: add `--transport http`"):
        resolve(parse_args(["serve", "--workers", "2"]))


def test_workers_must_be_positive(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        parse_args(["--transport", "http", "--workers", "0"])
    assert "expected a number of processes >= 1" in capsys.readouterr().err
