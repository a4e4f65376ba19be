"""Over stdio, as hosts run it: cancellation stops upstream billing, bad protocol lines don't kill the
server, stdout carries only JSON-RPC, and the API key never appears in anything the server wrote."""

from __future__ import annotations

import json
import sys
import time

import anyio

from fw_mcp.simulator import SimulatorServer
from tests.conftest import TEST_KEY
from tests.e2e.helpers import ROOT, server_env, stdio_session, texts


async def test_cancel_mid_stream_closes_the_upstream_within_a_second(simulator: SimulatorServer) -> None:
    simulator.sim.enqueue({"reply": {"content": " ".join(["word"] * 400)}, "token_delay": 0.02})
    async with stdio_session(server_env(simulator.base_url)) as s:
        async with anyio.create_task_group() as tg:
            tg.start_soon(s.call, "chat", {"prompt": "write a lot"})
            await simulator.sim.wait_for_async(lambda rs: bool(rs) and rs[0]["events_sent"] >= 5, timeout=10)
            cancelled_at = time.monotonic()
            tg.cancel_scope.cancel()
        (record,) = await simulator.sim.wait_for_async(lambda rs: rs[0]["outcome"] is not None, timeout=5)
        assert record["outcome"] == "disconnected"
        assert record["disconnected_at"] - cancelled_at < 1.0
        assert record["events_sent"] < 300, "generation stopped well before the end"

        after = await s.call("chat", {"prompt": "still there?"})
    assert not after.is_error, "the server stays healthy after a cancel"
    assert len(simulator.sim.requests) == 2, "nothing more was sent for the cancelled call"


def _rpc(method: str, id_: int | None = None, params: dict[str, object] | None = None) -> bytes:
    message: dict[str, object] = {"jsonrpc": "2.0", "method": method, "params": params or {}}
    if id_ is not None:
        message["id"] = id_
    return (json.dumps(message) + "\n").encode()


async def test_malformed_lines_and_unknown_methods_do_not_kill_the_server(simulator: SimulatorServer) -> None:
    init = {
        "protocolVersion": "2025-11-25",
        "capabilities": {},
        "clientInfo": {"name": "raw", "version": "0"},
    }
    lines = [
        _rpc("initialize", 1, init),
        _rpc("notifications/initialized"),
        b"this is not json\n",
        b'{"jsonrpc": "2.0", "id": 2}\n',
        b"\x00\xff garbage bytes\n",
        _rpc("no/such/method", 3),
        _rpc("tools/call", 4, {"name": "chat", "arguments": {"prompt": "hi"}}),
        _rpc("tools/call", 5, {"name": "nope", "arguments": {}}),
        _rpc("tools/list", 6),
    ]
    env = {"PATH": "/usr/bin:/bin", **server_env(simulator.base_url)}
    replies: list[dict[str, object]] = []
    stdout = b""
    with anyio.fail_after(60):
        async with await anyio.open_process([sys.executable, "-m", "fw_mcp"], env=env, cwd=ROOT) as proc:
            assert proc.stdin and proc.stdout and proc.stderr
            await proc.stdin.send(b"".join(lines))
            async for chunk in proc.stdout:
                stdout += chunk
                replies = [json.loads(line) for line in stdout.decode().splitlines()]  # every line is JSON
                if {4, 6} <= {r.get("id") for r in replies}:
                    break
            await proc.stdin.aclose()
            stderr = b"".join([c async for c in proc.stderr]).decode()
    assert all(r.get("jsonrpc") == "2.0" for r in replies), "stdout carries only JSON-RPC"
    by_id = {r.get("id"): r for r in replies if "id" in r}
    assert by_id[3]["error"]["code"] == -32601  # type: ignore[index]
    assert by_id[4]["result"]["structuredContent"]["text"].startswith("Simulated")  # type: ignore[index]
    assert by_id[5].get("error") or by_id[5]["result"]["isError"] is True  # type: ignore[index]
    assert {t["name"] for t in by_id[6]["result"]["tools"]} >= {"chat", "extract_json"}  # type: ignore[index]
    assert TEST_KEY not in stdout.decode() + stderr


async def test_the_key_never_appears_in_results_or_logs_whatever_fails(simulator: SimulatorServer) -> None:
    echo = f"Invalid key {TEST_KEY} (Authorization: Bearer {TEST_KEY})"
    simulator.sim.enqueue(
        {"status": 401, "body": {"error": {"message": echo}}},
        {"status": 500, "body": {"error": echo}, "times": 3},
        {"status": 429, "body": {"error": "Too Many Requests", "message": echo}, "times": 3},
        {"status": 502, "body_text": f"<html>{echo}</html>", "content_type": "text/html", "times": 3},
        {"reply": {"content": "partial answer here"}, "error_event_after": 3},
        {"drop_after": 3, "reply": {"content": "a b c d e"}},
    )
    results = []
    async with stdio_session(server_env(simulator.base_url, FW_MCP_LOG_LEVEL="DEBUG")) as s:
        for _ in range(6):
            results.append(await s.call("chat", {"prompt": "hi"}))
        stderr = s.stderr()
    assert all(r.is_error for r in results)
    written = json.dumps([r.model_dump(mode="json") for r in results]) + stderr
    assert TEST_KEY not in written
    assert "[redacted]" in texts(results[0])[0]
