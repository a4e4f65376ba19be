"""The first five minutes: what a newcomer sees on a terminal, offline, with typos and placeholders."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tomllib
from pathlib import Path

import anyio
import pytest

from fw_mcp.commands.serve import TTY_HINT
from fw_mcp.simulator import SimulatorServer
from tests.cli.helpers import ROOT, Cli, child_env, sim_env, spawn
from tests.conftest import INITIALIZE, TEST_KEY


async def test_started_by_hand_on_a_terminal_the_server_says_what_it_is() -> None:
    import pty

    leader, follower = pty.openpty()
    seen = b""
    try:
        async with await anyio.open_process(
            [sys.executable, "-m", "fw_mcp"], stdin=follower, env=child_env(), cwd=ROOT
        ) as proc:
            assert proc.stderr is not None
            with anyio.fail_after(30):
                while b"Ctrl-C" not in seen:
                    seen += await proc.stderr.receive()
            proc.kill()
    finally:
        os.close(follower)
        os.close(leader)
    assert TTY_HINT in seen.decode()
    assert "fw-mcp call --simulate chat --arg prompt=hi" in TTY_HINT and "waits for a host" in TTY_HINT


def test_started_by_a_host_on_a_pipe_there_is_no_hint() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "fw_mcp"],
        input=json.dumps(INITIALIZE) + "\n",
        capture_output=True,
        text=True,
        env=child_env(),
        cwd=ROOT,
        timeout=60,
        check=False,
    )
    assert '"serverInfo"' in done.stdout
    assert "waits for a host" not in done.stderr


@pytest.mark.parametrize("argv", [["doctor", "--simulate"], ["--simulate", "doctor"]])
def test_doctor_simulate_is_green_offline_whichever_side_the_flag_is(argv: list[str], tmp_path: Path) -> None:
    ran = spawn(*argv, env={"FW_MCP_ALLOWED_DIRS": str(tmp_path)})
    assert ran.code == 0, ran.out + ran.err
    assert (
        "SIMULATED" in ran.out
        and "FAIL" not in ran.out
        and "No check failed against the simulator" in ran.out
    )
    assert "not needed: --simulate" in ran.out


@pytest.mark.parametrize("argv", [["models", "--simulate"], ["--simulate", "models"]])
def test_simulate_before_or_after_models(cli: Cli, argv: list[str]) -> None:
    ran = cli(*argv)
    assert ran.code == 0 and "deepseek-v3p1" in ran.out


def test_simulate_is_refused_where_it_means_nothing(cli: Cli) -> None:
    ran = cli("--simulate", "install", "cursor", "--dry-run")
    assert ran.code == 2 and "--simulate applies to serve, call, doctor, models" in ran.err and ran.out == ""


def test_doctor_json(simulator: SimulatorServer, tmp_path: Path) -> None:
    ran = spawn("doctor", "--json", env=sim_env(simulator.base_url, FW_MCP_ALLOWED_DIRS=str(tmp_path)))
    data = json.loads(ran.out)
    assert ran.code == 0 and data["ok"] is True and data["simulated"] is False
    by_name = {c["name"]: c for c in data["checks"]}
    assert by_name["API key"]["status"] == "pass" and TEST_KEY not in ran.out
    assert by_name["key accepted"]["status"] == "pass"


@pytest.mark.parametrize(
    ("key", "why"),
    [
        ("fw_...", "placeholder"),
        ("sk-0123456789abcdefghij", "start with fw_"),
        ("fw_0123456789abc defghij", "spaces"),
    ],
)
def test_doctor_fails_a_placeholder_or_malformed_key(simulator: SimulatorServer, key: str, why: str) -> None:
    ran = spawn("doctor", "--json", env=sim_env(simulator.base_url, key=key))
    check = {c["name"]: c for c in json.loads(ran.out)["checks"]}["API key"]
    assert ran.code == 1 and check["status"] == "fail" and why in check["detail"]
    assert simulator.sim.requests == []  # nothing sent with a key that cannot be one


def test_missing_key_in_a_shell_says_export_and_offers_simulate(
    cli: Cli, simulator: SimulatorServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FIREWORKS_BASE_URL", simulator.base_url)
    ran = cli("call", "chat", "--arg", "prompt=hi")
    assert ran.code == 2 and "FIREWORKS_API_KEY is not set in this shell" in ran.err
    assert "export FIREWORKS_API_KEY=" in ran.err and "--simulate" in ran.err
    assert "host's config" not in ran.err and simulator.sim.requests == []


def test_config_typo_gets_did_you_mean(cli: Cli, tmp_path: Path) -> None:
    config = tmp_path / "fw-mcp.toml"
    config.write_text("[timeouts]\ntotl = 30\n")
    ran = cli("doctor", "--config", str(config))
    assert ran.code == 1
    assert "[timeouts] totl: unknown setting; did you mean `total`?" in ran.out
    assert "Extra inputs are not permitted" not in ran.out
    assert "fw-mcp config --example" in ran.out and "configs/fw-mcp.example.toml" not in ran.out


def test_default_config_file_is_read_and_shown_by_doctor(simulator: SimulatorServer, tmp_path: Path) -> None:
    folder = tmp_path / "xdg" / "fw-mcp"
    folder.mkdir(parents=True)
    (folder / "config.toml").write_text('[models]\nchat = "no-such-model"\n')
    ran = spawn("doctor", env=sim_env(simulator.base_url, XDG_CONFIG_HOME=str(tmp_path / "xdg")))
    assert f"{folder / 'config.toml'} parses" in ran.out
    assert "no-such-model is not in this key's model list" in ran.out  # the file was read
    (folder / "config.toml").unlink()
    ran = spawn("doctor", env=sim_env(simulator.base_url, XDG_CONFIG_HOME=str(tmp_path / "xdg")))
    assert f"no config file ({folder / 'config.toml'} is absent)" in ran.out


def test_config_example_is_the_shipped_file_and_documents_every_setting(cli: Cli) -> None:
    ran = cli("config", "--example")
    shipped = (ROOT / "fw_mcp" / "configs" / "fw-mcp.example.toml").read_text()
    assert ran.code == 0 and ran.out == shipped
    repo = (ROOT / "configs" / "fw-mcp.example.toml").read_text()
    assert shipped == repo, "cp configs/fw-mcp.example.toml fw_mcp/configs/ (the package ships a copy)"
    assert "timeouts" in tomllib.loads(ran.out)


def test_unknown_model_names_the_id_sent_and_the_closest_models(
    cli: Cli, simulator: SimulatorServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in sim_env(simulator.base_url).items():
        monkeypatch.setenv(name, value)
    simulator.sim.configure(unknown_models=["accounts/fireworks/models/deepseek-v3"])
    ran = cli("call", "chat", "--arg", "prompt=hi", "--arg", "model=deepseek-v3")
    assert ran.code == 1
    assert "`accounts/fireworks/models/deepseek-v3`" in ran.err
    suggestions = ran.err.partition("Did you mean ")[2].partition("?")[0]
    assert "`deepseek-v3p1`" in suggestions  # the catalogue also has v3p2: both are one edit away


def test_dash_v_is_version(cli: Cli) -> None:
    ran = cli("-V")
    assert ran.code == 0 and ran.out.startswith("fw-mcp ") and ran.out == cli("--version").out


def test_tool_arguments_without_arg_get_a_hint(cli: Cli) -> None:
    ran = cli("call", "chat", "prompt=hi", "max_tokens=5")
    assert ran.code == 2 and "fw-mcp call chat --arg prompt=hi --arg max_tokens=5" in ran.err
