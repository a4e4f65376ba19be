"""`fw-mcp doctor`: the pass/fail table, its fixes and its exit code, against the simulator."""

from __future__ import annotations

from pathlib import Path

import pytest

from fw_mcp.commands._checks import Status
from fw_mcp.commands.doctor import diagnose
from fw_mcp.simulator import SimulatorServer
from tests.cli.helpers import Cli, sim_env, spawn
from tests.conftest import TEST_KEY


@pytest.fixture
def shell(simulator: SimulatorServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> SimulatorServer:
    for name, value in sim_env(simulator.base_url, FW_MCP_ALLOWED_DIRS=str(tmp_path)).items():
        monkeypatch.setenv(name, value)
    return simulator


def statuses(checks: list) -> dict[str, Status]:
    return {c.name: c.status for c in checks}


def test_everything_passes_against_the_simulator(simulator: SimulatorServer, tmp_path: Path) -> None:
    ran = spawn("doctor", env=sim_env(simulator.base_url, FW_MCP_ALLOWED_DIRS=str(tmp_path)))
    assert ran.code == 0, ran.out + ran.err
    assert "FAIL" not in ran.out and "warn" not in ran.out and "No check failed" in ran.out
    assert TEST_KEY not in ran.out and f"fw_…{TEST_KEY[-4:]}" in ran.out
    assert [r["path"] for r in simulator.sim.requests] == ["/inference/v1/models"]


def test_missing_key_fails_with_the_fix_and_exit_1(simulator: SimulatorServer, tmp_path: Path) -> None:
    ran = spawn("doctor", env=sim_env(simulator.base_url, key=None, FW_MCP_ALLOWED_DIRS=str(tmp_path)))
    assert ran.code == 1
    assert "FAIL  API key" in ran.out and "FIREWORKS_API_KEY is not set" in ran.out
    assert "fix: Create a key at https://fireworks.ai/account/api-keys" in ran.out
    assert simulator.sim.requests == []


async def test_a_refused_key_is_reported_as_refused(shell: SimulatorServer) -> None:
    shell.sim.configure(api_keys=["fw_the_right_key_000000"])
    checks = await diagnose(None)
    assert statuses(checks)["key accepted"] is Status.FAIL
    assert statuses(checks)["reachable"] is Status.PASS
    [refused] = [c for c in checks if c.name == "key accepted"]
    assert "HTTP 401" in refused.detail and "fireworks.ai/account/api-keys" in refused.fix


def test_wrong_key_exit_code_through_the_cli(cli: Cli, shell: SimulatorServer) -> None:
    shell.sim.configure(api_keys=["fw_the_right_key_000000"])
    ran = cli("doctor")
    assert ran.code == 1 and "Fireworks refused the key" in ran.out and TEST_KEY not in ran.out


async def test_unreachable_base_url_is_not_a_refused_key(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("FIREWORKS_API_KEY", TEST_KEY)
    monkeypatch.setenv("FIREWORKS_BASE_URL", "http://127.0.0.1:9/inference/v1")
    monkeypatch.setenv("FW_MCP_ALLOWED_DIRS", str(tmp_path))
    checks = statuses(await diagnose(None))
    assert checks["reachable"] is Status.FAIL and checks["key accepted"] is Status.SKIP
    assert checks["models"] is Status.SKIP


async def test_a_base_url_without_the_api_fails_reachable(
    shell: SimulatorServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FIREWORKS_BASE_URL", shell.root_url + "/nothing/v1")
    checks = statuses(await diagnose(None))
    assert checks["reachable"] is Status.FAIL and checks["key accepted"] is Status.SKIP


async def test_malformed_base_url_fails_before_any_request(
    shell: SimulatorServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FIREWORKS_BASE_URL", "api.fireworks.ai/inference")
    checks = statuses(await diagnose(None))
    assert checks["base URL"] is Status.FAIL and checks["reachable"] is Status.SKIP
    assert shell.sim.requests == []


async def test_key_with_quotes_or_spaces_fails(
    shell: SimulatorServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FIREWORKS_API_KEY", f'"{TEST_KEY}"')
    [key] = [c for c in await diagnose(None) if c.name == "API key"]
    assert key.status is Status.FAIL and TEST_KEY not in key.detail


async def test_unlisted_default_model_and_missing_folder_fail(
    shell: SimulatorServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "fw.toml"
    config.write_text('[models]\ndescribe_image = "qwen3-235b-a22b"\nchat = "no-such-model"\n')
    monkeypatch.setenv("FW_MCP_ALLOWED_DIRS", str(tmp_path / "missing"))
    checks = {c.name: c for c in await diagnose(str(config))}
    assert checks["config"].status is Status.PASS and str(config) in checks["config"].detail
    assert checks["model chat"].status is Status.FAIL and "[models] chat" in checks["model chat"].fix
    assert checks["model describe_image"].status is Status.FAIL  # listed, but takes no images
    assert checks["model extract_json"].status is Status.PASS
    assert checks["allowed folders"].status is Status.FAIL


async def test_broken_config_file_fails_and_names_the_setting(shell: SimulatorServer, tmp_path: Path) -> None:
    config = tmp_path / "fw.toml"
    config.write_text("[timeouts]\ntotl = 5\n")
    checks = await diagnose(str(config))
    assert [c.name for c in checks] == ["config", "API key"]
    assert checks[0].status is Status.FAIL and "totl" in checks[0].detail and str(config) in checks[0].fix


def test_doctor_prints_the_url_used_for_the_sdks_spelling_and_the_proxy(tmp_path: Path) -> None:
    env = {
        "FIREWORKS_API_KEY": "fw_TESTKEY_0123456789abcdef",
        "FIREWORKS_BASE_URL": "https://api.fireworks.example",  # the host alone, as the official SDK takes it
        "HTTPS_PROXY": "http://user:secret@127.0.0.1:9",  # a dead proxy: the reachable check fails on it
        "FW_MCP_ALLOWED_DIRS": str(tmp_path),
    }
    ran = spawn("doctor", env=env)
    assert "https://api.fireworks.example/inference/v1 (from FIREWORKS_BASE_URL, given as" in ran.out
    assert "proxy" in ran.out and "http://user:***@127.0.0.1:9 (from HTTPS_PROXY" in ran.out
    assert "secret" not in ran.out
    assert "HTTPS_PROXY" in ran.out.split("reachable", 1)[1], "the failure names the proxy setting"
