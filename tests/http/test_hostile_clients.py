"""Issue 14, item 6: clients that hang up, never finish a request, hoard sessions or fish for files.

Each test reproduces the attack at a size that runs in seconds against a real server process, and
checks that `/healthz` still answers within a second while it runs.
"""

from __future__ import annotations

import json
import os
from collections.abc import AsyncIterator, Iterator
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path

import anyio
import httpx2
import pytest

from fw_mcp.simulator import SimulatorServer
from tests.http.helpers import (
    ALICE,
    BOB,
    INITIALIZE,
    ROOT,
    HttpServer,
    call,
    headers,
    http_server,
    mcp_client,
    server_env,
    until,
    write_config,
)

REQUEST_TIMEOUT = 1.0
MAX_IN_FLIGHT = 2
MAX_PENDING = 8
LEGACY = "2025-11-25"
IMAGE = ROOT / "bench" / "results.png"  # an image inside the server's working directory


@pytest.fixture(scope="module")
def server(simulator_server: SimulatorServer, tokens_file: Path) -> Iterator[HttpServer]:
    config = write_config(
        tokens_file.parent,
        f'[http]\nauth_tokens_file = "{tokens_file}"\nmax_concurrent_per_token = {MAX_IN_FLIGHT}\n'
        f"request_timeout = {REQUEST_TIMEOUT}\nmax_pending_connections = {MAX_PENDING}\n"
        "[limits]\nprogress_interval = 0.02\n",
    )
    with http_server(server_env(simulator_server.base_url), "--config", str(config)) as running:
        yield running


async def healthz_answers_within_a_second(server: HttpServer) -> None:
    with anyio.fail_after(1):
        async with httpx2.AsyncClient() as http:
            assert (await http.get(server.root + "/healthz")).status_code == 200


async def open_legacy_session(http: httpx2.AsyncClient, url: str, token: str) -> dict[str, str]:
    """A 2025-11-25 session, opened by hand: the headers its later requests carry."""
    opened = await http.post(url, content=json.dumps(INITIALIZE), headers=headers(token))
    assert opened.status_code == 200, opened.text
    session = headers(
        token, **{"Mcp-Session-Id": opened.headers["mcp-session-id"], "Mcp-Protocol-Version": LEGACY}
    )
    note = {"jsonrpc": "2.0", "method": "notifications/initialized"}
    assert (await http.post(url, content=json.dumps(note), headers=session)).status_code == 202
    return session


async def admitted(http: httpx2.AsyncClient, url: str, token: str) -> None:
    """Retry while the token's slots are all taken (429); the caller bounds the wait."""
    for _ in range(10_000):
        opened = await http.post(url, content=json.dumps(INITIALIZE), headers=headers(token))
        if opened.status_code != 429:
            assert opened.status_code == 200
            return
        await anyio.sleep(0.02)


def tool_call(id_: int, prompt: str) -> str:
    params = {"name": "chat", "arguments": {"prompt": prompt, "max_tokens": 1000}}
    return json.dumps({"jsonrpc": "2.0", "id": id_, "method": "tools/call", "params": params})


async def test_a_dropped_2025_call_is_cancelled_and_holds_its_slot_until_upstream_closes(
    server: HttpServer, simulator: SimulatorServer
) -> None:
    simulator.sim.enqueue({"reply": {"content": "word " * 400}, "token_delay": 0.02, "times": MAX_IN_FLIGHT})
    async with httpx2.AsyncClient(timeout=10) as http:
        session = await open_legacy_session(http, server.url, ALICE)
        async with AsyncExitStack() as calls:  # the token's every slot, then every connection dropped
            for number in range(MAX_IN_FLIGHT):
                stream = http.stream(
                    "POST", server.url, content=tool_call(10 + number, "go"), headers=session
                )
                assert (await calls.enter_async_context(stream)).status_code == 200
            await simulator.sim.wait_for_async(
                lambda rs: len(rs) == MAX_IN_FLIGHT and all(r["events_sent"] >= 3 for r in rs), timeout=10
            )
        await healthz_answers_within_a_second(server)
        with anyio.fail_after(10):  # the slots come back, but only once the upstream streams are closed
            await admitted(http, server.url, ALICE)
            outcomes = [record["outcome"] for record in simulator.sim.requests]
    assert outcomes == ["disconnected"] * MAX_IN_FLIGHT, "a slot was free while its call still streamed"
    assert all(record["events_sent"] < 300 for record in simulator.sim.requests), "generation was stopped"


async def test_a_cancelled_2026_call_holds_its_slot_until_upstream_closes(
    server: HttpServer, simulator: SimulatorServer
) -> None:
    simulator.sim.enqueue({"reply": {"content": "word " * 400}, "token_delay": 0.02, "times": MAX_IN_FLIGHT})
    async with mcp_client(server.url, token=ALICE, mode="auto") as (client, seen):
        async with anyio.create_task_group() as tg:
            for _ in range(MAX_IN_FLIGHT):
                tg.start_soon(call, client, "chat", {"prompt": "go", "max_tokens": 1000})
            await simulator.sim.wait_for_async(
                lambda rs: len(rs) == MAX_IN_FLIGHT and all(r["events_sent"] >= 3 for r in rs), timeout=10
            )
            tg.cancel_scope.cancel()
        assert not seen.session_ids, "the 2026-07-28 era (no sessions) was spoken"
        await healthz_answers_within_a_second(server)
        async with httpx2.AsyncClient(timeout=10) as http:
            with anyio.fail_after(10):
                await admitted(http, server.url, ALICE)
            outcomes = [record["outcome"] for record in simulator.sim.requests]
    assert outcomes == ["disconnected"] * MAX_IN_FLIGHT


