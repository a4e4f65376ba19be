"""`fw-mcp models`: the catalogue from /models, capabilities and configured names marked."""

from __future__ import annotations

import json

import pytest

from fw_mcp.catalogue import build_catalogue, list_models
from fw_mcp.errors import FireworksHTTPError, FireworksTransportError
from fw_mcp.fireworks.client import create_http_client
from fw_mcp.settings import Settings
from fw_mcp.simulator import SimulatorServer
from fw_mcp.simulator.catalogue import MODELS as SIMULATED_MODELS
from fw_mcp.simulator.catalogue import NON_CHAT
from tests.cli.helpers import Cli, sim_env, spawn
from tests.conftest import make_settings


def test_models_table_marks_capabilities_and_configured_names(simulator: SimulatorServer) -> None:
    ran = spawn("models", env=sim_env(simulator.base_url))
    assert ran.code == 0, ran.err
    rows = {line.split()[0]: line for line in ran.out.splitlines() if line.strip()}
    vision = rows["qwen2p5-vl-32b-instruct"].split()
    assert (
        vision[1:4] == ["yes", "-", "yes"] and "default for describe_image" in rows["qwen2p5-vl-32b-instruct"]
    )
    assert (
        "alias kimi" in rows["kimi-k2-instruct-0905"]
        and "default for call_with_tools" in rows["kimi-k2-instruct-0905"]
    )
    assert "default for embed, default for search" in rows["fireworks/qwen3-embedding-8b"]
    assert rows["qwen3-reranker-8b"].split()[1:4] == ["-", "-", "-"]
    assert f"{len(SIMULATED_MODELS) + len(NON_CHAT)} models" in ran.out


def test_models_json(cli: Cli, simulator: SimulatorServer, monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in sim_env(simulator.base_url).items():
        monkeypatch.setenv(name, value)
    ran = cli("models", "--json")
    assert ran.code == 0
    data = json.loads(ran.out)
    by_name = {m["name"]: m for m in data["models"]}
    assert by_name["deepseek-v3p1"]["default_for"] == ["chat", "extract_json", "batch_submit"]
    assert by_name["qwen3-vl-235b-a22b"]["vision"] is True
    assert data["defaults"]["chat"] == "accounts/fireworks/models/deepseek-v3p1"
    assert data["not_listed"] == []


def test_models_without_a_key_says_how_to_set_it(
    cli: Cli, simulator: SimulatorServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FIREWORKS_BASE_URL", simulator.base_url)
    ran = cli("models")
    assert ran.code == 2 and "FIREWORKS_API_KEY is not set" in ran.err and ran.out == ""


def test_models_with_a_refused_key_exits_1(
    cli: Cli, simulator: SimulatorServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    simulator.sim.configure(api_keys=["fw_another_key_123456"])
    for name, value in sim_env(simulator.base_url).items():
        monkeypatch.setenv(name, value)
    ran = cli("models")
    assert ran.code == 1 and "HTTP 401" in ran.err and "FIREWORKS_API_KEY" in ran.err


async def test_absent_capability_fields_read_as_unknown_and_unlisted_defaults_are_named(
    settings: Settings,
) -> None:
    raw = [{"id": "accounts/fireworks/models/deepseek-v3p1"}, {"id": "accounts/acme/models/custom#dep1"}]
    catalogue = build_catalogue(raw, settings)
    entry = catalogue.find("accounts/fireworks/models/deepseek-v3p1#my-deployment")
    assert entry is not None and (entry.text, entry.tools, entry.vision, entry.context_length) == (
        None,
        None,
        None,
        None,
    )
    assert "accounts/fireworks/models/kimi-k2-instruct-0905" in catalogue.not_listed


async def test_list_models_maps_errors_and_redacts_the_key(simulator: SimulatorServer) -> None:
    key = "fw_secret_key_abcdefgh"
    settings = make_settings(simulator.base_url, key=key)
    simulator.sim.enqueue(
        {"path": "/models", "status": 403, "body": {"error": {"message": f"key {key} may not list models"}}}
    )
    async with create_http_client(settings) as http:
        with pytest.raises(FireworksHTTPError) as caught:
            await list_models(http, settings)
        assert caught.value.status_code == 403 and key not in str(caught.value)
        # An answer that is not a model list is a transport failure, retried as the policy says.
        simulator.sim.enqueue(
            {"path": "/models", "status": 200, "body_text": "<html>login</html>", "times": 3}
        )
        with pytest.raises(FireworksTransportError, match="not answer a JSON model list"):
            await list_models(http, settings)
        assert len(simulator.sim.requests) == 4, "the 403 once, the non-list three times"
        assert len(await list_models(http, settings)) == len(SIMULATED_MODELS) + len(NON_CHAT)
