"""`X-Fireworks-Api-Key` with `[http] per_request_api_key = true`: the caller's key reaches Fireworks."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx2
import pytest

from fw_mcp.simulator import SimulatorServer
from tests.conftest import TEST_KEY
from tests.http.helpers import (
    ALICE,
    INITIALIZE,
    HttpServer,
    call,
    headers,
    http_server,
    mcp_client,
    server_env,
)

OWN_KEY = "fw_CALLER_OWN_KEY_abcdef123456"


@pytest.fixture(scope="module")
def byok(simulator_server: SimulatorServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[HttpServer]:
    config: Path = tmp_path_factory.mktemp("byok") / "fw-mcp.toml"
    config.write_text("[http]\nper_request_api_key = true\n")
    env = server_env(simulator_server.base_url, FW_MCP_AUTH_TOKEN=ALICE)
    with http_server(env, "--config", str(config)) as server:
        yield server


@pytest.mark.parametrize("mode", ["legacy", "auto"])
async def test_the_callers_key_reaches_fireworks_in_both_eras(
    byok: HttpServer, simulator: SimulatorServer, mode: str
) -> None:
    async with mcp_client(
        byok.url, token=ALICE, mode=mode, extra_headers={"X-Fireworks-Api-Key": OWN_KEY}
    ) as (
        client,
        _,
    ):
        result = await call(client, "chat", {"prompt": "hi"})
    assert not result.is_error
    assert [r["api_key"] for r in simulator.sim.requests] == [OWN_KEY]
    assert OWN_KEY not in byok.stderr(), "a caller's key is never logged"


async def test_without_the_header_the_servers_key_is_used(
    byok: HttpServer, simulator: SimulatorServer
) -> None:
    async with mcp_client(byok.url, token=ALICE) as (client, _):
        result = await call(client, "chat", {"prompt": "hi"})
    assert not result.is_error
    assert [r["api_key"] for r in simulator.sim.requests] == [TEST_KEY]


async def test_a_malformed_key_header_is_refused_before_anything_runs(
    byok: HttpServer, simulator: SimulatorServer
) -> None:
    async with httpx2.AsyncClient(timeout=10) as http:
        response = await http.post(
            byok.url,
            content=json.dumps(INITIALIZE),
            headers=headers(token=ALICE, **{"X-Fireworks-Api-Key": "has spaces in it"}),
        )
    assert response.status_code == 400
    assert "X-Fireworks-Api-Key" in response.json()["error"]["message"]
    assert simulator.sim.requests == []


async def test_the_key_header_does_not_replace_the_bearer_token(byok: HttpServer) -> None:
    async with httpx2.AsyncClient(timeout=10) as http:
        response = await http.post(
            byok.url, content=json.dumps(INITIALIZE), headers=headers(**{"X-Fireworks-Api-Key": OWN_KEY})
        )
    assert response.status_code == 401