def open_fds(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


@asynccontextmanager
async def raw_connections(server: HttpServer, count: int) -> AsyncIterator[list[anyio.abc.SocketStream]]:
    port = int(server.url.rsplit(":", 1)[1].split("/")[0])
    async with AsyncExitStack() as stack:
        yield [
            await stack.enter_async_context(await anyio.connect_tcp("127.0.0.1", port)) for _ in range(count)
        ]


async def closed_by_server(conn: anyio.abc.SocketStream) -> bytes:
    """What the server sent before closing this connection (it must close it: bounded wait)."""
    received = b""
    with anyio.fail_after(10):
        while True:
            try:
                received += await conn.receive()
            except (anyio.EndOfStream, anyio.BrokenResourceError, ConnectionResetError):
                return received


@pytest.mark.skipif(not Path("/proc/self/fd").exists(), reason="counts descriptors through /proc")
async def test_silent_and_dribbling_connections_are_closed_and_their_descriptors_return(
    server: HttpServer,
) -> None:
    before = open_fds(server.proc.pid)
    head = b"POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\n"
    async with raw_connections(server, 3 * MAX_PENDING) as conns:
        dribbling = conns[2 * MAX_PENDING :]  # the others never send a byte
        async with anyio.create_task_group() as tg:

            async def dribble(conn: anyio.abc.SocketStream) -> None:
                await conn.send(head)
                for n in range(100):  # a header line every 0.1 s: never a complete head
                    try:
                        await conn.send(f"X-Slow-{n}: 1\r\n".encode())
                    except (anyio.BrokenResourceError, OSError):
                        return
                    await anyio.sleep(0.1)

            for conn in dribbling:
                tg.start_soon(dribble, conn)
            await healthz_answers_within_a_second(server)
            async with mcp_client(server.url, token=BOB, mode="auto") as (client, _):
                with anyio.fail_after(5):
                    await client.list_tools()  # another client is served meanwhile
            for conn in conns:
                assert await closed_by_server(conn) == b"", "closed without an answer"
    await until(lambda: open_fds(server.proc.pid) <= before)
    assert "Closed" in server.stderr() and "idle or slow HTTP connections" in server.stderr()


async def test_a_body_that_dribbles_gets_408(server: HttpServer) -> None:
    async with raw_connections(server, 1) as (conn,):
        head = (
            f"POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {ALICE}\r\n"
            "Content-Type: application/json\r\nAccept: application/json, text/event-stream\r\n"
            "Content-Length: 1000\r\n\r\n{"
        )
        await conn.send(head.encode())
        await healthz_answers_within_a_second(server)
        answer = await closed_by_server(conn)
    assert answer.startswith(b"HTTP/1.1 408")
    assert b"request_timeout" in answer


async def test_an_http_server_reads_no_local_file_unless_folders_are_named(
    server: HttpServer, simulator: SimulatorServer
) -> None:
    assert "describe_image reads no local files" in server.stderr()
    async with mcp_client(server.url, token=ALICE) as (client, _):
        refused = await call(client, "describe_image", {"images": [str(IMAGE)], "prompt": "what is it?"})
    assert refused.is_error and "FW_MCP_ALLOWED_DIRS" in refused.content[0].text  # type: ignore[union-attr]
    assert simulator.sim.requests == [], "nothing of the server's folder went upstream"

    env = server_env(simulator.base_url, FW_MCP_ALLOWED_DIRS=str(IMAGE.parent))
    with http_server(env) as named:
        assert f"describe_image may read local files in: {IMAGE.parent}" in named.stderr()
        async with mcp_client(named.url) as (client, _):
            served = await call(client, "describe_image", {"images": [str(IMAGE)], "prompt": "what is it?"})
    assert not served.is_error and len(simulator.sim.requests) == 1


async def test_sessions_are_capped_per_token_and_in_total(
    simulator: SimulatorServer, tokens_file: Path, tmp_path: Path
) -> None:
    config = write_config(
        tmp_path,
        f'[http]\nauth_tokens_file = "{tokens_file}"\nmax_sessions_per_token = 3\nmax_sessions = 5\n',
    )
    with http_server(server_env(simulator.base_url), "--config", str(config)) as capped:
        async with httpx2.AsyncClient(timeout=10) as http:

            async def open_one(token: str) -> httpx2.Response:
                return await http.post(capped.url, content=json.dumps(INITIALIZE), headers=headers(token))

            alice = [await open_one(ALICE) for _ in range(4)]
            assert [r.status_code for r in alice] == [200, 200, 200, 429]
            assert "max_sessions_per_token" in alice[-1].json()["error"]["message"]
            assert alice[-1].headers["retry-after"]
            bob = [await open_one(BOB) for _ in range(3)]
            assert [r.status_code for r in bob] == [200, 200, 503]
            assert "max_sessions" in bob[-1].json()["error"]["message"]
            await healthz_answers_within_a_second(capped)

            ended = alice[0].headers["mcp-session-id"]
            gone = await http.delete(capped.url, headers=headers(ALICE, **{"Mcp-Session-Id": ended}))
            assert gone.status_code == 200
            assert (await open_one(ALICE)).status_code == 200, "an ended session frees its place"
