"""`cli`: run `fw-mcp` in this process through `cli.main` (fast), output captured."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

from fw_mcp.cli import main
from tests.cli.helpers import Cli, Ran


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str]) -> Iterator[Cli]:
    """`cli("doctor")` runs `fw-mcp doctor`; main() sets up logging, which is undone after."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level

    def run(*argv: str) -> Ran:
        code = main(list(argv))
        out, err = capsys.readouterr()
        return Ran(code, out, err)

    yield run
    root.handlers[:] = handlers
    root.setLevel(level)
