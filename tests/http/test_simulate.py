"""`fw-mcp serve --simulate`: no key, no network, and every answer says it is simulated."""

from __future__ import annotations

import os

import mcp

from fw_mcp.registry import TOOLS as REGISTRY
from fw_mcp.server import SIMULATED_NOTE, build_server
from fw_mcp.simulator import SimulatorServer
from tests.conftest import make_settings
from tests.e2e.helpers import stdio_session, texts
from tests.http.helpers import call, http_server, mcp_client


def bare_env() -> dict[str, str]:
    """No key and no base URL: --simulate must need neither."""
    return {"PATH": os.environ.get("PATH", ""), "FW_MCP_LOG_LEVEL": "INFO"}


async def test_stdio_simulate_labels_instructions_and_every_result() -> None:
    async with stdio_session(bare_env(), mode="legacy", args=["serve", "--simulate"]) as s:
        assert s.client.instructions is not None and s.client.instructions.startswith("SIMULATED")
        result = await s.call("chat", {"prompt": "hello"})
        listed = await s.client.list_tools()
    assert not result.is_error
    assert texts(result)[-1] == SIMULATED_NOTE
    assert result.structured_content["simulated"] is True
    assert len(listed.tools) == len(REGISTRY)
    assert "SIMULATED MODE" in s.stderr()


async def test_http_simulate_labels_both_eras() -> None:
    with http_server(bare_env(), "--simulate") as server:
        for mode in ("legacy", "auto"):
            async with mcp_client(server.url, mode=mode) as (client, _):
                assert (client.instructions or "").startswith("SIMULATED")
                result = await call(
                    client, "extract_json", {"text": "Ann is 4", "schema": {"type": "object"}}
                )
            assert not result.is_error
            assert texts(result)[-1] == SIMULATED_NOTE
            assert result.structured_content["simulated"] is True
        assert "SIMULATED MODE" in server.stderr()


async def test_without_simulate_nothing_is_labelled(simulator: SimulatorServer) -> None:
    server = build_server(make_settings(simulator.base_url))
    async with mcp.Client(server) as client:
        result = await client.call_tool("chat", {"prompt": "hello"})
        assert not (client.instructions or "").startswith("SIMULATED")
    assert SIMULATED_NOTE not in texts(result)
    assert "simulated" not in result.structured_content
