"""`fw-mcp install`: round trips on sample host config files."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from fw_mcp.hosts import HOSTS, default_config_path, launch_command
from tests.cli.helpers import Cli, spawn
from tests.conftest import TEST_KEY

CLAUDE = """{
    "mcpServers": {
        "github": {
            "command": "npx",
            "args": ["-y", "@modelcontextprotocol/server-github"],
            "env": {"GITHUB_TOKEN": "ghp_x"}
        }
    },
    "globalShortcut": "Ctrl+Space"
}
"""


def backups(path: Path) -> list[Path]:
    return sorted(path.parent.glob(path.name + ".*.bak"))


def install(cli: Cli, host: str, path: Path, *flags: str) -> tuple[int, str, str]:
    ran = cli("install", host, "--config-path", str(path), *flags)
    return ran.code, ran.out, ran.err


def test_install_adds_entry_keeps_other_servers_and_style_and_backs_up(cli: Cli, tmp_path: Path) -> None:
    path = tmp_path / "claude_desktop_config.json"
    path.write_text(CLAUDE)
    code, out, _ = install(cli, "claude-desktop", path)
    assert code == 0
    data = json.loads(path.read_text())
    assert data["mcpServers"]["github"] == json.loads(CLAUDE)["mcpServers"]["github"]
    assert data["globalShortcut"] == "Ctrl+Space"
    assert list(data["mcpServers"]) == ["github", "fireworks"]
    entry = data["mcpServers"]["fireworks"]
    launch = launch_command()
    assert (entry["command"], entry["args"]) == (launch.command, launch.args)
    assert os.path.isabs(entry["command"]) and os.access(entry["command"], os.X_OK)
    assert path.read_text().startswith('{\n    "mcpServers": {\n        "github"')  # 4-space indent kept
    [saved] = backups(path)
    assert saved.read_text() == CLAUDE
    assert 'Added "fireworks"' in out and "+ command:" in out and "Kept 1 other server: github" in out


def test_second_run_changes_nothing(cli: Cli, tmp_path: Path) -> None:
    path = tmp_path / "c.json"
    path.write_text(CLAUDE)
    install(cli, "claude-desktop", path)
    written, mtime = path.read_bytes(), path.stat().st_mtime_ns
    code, out, _ = install(cli, "claude-desktop", path)
    assert code == 0 and "already up to date" in out
    assert path.read_bytes() == written and path.stat().st_mtime_ns == mtime
    assert len(backups(path)) == 1


def test_dry_run_writes_nothing(cli: Cli, tmp_path: Path) -> None:
    path = tmp_path / "c.json"
    path.write_text(CLAUDE)
    code, out, _ = install(cli, "cursor", path, "--dry-run")
    assert code == 0 and "Would add" in out and "nothing was written" in out
    assert path.read_text() == CLAUDE and backups(path) == []
    absent = tmp_path / "none" / "mcp.json"
    assert install(cli, "cursor", absent, "--dry-run")[0] == 0
    assert not absent.parent.exists()


@pytest.mark.parametrize("text", ['{"mcpServers": {"a": {"command": "x"},}}', "[1, 2]", '{"mcpServers": []}'])
def test_invalid_file_is_refused_and_left_untouched(
    cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, text: str
) -> None:
    monkeypatch.setenv("FIREWORKS_API_KEY", TEST_KEY)
    path = tmp_path / "c.json"
    path.write_text(text)
    code, out, err = install(cli, "claude-desktop", path, "--with-key")
    assert code == 2 and out == ""
    assert "left the file untouched" in err and '"fireworks"' in err  # the entry to paste by hand
    assert TEST_KEY not in err
    assert path.read_text() == text and backups(path) == []


def test_invalid_json_exit_code_in_a_real_process(tmp_path: Path) -> None:
    path = tmp_path / "c.json"
    path.write_text('{"mcpServers": {},}')
    ran = spawn("install", "cursor", "--config-path", str(path))
    assert ran.code == 2 and "is not valid JSON" in ran.err and "Traceback" not in ran.err
    assert path.read_text() == '{"mcpServers": {},}'


def test_key_is_written_only_with_with_key(cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FIREWORKS_API_KEY", TEST_KEY)
    path = tmp_path / "c.json"
    code, out, _ = install(cli, "claude-desktop", path)
    assert code == 0 and TEST_KEY not in path.read_text() and "has no FIREWORKS_API_KEY" in out
    code, out, _ = install(cli, "claude-desktop", path, "--with-key")
    assert code == 0
    assert json.loads(path.read_text())["mcpServers"]["fireworks"]["env"] == {"FIREWORKS_API_KEY": TEST_KEY}
    assert TEST_KEY not in out and TEST_KEY[-4:] in out  # shown masked


def test_with_key_needs_the_key_in_the_shell(cli: Cli, tmp_path: Path) -> None:
    code, _, err = install(cli, "cursor", tmp_path / "c.json", "--with-key")
    assert code == 2 and "FIREWORKS_API_KEY" in err and "--with-key" in err
    assert not (tmp_path / "c.json").exists()


def test_update_keeps_the_users_key_and_extra_fields(cli: Cli, tmp_path: Path) -> None:
    path = tmp_path / "c.json"
    old = {"command": "/old/fw-mcp", "env": {"FIREWORKS_API_KEY": "fw_mine_0123456789"}, "disabled": False}
    path.write_text(json.dumps({"mcpServers": {"fireworks": old}}))
    code, out, _ = install(cli, "cursor", path)
    entry = json.loads(path.read_text())["mcpServers"]["fireworks"]
    assert code == 0 and 'Updated "fireworks"' in out and "~ command:" in out
    assert entry["command"] == launch_command().command
    assert entry["env"] == {"FIREWORKS_API_KEY": "fw_mine_0123456789"} and entry["disabled"] is False
    assert "fw_mine_0123456789" not in out
    assert path.read_text().count("\n") == 0  # a one-line file stays on one line


def test_vscode_prompts_for_the_key_and_never_writes_it(
    cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FIREWORKS_API_KEY", TEST_KEY)
    path = tmp_path / ".vscode" / "mcp.json"
    path.parent.mkdir()
    path.write_text('{\n\t"servers": {"other": {"type": "http", "url": "http://x"}},\n\t"inputs": []\n}\n')
    code, out, _ = install(cli, "vscode", path, "--with-key")
    text = path.read_text()
    data = json.loads(text)
    assert code == 0 and TEST_KEY not in text and "not written" in out
    entry = data["servers"]["fireworks"]
    assert entry["type"] == "stdio" and entry["env"]["FIREWORKS_API_KEY"] == "${input:fireworks-api-key}"
    assert data["inputs"] == [
        {
            "type": "promptString",
            "id": "fireworks-api-key",
            "description": "Fireworks API key (https://fireworks.ai/account/api-keys)",
            "password": True,
        }
    ]
    assert data["servers"]["other"] == {"type": "http", "url": "http://x"}
    assert text.startswith('{\n\t"servers"')  # tabs kept
    assert install(cli, "vscode", path)[2] == "" and "already up to date" in install(cli, "vscode", path)[1]


def test_creates_the_file_and_its_folders_privately(cli: Cli, tmp_path: Path) -> None:
    path = tmp_path / "a" / "b" / "claude_desktop_config.json"
    code, out, _ = install(cli, "claude-desktop", path, "--allow-dir", str(tmp_path), "--name", "fw")
    assert code == 0 and f"Created {path}" in out
    entry = json.loads(path.read_text())["mcpServers"]["fw"]
    assert entry["env"] == {"FW_MCP_ALLOWED_DIRS": str(tmp_path.resolve())}
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert backups(path) == []


def test_crlf_line_endings_are_kept(cli: Cli, tmp_path: Path) -> None:
    path = tmp_path / "c.json"
    path.write_bytes(b'{\r\n  "mcpServers": {}\r\n}\r\n')
    assert install(cli, "cursor", path)[0] == 0
    raw = path.read_bytes()
    assert raw.count(b"\r\n") == raw.count(b"\n") > 3 and raw.endswith(b"}\r\n")


def test_allow_dir_must_exist(cli: Cli, tmp_path: Path) -> None:
    code, _, err = install(cli, "cursor", tmp_path / "c.json", "--allow-dir", str(tmp_path / "nope"))
    assert code == 2 and "--allow-dir" in err and not (tmp_path / "c.json").exists()


@pytest.mark.parametrize(
    ("host", "platform", "expected"),
    [
        ("claude-desktop", "darwin", "/h/Library/Application Support/Claude/claude_desktop_config.json"),
        ("claude-desktop", "win32", "/appdata/Claude/claude_desktop_config.json"),
        ("claude-desktop", "linux", "/xdg/Claude/claude_desktop_config.json"),
        ("vscode", "darwin", "/h/Library/Application Support/Code/User/mcp.json"),
        ("vscode", "win32", "/appdata/Code/User/mcp.json"),
        ("vscode", "linux", "/xdg/Code/User/mcp.json"),
        ("cursor", "win32", "/h/.cursor/mcp.json"),
        ("cursor", "linux", "/h/.cursor/mcp.json"),
    ],
)
def test_default_config_paths(host: str, platform: str, expected: str) -> None:
    env = {"APPDATA": "/appdata", "XDG_CONFIG_HOME": "/xdg"}
    assert default_config_path(HOSTS[host], platform, env, Path("/h")) == Path(expected)


def test_linux_without_xdg_uses_dot_config() -> None:
    path = default_config_path(HOSTS["claude-desktop"], "linux", {}, Path("/h"))
    assert path == Path("/h/.config/Claude/claude_desktop_config.json")
