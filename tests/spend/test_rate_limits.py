"""429 and 503 read differently, and the rate limits Fireworks sent last show in usage and doctor."""

from __future__ import annotations

import json
from pathlib import Path

import anyio
import pytest

from fw_mcp.cli import main
from fw_mcp.simulator import SimulatorServer
from tests.spend.test_tools_spend import call, connect, settings_for, text

LIMITS = {
    "x-ratelimit-limit-requests": "600",
    "x-ratelimit-limit-tokens-prompt": "60000",
    "x-ratelimit-limit-tokens-generated": "600",
}


async def test_a_429_says_it_is_your_limit_and_a_503_that_fireworks_sheds_load(
    simulator: SimulatorServer, tmp_path: Path
) -> None:
    settings = settings_for(simulator, tmp_path, retries={"max_retries": 0})
    simulator.sim.enqueue({"error": "429_envelope", "headers": {"retry-after": "0"}})
    simulator.sim.enqueue({"error": "503_overloaded"})
    async with connect(settings) as client:
        limited, shed = await call(client), await call(client)
    assert limited.is_error and shed.is_error
    assert "HTTP 429" in text(limited) and "Over your account's rate limit" in text(limited)
    assert "HTTP 503" in text(shed) and "shedding load: this is not your rate limit" in text(shed)
    assert "[fallback]" in text(shed) and "[fallback]" not in text(limited)


def test_the_limits_seen_last_reach_usage_and_doctor(
    simulator: SimulatorServer,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    simulator.sim.enqueue({"reply": {"content": "hi"}, "headers": LIMITS})

    async def one_call() -> None:  # the commands below run their own event loop: not inside this one
        async with connect(settings_for(simulator, tmp_path)) as client:
            assert not (await call(client)).is_error

    anyio.run(one_call)
    config = tmp_path / "fw-mcp.toml"
    config.write_text(f'[budget]\nstore = "{tmp_path / "usage.db"}"\n')
    assert main(["usage", "--json", "--config", str(config)]) == 0
    assert json.loads(capsys.readouterr().out)["rate_limits"] == LIMITS
    monkeypatch.setenv("FIREWORKS_BASE_URL", simulator.base_url)
    monkeypatch.setenv("FIREWORKS_API_KEY", "fw_TESTKEY_0123456789abcdef")
    main(["doctor", "--config", str(config)])
    [line] = [ln for ln in capsys.readouterr().out.splitlines() if " spend " in ln]
    assert line.split()[0] == "pass" and "limit-tokens-generated=600" in line
