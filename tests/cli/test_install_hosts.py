"""`fw-mcp install` / `uninstall`: JSONC, byte-for-byte keeping, unwritable files, Claude Code, links."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

import pytest

from fw_mcp.hosts import jsonc, launch_command
from tests.cli.helpers import Cli, spawn
from tests.cli.test_install import backups, install
from tests.conftest import TEST_KEY

VSCODE_JSONC = """{
  // servers for this profile
  "servers": {
    "github": {
      "type": "stdio",
      "command": "npx",
      "args": ["-y", "@modelcontextprotocol/server-github"], // keep on one line
      "env": {"GITHUB_TOKEN": "${input:gh}"},
    },
    /* an HTTP one */
    "remote": {"type": "http", "url": "https://example.com/mcp"},
  },
  "inputs": [
    {"type": "promptString", "id": "gh", "password": true},
  ],
}
"""


def test_vscode_jsonc_keeps_comments_trailing_commas_and_other_entries(cli: Cli, tmp_path: Path) -> None:
    path = tmp_path / "mcp.json"
    path.write_text(VSCODE_JSONC)
    code, out, err = install(cli, "vscode", path)
    assert code == 0, err
    text = path.read_text()
    head = VSCODE_JSONC[: VSCODE_JSONC.index('"remote"')]
    assert text.startswith(head)  # comments, one-line arrays, trailing commas: byte for byte
    assert '"remote": {"type": "http", "url": "https://example.com/mcp"},' in text
    assert '{"type": "promptString", "id": "gh", "password": true},' in text
    data = jsonc.parse(text).value
    assert data["servers"]["fireworks"]["env"] == {"FIREWORKS_API_KEY": "${input:fireworks-api-key}"}
    assert [i["id"] for i in data["inputs"]] == ["gh", "fireworks-api-key"]
    assert "Added" in out and [p.read_text() for p in backups(path)] == [VSCODE_JSONC]
    assert "already up to date" in install(cli, "vscode", path)[1]

    ran = cli("uninstall", "vscode", "--config-path", str(path))
    assert ran.code == 0 and 'Removed "fireworks"' in ran.out
    assert path.read_text() == VSCODE_JSONC  # the entry and its key prompt gone, nothing else touched


def test_strict_json_hosts_keep_other_entries_byte_for_byte(cli: Cli, tmp_path: Path) -> None:
    original = (
        '{\n  "mcpServers": {\n    "github": {"command": "npx", "args": ["-y", "@x/server-github"]},\n'
        '    "files": {\n      "command": "npx",\n      "args": ["-y", "@x/fs", "/home"]\n    }\n  },\n'
        '  "theme": "dark"\n}\n'
    )
    path = tmp_path / "claude_desktop_config.json"
    path.write_text(original)
    assert install(cli, "claude-desktop", path)[0] == 0
    text = path.read_text()
    assert text.startswith(original[: original.index("\n  },")])  # nothing re-flowed
    assert text.endswith('\n  },\n  "theme": "dark"\n}\n')
    assert json.loads(text)["mcpServers"]["fireworks"]["command"] == launch_command().command
    assert cli("uninstall", "claude-desktop", "--config-path", str(path)).code == 0
    assert path.read_text() == original


def test_uninstall_without_the_entry_changes_nothing(cli: Cli, tmp_path: Path) -> None:
    path = tmp_path / "c.json"
    path.write_text('{"mcpServers": {}}')
    ran = cli("uninstall", "cursor", "--config-path", str(path))
    assert ran.code == 0 and "nothing to remove" in ran.out and backups(path) == []


@contextmanager
def unwritable(path: Path) -> Iterator[None]:
    """Make `path` unwritable for this user: read-only mode, or, for root (whom modes do not stop),
    the immutable attribute, which stops root too."""
    if os.geteuid() != 0:
        mode = path.stat().st_mode
        path.chmod(0o555 if path.is_dir() else 0o444)
        try:
            yield
        finally:
            path.chmod(mode)
        return
    subprocess.run(["chattr", "+i", str(path)], check=True)
    try:
        yield
    finally:
        subprocess.run(["chattr", "-i", str(path)], check=True)


@pytest.mark.parametrize("what", ["file", "folder"])
def test_unwritable_config_is_refused_before_anything_is_printed_or_backed_up(
    tmp_path: Path, what: str
) -> None:
    folder = tmp_path / "Claude"
    folder.mkdir()
    path = folder / "claude_desktop_config.json"
    original = '{"mcpServers": {}}\n'
    path.write_text(original)
    with unwritable(path if what == "file" else folder):
        ran = spawn("install", "claude-desktop", "--config-path", str(path))
    assert ran.code == 2 and ran.out == ""
    assert f"Cannot write {path}" in ran.err and "chmod u+w" in ran.err
    assert "Nothing was changed" in ran.err and "bug" not in ran.err
    assert path.read_text() == original and list(folder.iterdir()) == [path]


def _fake_claude(bin_dir: Path, log: Path, fail_first_with: str = "") -> None:
    """A `claude` that records its argv (Claude Code itself needs an account and a network)."""
    script = bin_dir / "claude"
    script.write_text(
        f"#!{sys.executable}\n"
        "import json, sys, pathlib\n"
        f"log = pathlib.Path({str(log)!r})\n"
        "calls = json.loads(log.read_text()) if log.exists() else []\n"
        "calls.append(sys.argv[1:])\n"
        "log.write_text(json.dumps(calls))\n"
        f"if {bool(fail_first_with)!r} and len(calls) == 1:\n"
        f"    print({fail_first_with!r}, file=sys.stderr)\n"
        "    sys.exit(1)\n"
    )
    script.chmod(0o755)


def test_claude_code_is_added_at_user_scope(
    cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    log = tmp_path / "calls.json"
    _fake_claude(tmp_path, log, fail_first_with="MCP server fireworks already exists in user config")
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("FIREWORKS_API_KEY", TEST_KEY)
    ran = cli("install", "claude-code", "--with-key")
    assert ran.code == 0 and "user scope" in ran.out and TEST_KEY not in ran.out
    first, remove, add = json.loads(log.read_text())
    assert first == add and remove == ["mcp", "remove", "--scope", "user", "fireworks"]
    assert add[:5] == ["mcp", "add-json", "--scope", "user", "fireworks"]
    entry = json.loads(add[5])
    launch = launch_command()
    assert entry == {
        "type": "stdio",
        "command": launch.command,
        "args": launch.args,
        "env": {"FIREWORKS_API_KEY": TEST_KEY},
    }
    assert cli("uninstall", "claude-code").code == 0
    assert json.loads(log.read_text())[-1] == ["mcp", "remove", "--scope", "user", "fireworks"]


def test_claude_code_command_is_printed_without_the_key_when_claude_is_absent(
    cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # no `claude` there
    monkeypatch.setenv("FIREWORKS_API_KEY", TEST_KEY)
    ran = cli("install", "claude-code", "--with-key")
    assert ran.code == 0 and TEST_KEY not in ran.out
    [command] = [line.strip() for line in ran.out.splitlines() if line.strip().startswith("claude mcp")]
    assert command.startswith("claude mcp add-json --scope user fireworks '")
    expanded = subprocess.run(  # the printed command, as a shell runs it, carries the shell's key
        [
            "bash",
            "-c",
            command.replace("claude mcp add-json", "printf %s", 1).replace(" --scope user fireworks", "", 1),
        ],
        env={"FIREWORKS_API_KEY": TEST_KEY, "PATH": os.defpath},
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert json.loads(expanded)["env"] == {"FIREWORKS_API_KEY": TEST_KEY}


@pytest.mark.parametrize(
    "key", ["fw_...", "fw_…", "sk-abcdefghijklmnop1234", "fw_TESTKEY 0123456789", "fw_x"]
)
def test_with_key_refuses_a_placeholder_or_malformed_key(
    cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, key: str
) -> None:
    monkeypatch.setenv("FIREWORKS_API_KEY", key)
    path = tmp_path / "c.json"
    code, out, err = install(cli, "claude-desktop", path, "--with-key")
    assert code == 2 and out == "" and "not a usable key" in err and "Nothing was written" in err
    assert not path.exists()


def test_print_link_gives_cursor_and_vscode_links_without_the_key(
    cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FIREWORKS_API_KEY", TEST_KEY)
    ran = cli("install", "--print-link")
    assert ran.code == 0 and TEST_KEY not in ran.out
    links = [
        line.strip() for line in ran.out.splitlines() if "://" in line or line.strip().startswith("vscode:")
    ]
    cursor, vscode = links
    launch = launch_command()
    parts = urlsplit(cursor)
    assert (parts.scheme, parts.netloc, parts.path) == ("cursor", "anysphere.cursor-deeplink", "/mcp/install")
    query = parse_qs(parts.query)
    assert query["name"] == ["fireworks"]
    assert json.loads(base64.b64decode(query["config"][0])) == {
        "command": launch.command,
        "args": launch.args,
    }
    assert vscode.startswith("vscode:mcp/install?")
    assert json.loads(unquote(vscode.split("?", 1)[1])) == {
        "name": "fireworks",
        "type": "stdio",
        "command": launch.command,
        "args": launch.args,
    }
