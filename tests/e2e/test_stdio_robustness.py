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


class RawStdio:
    """The server over raw pipes: lines in, JSON-RPC messages out, each awaited by id (bounded)."""

    def __init__(self, proc: anyio.abc.Process) -> None:
        self.proc = proc
        self.buffer = b""
        self.replies: dict[object, dict[str, object]] = {}

    async def send(self, line: bytes) -> None:
        assert self.proc.stdin is not None
        await self.proc.stdin.send(line.rstrip(b"\n") + b"\n")

    async def reply(self, id_: object, within: float) -> dict[str, object]:
        assert self.proc.stdout is not None
        with anyio.fail_after(within):
            while id_ not in self.replies:
                self.buffer += await self.proc.stdout.receive()
                *lines, self.buffer = self.buffer.split(b"\n")
                for line in lines:
                    message = json.loads(line)  # stdout carries only JSON-RPC
                    self.replies[message.get("id")] = message
        return self.replies.pop(id_)


NESTED = b"[" * 100_000 + b"]" * 100_000
REFUSED_LINES = [  # (line, expected code): each carries an id the SDK's own parser cannot recover
    (b'{"jsonrpc": "2.0", "id": 11, "method": "ping", "params": {"n": ' + b"7" * 4400 + b"}}", -32700),
    (b'{"jsonrpc": "2.0", "id": "deep", "method": "ping", "params": {"a": ' + NESTED + b"}}", -32700),
    (b'{"jsonrpc": "2.0", "method": "ping", "params": {"a": ' + NESTED + b'}, "id": 13}', -32700),
    (b'{"jsonrpc": "2.0", "id": 14, "method": "ping", "params": [1, 2]}', -32600),
    (b'{"jsonrpc": "1.0", "id": 15, "method": "ping"}', -32600),
    (b'{"jsonrpc": "2.0", "id": 16, "method": "tools/list", ', -32700),
]


async def test_every_refused_line_with_an_id_gets_an_answer_and_pings_still_answer(
    simulator: SimulatorServer,
) -> None:
    init = {
        "protocolVersion": "2025-11-25",
        "capabilities": {},
        "clientInfo": {"name": "raw", "version": "0"},
    }
    env = {"PATH": "/usr/bin:/bin", **server_env(simulator.base_url)}
    async with await anyio.open_process([sys.executable, "-m", "fw_mcp"], env=env, cwd=ROOT) as proc:
        wire = RawStdio(proc)
        await wire.send(_rpc("initialize", 1, init))
        await wire.reply(1, within=30)
        await wire.send(_rpc("notifications/initialized"))
        for number, (line, code) in enumerate(REFUSED_LINES):
            await wire.send(line)
            await wire.send(_rpc("ping", 100 + number))
            answer = await wire.reply(
                json.loads(line.split(b'"id": ')[1].split(b",")[0].split(b"}")[0]), within=10
            )
            assert answer["error"]["code"] == code, answer  # type: ignore[index]
            assert "result" in await wire.reply(100 + number, within=1), "the server keeps answering"

        # A lone surrogate (Node hosts cut text mid-emoji) is repaired to U+FFFD and the call is served.
        cut = b'{"jsonrpc": "2.0", "id": 20, "method": "tools/call", "params": {"name": "chat", '
        cut += b'"arguments": {"prompt": "smile \\ud83d"}}}'
        await wire.send(cut)
        served = await wire.reply(20, within=30)
        assert served["result"]["structuredContent"]["text"].startswith("Simulated")  # type: ignore[index]
        assert "\ufffd" in simulator.sim.requests[-1]["body"]["messages"][-1]["content"]
        assert proc.stdin is not None
        await proc.stdin.aclose()
