"""`chat` refuses a reasoning_effort the model cannot take, before anything is sent (per configuration)."""

from __future__ import annotations

import mcp
import pytest

from fw_mcp.server import build_server
from fw_mcp.settings import Settings
from fw_mcp.simulator import SimulatorServer
from tests.conftest import make_settings


@pytest.mark.parametrize("model", ["gpt-oss", "gpt-oss-20b", "accounts/fireworks/models/gpt-oss-120b#dep"])
async def test_none_is_refused_for_gpt_oss_with_the_values_it_takes(
    settings: Settings, simulator: SimulatorServer, model: str
) -> None:
    async with mcp.Client(build_server(settings)) as client:
        result = await client.call_tool("chat", {"prompt": "hi", "model": model, "reasoning_effort": "none"})
    assert result.is_error is True
    text = result.content[0].text
    assert "`reasoning_effort`" in text and "low, medium, high" in text and "gpt-oss" in text
    assert simulator.sim.requests == []


async def test_values_a_model_takes_reach_fireworks(settings: Settings, simulator: SimulatorServer) -> None:
    async with mcp.Client(build_server(settings)) as client:
        low = await client.call_tool("chat", {"prompt": "hi", "model": "gpt-oss", "reasoning_effort": "low"})
        off = await client.call_tool("chat", {"prompt": "hi", "model": "glm", "reasoning_effort": "none"})
    assert low.is_error is not True and off.is_error is not True
    assert [r["body"]["reasoning_effort"] for r in simulator.sim.requests] == ["low", "none"]
    assert low.structured_content["reasoning"]  # gpt-oss reasons at medium by default, at low when asked
    assert "reasoning" not in off.structured_content


async def test_the_rules_are_configuration(simulator: SimulatorServer) -> None:
    settings = make_settings(simulator.base_url, reasoning={"efforts": {"glm-4p6": ["high"]}})
    assert settings.reasoning.efforts_for("accounts/fireworks/models/gpt-oss-120b") == [
        "low",
        "medium",
        "high",
    ]
    async with mcp.Client(build_server(settings)) as client:
        result = await client.call_tool("chat", {"prompt": "hi", "model": "glm", "reasoning_effort": "low"})
    assert result.is_error is True and "takes high" in result.content[0].text
    assert simulator.sim.requests == []
