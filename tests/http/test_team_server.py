"""A team server: `python -m fw_mcp --transport http` with a tokens file, against the simulator.

One server for the module (starting one costs ~2 s): every test resets the simulator and leaves the
tokens file as it found it.
"""

from __future__ import annotations

import base64
import io
import json
from collections.abc import Iterator
from pathlib import Path

import anyio
import httpx2
import jsonschema
import pytest
from PIL import Image

from fw_mcp.simulator import SimulatorServer
from tests.batch.conftest import BATCH_TOOLS
from tests.conftest import TEST_KEY
from tests.http.helpers import (
    ALICE,
    BOB,
    INITIALIZE,
    HttpServer,
    call,
    headers,
    http_server,
    mcp_client,
    server_env,
    texts,
    until,
    write_config,
)

MAX_IN_FLIGHT = 3
MAX_BODY = 65536
PERSON = {
    "type": "object",
    "properties": {"name": {"type": "string"}, "age": {"type": "integer"}},
    "required": ["name", "age"],
}


@pytest.fixture(scope="module")
def docs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder the team server may read (an HTTP server reads none unless told)."""
    folder = tmp_path_factory.mktemp("docs")
    (folder / "notes.md").write_text("The simulator answers every call offline.\n")
    return folder


@pytest.fixture(scope="module")
def team(simulator_server: SimulatorServer, tokens_file: Path, docs: Path) -> Iterator[HttpServer]:
    config = write_config(
        tokens_file.parent,
        f'[http]\nauth_tokens_file = "{tokens_file}"\nmax_concurrent_per_token = {MAX_IN_FLIGHT}\n'
        f"max_body_bytes = {MAX_BODY}\n[limits]\nprogress_interval = 0.02\n"
        f'[images]\nallowed_dirs = ["{docs}"]\n',
    )
    with http_server(server_env(simulator_server.base_url), "--config", str(config)) as server:
        yield server


def png_data_uri() -> str:
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), "red").save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


async def post(url: str, body: object, **kwargs: str) -> httpx2.Response:
    async with httpx2.AsyncClient(timeout=10) as http:
        return await http.post(url, content=json.dumps(body), headers=headers(**kwargs))


async def test_no_token_gets_401_that_says_how_to_authenticate(team: HttpServer) -> None:
    response = await post(team.url, INITIALIZE)
    assert response.status_code == 401
    challenge = response.headers["www-authenticate"]
    assert challenge.startswith("Bearer ") and "error=" not in challenge, (
        "RFC 6750: no error code without a token"
    )
    assert "Authorization: Bearer" in response.json()["error_description"]


async def test_wrong_token_gets_401_invalid_token(team: HttpServer) -> None:
    for wrong in (ALICE[:-1] + "X", ALICE + "X", "x" * 40):
        async with httpx2.AsyncClient(timeout=10) as http:
            response = await http.post(
                team.url,
                content=json.dumps(INITIALIZE),
                headers={**headers(), "Authorization": f"Bearer {wrong}"},
            )
        assert response.status_code == 401
        assert 'error="invalid_token"' in response.headers["www-authenticate"]
    assert ALICE not in team.stderr() and BOB not in team.stderr()


async def test_right_token_opens_a_session(team: HttpServer) -> None:
    response = await post(team.url, INITIALIZE, token=ALICE)
    assert response.status_code == 200
    assert response.headers.get("mcp-session-id")


async def test_foreign_origin_gets_403_even_with_a_valid_token(team: HttpServer) -> None:
    response = await post(team.url, INITIALIZE, token=ALICE, Origin="https://evil.example.com")
    assert response.status_code == 403
    assert "allowed_origins" in response.json()["error"]["message"]
    local = await post(team.url, INITIALIZE, token=ALICE, Origin="http://localhost:3000")
    assert local.status_code == 200


async def test_foreign_host_gets_421(team: HttpServer) -> None:
    response = await post(team.url, INITIALIZE, token=ALICE, Host="evil.example.com")
    assert response.status_code == 421
    assert "allowed_hosts" in response.json()["error"]["message"]


async def test_health_probes_need_no_token_and_no_host_check(team: HttpServer) -> None:
    async with httpx2.AsyncClient(timeout=10) as http:
        live = await http.get(team.root + "/healthz", headers={"Host": "10.1.2.3:8000"})
        ready = await http.get(team.root + "/readyz")
    assert live.status_code == 200 and live.json() == {"status": "ok"}
    assert ready.status_code == 200 and ready.json() == {"status": "ready"}


@pytest.mark.parametrize("mode", ["legacy", "auto"])
async def test_every_tool_with_progress(
    team: HttpServer, simulator: SimulatorServer, docs: Path, mode: str
) -> None:
    simulator.sim.configure(token_delay=0.02)
    arguments = {
        "chat": {"prompt": "Say hello in a few words"},
        "extract_json": {"text": "John is 30.", "schema": PERSON},
        "describe_image": {"image": png_data_uri(), "prompt": "What colour?"},
        "call_with_tools": {
            "prompt": "Weather in Paris?",
            "tools": [{"name": "get_weather", "description": "Weather", "parameters": {"type": "object"}}],
            "tool_choice": "required",
        },
        "embed": {"texts": ["one", "two"], "dimensions": 8},
        "rerank": {"query": "soup", "documents": ["tea", "soup"]},  # one short request: no progress
        "search": {"query": "simulator", "paths": [str(docs)], "top_k": 1},
    }
    async with mcp_client(team.url, token=ALICE, mode=mode) as (client, _):
        # The batch tools need an account and a job: tests/batch drives them (over stdio too).
        assert {t.name for t in (await client.list_tools()).tools} == set(arguments) | BATCH_TOOLS
        for tool, args in arguments.items():
            progress: list[float] = []
            result = await call(client, tool, args, progress)
            assert not result.is_error, (tool, texts(result))
            assert progress or tool == "rerank", f"{tool} sent no progress over HTTP"
            assert progress == sorted(set(progress)), "progress must strictly increase"
            if tool == "extract_json":
                jsonschema.validate(result.structured_content["data"], PERSON)
            if tool == "call_with_tools":
                assert result.structured_content["tool_calls"][0]["name"] == "get_weather"
    assert len(simulator.sim.requests) == 8  # search: one embeddings and one rerank request
    assert {r["api_key"] for r in simulator.sim.requests} == {TEST_KEY}


async def test_a_2025_session_and_a_2026_stateless_call_both_work(
    team: HttpServer, simulator: SimulatorServer
) -> None:
    async with mcp_client(team.url, token=ALICE, mode="legacy") as (client, seen):
        result = await call(client, "chat", {"prompt": "hi"})
        assert client.protocol_version == "2025-11-25"
    assert not result.is_error and texts(result)[0].startswith("Simulated")
    assert len(seen.session_ids) == 1, "2025-11-25 clients get an Mcp-Session-Id session"

    async with mcp_client(team.url, token=BOB, mode="auto") as (client, seen):
        result = await call(client, "chat", {"prompt": "hi"})
        assert client.protocol_version == "2026-07-28"
    assert not result.is_error and texts(result)[0].startswith("Simulated")
    assert not seen.session_ids, "2026-07-28 is stateless: no session id"
    assert seen.protocol_versions == {"2026-07-28"}


async def test_a_session_belongs_to_the_token_that_opened_it(team: HttpServer) -> None:
    opened = await post(team.url, INITIALIZE, token=ALICE)
    sid = opened.headers["mcp-session-id"]
    ping = {"jsonrpc": "2.0", "id": 2, "method": "ping"}
    extra = {"Mcp-Session-Id": sid, "MCP-Protocol-Version": "2025-11-25"}
    assert (await post(team.url, ping, token=BOB, **extra)).status_code == 404
    assert (await post(team.url, ping, token=ALICE, **extra)).status_code == 200


async def test_a_body_over_the_limit_gets_413(team: HttpServer) -> None:
    body = {**INITIALIZE, "params": {**INITIALIZE["params"], "padding": "x" * MAX_BODY}}
    response = await post(team.url, body, token=ALICE)
    assert response.status_code == 413
    assert "max_body_bytes" in response.json()["error"]["message"]


async def test_too_many_requests_in_flight_for_one_token_get_429(
    team: HttpServer, simulator: SimulatorServer
) -> None:
    simulator.sim.enqueue({"reply": {"content": "slow " * 40}, "token_delay": 0.02, "times": MAX_IN_FLIGHT})
    async with mcp_client(team.url, token=ALICE, mode="auto") as (client, _), anyio.create_task_group() as tg:
        for _ in range(MAX_IN_FLIGHT):
            tg.start_soon(call, client, "chat", {"prompt": "slow one", "max_tokens": 100})
        await until(lambda: len(simulator.sim.requests) >= MAX_IN_FLIGHT)
        refused = await post(team.url, INITIALIZE, token=ALICE)
        other_user = await post(team.url, INITIALIZE, token=BOB)
    assert refused.status_code == 429
    assert refused.headers["retry-after"] == "1"
    assert "max_concurrent_per_token" in refused.json()["error"]["message"]
    assert other_user.status_code == 200, "the limit is per token"
    after = await post(team.url, INITIALIZE, token=ALICE)
    assert after.status_code == 200, "slots free up when calls finish"


async def test_the_fireworks_key_header_is_ignored_unless_enabled(
    team: HttpServer, simulator: SimulatorServer
) -> None:
    own_key = "fw_CALLER_OWN_KEY_123456"
    async with mcp_client(team.url, token=ALICE, extra_headers={"X-Fireworks-Api-Key": own_key}) as (
        client,
        _,
    ):
        result = await call(client, "chat", {"prompt": "hi"})
    assert not result.is_error
    assert [r["api_key"] for r in simulator.sim.requests] == [TEST_KEY]
    assert own_key not in team.stderr()


def test_deleting_a_line_revokes_that_token_at_once(team: HttpServer, tokens_file: Path) -> None:
    def status(token: str) -> int:
        return httpx2.post(
            team.url, content=json.dumps(INITIALIZE), headers=headers(token), timeout=10
        ).status_code

    original = tokens_file.read_text()
    try:
        tokens_file.write_text(f"alice {ALICE}\n")
        assert status(BOB) == 401
        assert status(ALICE) == 200
    finally:
        tokens_file.write_text(original)
    assert status(BOB) == 200
    assert "tokens now valid" in team.stderr() and BOB not in team.stderr()


@pytest.mark.parametrize("mode", ["auto", "legacy"])
async def test_a_cancelled_call_closes_the_upstream_within_a_second(
    team: HttpServer, simulator: SimulatorServer, mode: str
) -> None:
    """2026-07-28: closing the response stream is the cancel; 2025-11-25: notifications/cancelled."""
    simulator.sim.enqueue({"reply": {"content": " ".join(["word"] * 400)}, "token_delay": 0.02})
    async with mcp_client(team.url, token=ALICE, mode=mode) as (client, _):
        async with anyio.create_task_group() as tg:
            tg.start_soon(call, client, "chat", {"prompt": "write a lot"})
            await simulator.sim.wait_for_async(lambda rs: bool(rs) and rs[0]["events_sent"] >= 5, timeout=10)
            cancelled_at = anyio.current_time()
            tg.cancel_scope.cancel()
        (record,) = await simulator.sim.wait_for_async(lambda rs: rs[0]["outcome"] is not None, timeout=5)
        assert record["outcome"] == "disconnected"
        assert record["disconnected_at"] - cancelled_at < 1.0
        after = await call(client, "chat", {"prompt": "still there?"})
    assert not after.is_error, "the server stays healthy after a cancel"
    assert len(simulator.sim.requests) == 2
