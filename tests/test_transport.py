"""The pooled transport's idle-connection probe (fw_mcp/fireworks/transport.py), on real sockets.

Reuse of a healthy kept-alive connection is covered by
tests/test_faults.py::test_sequential_calls_reuse_one_upstream_connection; these check the other
half: a connection the server closed while idle is noticed, not reused.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio
import httpx2
import pytest

from fw_mcp.fireworks.client import create_http_client
from fw_mcp.fireworks.transport import pooled_transport
from tests.conftest import make_settings

RESPONSE = b"HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: 2\r\n\r\nok"


@asynccontextmanager
async def closing_server(idle_close: float) -> AsyncIterator[tuple[str, list[int], asyncio.Event]]:
    """An HTTP/1.1 server that keeps connections open (no `connection: close`, so the client pools
    them) and hangs up on a connection idle for `idle_close` seconds; `hung_up` is set once it has."""
    peers: list[int] = []
    hung_up = asyncio.Event()

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peers.append(writer.get_extra_info("peername")[1])
        try:
            while True:
                try:
                    async with asyncio.timeout(idle_close):
                        await reader.readuntil(b"\r\n\r\n")
                except (TimeoutError, asyncio.IncompleteReadError):
                    return  # idle for idle_close: hang up
                writer.write(RESPONSE)
                await writer.drain()
        finally:
            writer.close()
            await writer.wait_closed()
            hung_up.set()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}/", peers, hung_up
    finally:
        server.close()


async def test_a_connection_the_server_closed_while_idle_is_not_reused() -> None:
    async with closing_server(idle_close=0.05) as (url, peers, hung_up):
        http = create_http_client(make_settings(url))
        async with http:
            first = await http.get(url)
            with anyio.fail_after(10):
                await hung_up.wait()  # the server has closed the pooled connection
            second = await http.get(url)
    assert (first.text, second.text) == ("ok", "ok"), "a dead pooled connection must not fail a call"
    assert len(peers) == 2 and peers[0] != peers[1], "the second request needed a new connection"


async def test_a_healthy_idle_connection_is_reused() -> None:
    async with (
        closing_server(idle_close=5) as (url, peers, _),
        create_http_client(make_settings(url)) as http,
    ):
        for _ in range(3):
            assert (await http.get(url)).text == "ok"  # the connection is idle in the pool in between
    assert len(peers) == 1, peers


async def test_the_probe_answers_from_the_socket() -> None:
    """The stream's `is_readable` is False on a quiet connection and True once the server closed
    it; other extra info still comes from httpcore2's own stream."""
    await _probe_answers_from_the_socket()


def test_the_probe_answers_from_the_socket_under_uvloop() -> None:
    """uvloop hands out its own socket-like object; the probe must still find the descriptor."""
    pytest.importorskip("uvloop", reason="uvloop is not available on this platform")
    anyio.run(_probe_answers_from_the_socket, backend_options={"use_uvloop": True})


async def _probe_answers_from_the_socket() -> None:
    async with closing_server(idle_close=0.1) as (url, _, hung_up):
        transport = pooled_transport(httpx2.Limits(max_connections=4, max_keepalive_connections=4))
        async with httpx2.AsyncClient(transport=transport) as http:
            assert (await http.get(url)).text == "ok"
            (connection,) = transport._pool.connections
            stream = connection._connection._network_stream  # type: ignore[attr-defined]
            assert type(stream).__name__ == "_ProbedStream"
            assert stream._socket is not None, "the cheap probe is in use, not the fallback"
            assert stream.get_extra_info("is_readable") is False
            assert stream.get_extra_info("server_addr")[1] == int(url.rsplit(":", 1)[1].strip("/"))
            with anyio.fail_after(10):
                await hung_up.wait()
            assert stream.get_extra_info("is_readable") is True
