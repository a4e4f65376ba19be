"""`--workers 2`: two processes on one port, stateless, so any process can answer any request."""

from __future__ import annotations

import re

import anyio

from fw_mcp.simulator import SimulatorServer
from tests.http.helpers import ALICE, call, http_server, mcp_client, server_env, texts

CLIENTS = 20
CALLS_EACH = 10


async def test_two_workers_serve_200_calls_over_20_concurrent_clients(simulator: SimulatorServer) -> None:
    env = server_env(simulator.base_url, FW_MCP_AUTH_TOKEN=ALICE)
    with http_server(env, "--workers", "2") as server:
        failures: list[str] = []
        done = 0

        async def one_client(index: int) -> None:
            nonlocal done
            mode = "legacy" if index % 2 else "auto"  # both eras, both without server-side sessions
            async with mcp_client(server.url, token=ALICE, mode=mode) as (client, seen):
                for n in range(CALLS_EACH):
                    result = await call(client, "chat", {"prompt": f"client {index} call {n}"})
                    if result.is_error or f"client {index} call {n}" not in texts(result)[0]:
                        failures.append(f"{index}/{n}: {texts(result)}")
                    done += 1
            assert not seen.session_ids, "N > 1 workers implies --stateless: no session ids"

        with anyio.fail_after(60):
            async with anyio.create_task_group() as tg:
                for index in range(CLIENTS):
                    tg.start_soon(one_client, index)
        stderr = server.stderr()
    assert failures == []
    assert done == CLIENTS * CALLS_EACH
    assert len(simulator.sim.requests) == CLIENTS * CALLS_EACH
    workers = set(re.findall(r"fw-mcp HTTP process (\d+) ready", stderr))
    assert len(workers) == 2, stderr
    assert "stateless; 2 processes" in stderr
