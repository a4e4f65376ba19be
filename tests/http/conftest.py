"""Fixtures the HTTP server tests share."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.http.helpers import ALICE, BOB


@pytest.fixture(scope="module")
def tokens_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A bearer tokens file for alice and bob, private as the server requires."""
    path = tmp_path_factory.mktemp("tokens") / "tokens"
    path.write_text(f"# one user per line\nalice {ALICE}\nbob {BOB}\n")
    path.chmod(0o600)
    return path
