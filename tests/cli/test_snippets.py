"""The ready-made host snippets and the example settings file in configs/ stay valid and current."""

from __future__ import annotations

import json
import tomllib
from importlib import resources
from pathlib import Path
from typing import Any

import pytest

from fw_mcp.hosts import HOSTS, KEY_INPUT, Launch, desired_entry
from fw_mcp.settings import Settings
from tests.cli.helpers import ROOT

CONFIGS = ROOT / "configs"
PLACEHOLDER_KEY = "fw_your_key_here"


@pytest.mark.parametrize(
    ("file", "host"),
    [
        ("claude_desktop_config.json", "claude-desktop"),
        ("cursor.mcp.json", "cursor"),
        ("vscode.mcp.json", "vscode"),
    ],
)
def test_host_snippet_parses_and_is_what_install_writes(file: str, host: str) -> None:
    data = json.loads((CONFIGS / file).read_text())
    spec = HOSTS[host]
    entry = data[spec.servers_key]["fireworks"]
    assert Path(entry["command"]).name == "fw-mcp" and Path(entry["command"]).is_absolute()
    env = {} if spec.key_by_input else {"FIREWORKS_API_KEY": PLACEHOLDER_KEY}
    assert entry == desired_entry(spec, Launch(entry["command"], []), env, {})
    if spec.key_by_input:
        assert data["inputs"] == [KEY_INPUT]
        assert "fw_" not in json.dumps(data)
    else:
        assert set(data) == {"mcpServers"}


def _leaves(table: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in table.items():
        if isinstance(value, dict):
            out |= _leaves(value, f"{prefix}{key}.")
        else:
            out[f"{prefix}{key}"] = value
    return out


def test_example_settings_file_documents_every_setting_at_its_default() -> None:
    example = tomllib.loads((CONFIGS / "fw-mcp.example.toml").read_text())
    packaged = tomllib.loads(resources.files("fw_mcp").joinpath("configs/default.toml").read_text())
    got, want = _leaves(example), _leaves(packaged)
    missing = sorted(set(want) - set(got))
    unknown = sorted(set(got) - set(want))
    differ = sorted(k for k in set(got) & set(want) if got[k] != want[k])
    assert (missing, unknown, differ) == ([], [], []), "update configs/fw-mcp.example.toml"
    Settings.model_validate(example)
