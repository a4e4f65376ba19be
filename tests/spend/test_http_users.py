"""Over HTTP with several users: each has an isolated prompt cache and their own budget."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from fw_mcp.simulator import SimulatorServer
from tests.http.helpers import (
    ALICE,
    BOB,
    HttpServer,
    call,
    http_server,
    mcp_client,
    server_env,
    texts,
    write_config,
)
from tests.http.oauth_issuer import RESOURCE, SCOPE, Issuer


@pytest.fixture(scope="module")
def team(simulator_server: SimulatorServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[HttpServer]:
    folder = tmp_path_factory.mktemp("team-spend")
    tokens = folder / "tokens"
    tokens.write_text(f"alice {ALICE}\nbob {BOB}\n")
    tokens.chmod(0o600)
    config = write_config(
        folder,
        f'[http]\nauth_tokens_file = "{tokens}"\n'
        f'[budget]\nstore = "{folder / "usage.db"}"\n'
        '[budget.users."bob"]\ndaily_usd = 0.0001\n',
    )
    with http_server(server_env(simulator_server.base_url), "--config", str(config)) as server:
        yield server


async def test_users_share_conversation_keys_but_never_a_cache(
    team: HttpServer, simulator: SimulatorServer
) -> None:
    for token in (ALICE, BOB):
        async with mcp_client(team.url, token=token) as (client, _):
            result = await call(
                client, "chat", {"prompt": "Same question", "model": "gpt-oss", "max_tokens": 50}
            )
            assert not result.is_error, texts(result)
    alice, bob = (r["body"] for r in simulator.sim.requests)
    assert alice["prompt_cache_key"] == bob["prompt_cache_key"]
    assert alice["prompt_cache_isolation_key"] != bob["prompt_cache_isolation_key"]
    assert (
        "alice" not in alice["prompt_cache_isolation_key"] and "bob" not in bob["prompt_cache_isolation_key"]
    )


async def test_each_user_has_their_own_budget(team: HttpServer, simulator: SimulatorServer) -> None:
    arguments = {
        "prompt": "hi",
        "model": "gpt-oss",
        "max_tokens": 1000,
    }  # may cost $0.0006: over bob's $0.0001
    async with mcp_client(team.url, token=BOB) as (client, _):
        refused = await call(client, "chat", arguments)
    async with mcp_client(team.url, token=ALICE) as (client, _):
        answered = await call(client, "chat", arguments)
    assert refused.is_error and "user bob's daily budget of $0.0001" in texts(refused)[0]
    assert not answered.is_error
    assert len(simulator.sim.requests) == 1


@pytest.fixture(scope="module")
def sso(
    simulator_server: SimulatorServer, issuer: Issuer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[HttpServer]:
    folder = tmp_path_factory.mktemp("sso-spend")
    config = write_config(
        folder,
        f'[http.oauth]\nissuer = "{issuer.url}"\nresource = "{RESOURCE}"\nrequired_scopes = ["{SCOPE}"]\n'
        f'[budget]\nstore = "{folder / "usage.db"}"\n[budget.users."carol"]\ndaily_usd = 0.0001\n',
    )
    with http_server(server_env(simulator_server.base_url), "--config", str(config)) as server:
        yield server


async def test_a_jwt_subject_is_the_user_for_budgets_and_cache_isolation(
    sso: HttpServer, issuer: Issuer, simulator: SimulatorServer
) -> None:
    arguments = {"prompt": "hi", "model": "gpt-oss", "max_tokens": 1000}
    results = {}
    for subject in ("carol", "dave", "erin"):
        async with mcp_client(sso.url, token=issuer.mint(sub=subject)) as (client, _):
            results[subject] = await call(client, "chat", arguments)
    assert results["carol"].is_error and "user carol's daily budget" in texts(results["carol"])[0]
    assert not results["dave"].is_error and not results["erin"].is_error
    dave, erin = (r["body"]["prompt_cache_isolation_key"] for r in simulator.sim.requests)
    assert dave != erin
