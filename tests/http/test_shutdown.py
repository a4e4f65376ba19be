"""SIGTERM: stop accepting, let the running call finish (within [http] shutdown_grace), then exit."""

from __future__ import annotations

import contextlib
import signal
import socket
import time
from pathlib import Path

import anyio
import pytest

from fw_mcp.simulator import SimulatorServer
from tests.http.helpers import call, http_server, mcp_client, server_env, until, write_config

# uvicorn re-raises the signal once shut down, so a clean exit reads as "terminated by SIGTERM".
CLEAN_EXIT = (0, -signal.SIGTERM)


def refuses_connections(root: str) -> bool:
    """Whether nothing listens at http://host:port any more (loopback: refusal is immediate)."""
    host, _, port = root.removeprefix("http://").partition(":")
    try:
        socket.create_connection((host, int(port)), timeout=1).close()
    except ConnectionRefusedError:
        return True
    return False


async def wait_for_upstream_request(simulator: SimulatorServer) -> None:
    await until(lambda: bool(simulator.sim.requests))


async def test_sigterm_lets_the_running_call_finish_then_exits(simulator: SimulatorServer) -> None:
    words = " ".join(f"w{i}" for i in range(30))
    simulator.sim.enqueue({"reply": {"content": words}, "token_delay": 0.04})  # ~1.2 s of streaming
    with http_server(server_env(simulator.base_url)) as server:
        async with mcp_client(server.url, mode="legacy") as (client, seen), anyio.create_task_group() as tg:
            results = []

            async def slow_call() -> None:
                results.append(await call(client, "chat", {"prompt": "count", "max_tokens": 200}))

            await client.list_tools()  # the client re-reads it after a call unless cached: not after SIGTERM
            tg.start_soon(slow_call)
            await wait_for_upstream_request(simulator)
            server.proc.send_signal(signal.SIGTERM)
            await until(lambda: refuses_connections(server.root))  # the listener closes at once
        finished = time.monotonic()
        assert server.proc.wait(timeout=10) in CLEAN_EXIT
        exited_after = time.monotonic() - finished
        stderr = server.stderr()
    assert seen.session_ids, "a 2025-11-25 session (with its standalone GET stream) was open"
    assert not results[0].is_error and results[0].structured_content["text"] == words
    assert exited_after < 5, "idle streams must not hold the shutdown for the whole grace period (30 s)"
    assert "Shutting down: refusing new requests" in stderr
    assert "the Fireworks client is closed" in stderr


async def test_shutdown_is_bounded_by_the_grace_period(simulator: SimulatorServer, tmp_path: Path) -> None:
    simulator.sim.enqueue({"reply": {"content": "slow " * 200}, "token_delay": 0.1})  # ~20 s
    config = write_config(tmp_path, "[http]\nshutdown_grace = 1.0\n")
    with http_server(server_env(simulator.base_url), "--config", str(config)) as server:
        async with mcp_client(server.url, mode="auto") as (client, _), anyio.create_task_group() as tg:

            async def endless_call() -> None:
                with contextlib.suppress(Exception):  # the server cuts it at the grace limit: the point
                    await call(client, "chat", {"prompt": "go on", "max_tokens": 1000})

            tg.start_soon(endless_call)
            await wait_for_upstream_request(simulator)
            signalled = time.monotonic()
            server.proc.send_signal(signal.SIGTERM)
            assert await anyio.to_thread.run_sync(lambda: server.proc.wait(timeout=15)) in CLEAN_EXIT
            took = time.monotonic() - signalled
            tg.cancel_scope.cancel()
        stderr = server.stderr()
    assert 0.9 < took < 5, f"exit {took:.1f} s after SIGTERM with a 1 s grace period"
    assert "the Fireworks client is closed" in stderr


@pytest.mark.parametrize("mode", ["legacy", "auto"])
async def test_when_the_grace_period_ends_a_running_call_returns_its_partial_answer(
    simulator: SimulatorServer, tmp_path: Path, mode: str
) -> None:
    simulator.sim.enqueue({"reply": {"content": "slow " * 200}, "token_delay": 0.05})  # ~10 s
    config = write_config(tmp_path, "[http]\nshutdown_grace = 1.0\n[limits]\nprogress_interval = 0.05\n")
    with http_server(server_env(simulator.base_url), "--config", str(config)) as server:
        async with mcp_client(server.url, mode=mode) as (client, _):
            await client.list_tools()  # the client re-reads it after a call unless cached: not after SIGTERM
            async with anyio.create_task_group() as tg:
                results = []

                async def long_call() -> None:
                    results.append(await call(client, "chat", {"prompt": "go on", "max_tokens": 1000}))

                tg.start_soon(long_call)
                await simulator.sim.wait_for_async(
                    lambda rs: bool(rs) and rs[0]["events_sent"] >= 3, timeout=10
                )
                server.proc.send_signal(signal.SIGTERM)
        assert await anyio.to_thread.run_sync(lambda: server.proc.wait(timeout=15)) in CLEAN_EXIT
        stderr = server.stderr()
    (result,) = results
    assert result.is_error and result.structured_content is not None
    assert result.structured_content["finish_reason"] == "incomplete"
    assert result.structured_content["text"].startswith("slow slow")
    assert "shutting down" in result.content[0].text  # type: ignore[union-attr]
    assert "ending 1 running calls with their partial answers" in stderr
    (record,) = simulator.sim.requests
    assert record["outcome"] == "disconnected", "the upstream stream was closed, not left running"
