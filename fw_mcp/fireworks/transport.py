"""The transport under the pooled client: httpx2's own, with a cheap idle-connection probe.

Every time a request is queued or a response closed, httpcore2's pool asks each idle kept-alive
connection whether the server has hung up (`get_extra_info("is_readable")`). Through httpcore2's
anyio stream that question rebuilds anyio's socket attribute table each time (a `getpeername`
system call and enum conversions) before the one `poll` that answers it; under many calls in
flight that was a large share of the server's CPU (bench/README.md). The stream here finds its
socket once and asks only the `poll`; everything else is httpcore2's, unchanged.

Workaround of a private interface: httpcore2's `AsyncConnectionPool` takes a `network_backend`, but
httpx2's `AsyncHTTPTransport` has no parameter to pass one through, so `install_probe` sets the
pool's `_network_backend` after construction. It can go when httpx2 accepts a network backend (or
when httpcore2's anyio stream answers `is_readable` without rebuilding its attributes).
tests/test_transport.py fails loudly if httpcore2 or httpx2 change under it.
"""

# ruff: noqa: ASYNC109  (the `timeout` parameters are httpcore2's stream interface, not ours to change)

from __future__ import annotations

import logging
import select
import ssl
from collections.abc import Iterable
from typing import Any, Protocol

import httpcore2
import httpx2

__all__ = ["install_probe", "pooled_transport", "probe_installed"]

logger = logging.getLogger(__name__)


class _HasFileno(Protocol):
    def fileno(self) -> int: ...


class _ProbedStream(httpcore2.AsyncNetworkStream):
    """Delegates to httpcore2's stream; answers `is_readable` from a socket looked up once."""

    def __init__(self, inner: httpcore2.AsyncNetworkStream) -> None:
        self._inner = inner
        sock = inner.get_extra_info("socket")  # asyncio's TransportSocket, uvloop's, or a socket
        self._socket: _HasFileno | None = sock if callable(getattr(sock, "fileno", None)) else None

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return await self._inner.read(max_bytes, timeout)

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        await self._inner.write(buffer, timeout)

    async def aclose(self) -> None:
        await self._inner.aclose()

    async def start_tls(
        self, ssl_context: ssl.SSLContext, server_hostname: str | None = None, timeout: float | None = None
    ) -> httpcore2.AsyncNetworkStream:
        return _ProbedStream(await self._inner.start_tls(ssl_context, server_hostname, timeout))

    def get_extra_info(self, info: str) -> Any:
        if info == "is_readable" and self._socket is not None:
            return _has_data_or_eof(self._socket)
        return self._inner.get_extra_info(info)


def _has_data_or_eof(sock: _HasFileno) -> bool:
    """What httpcore2 asks of an idle connection: would a read return at once (data, or the server's
    close)? A socket that is already closed counts as readable, so the pool drops it."""
    fd = sock.fileno()
    if fd < 0:
        return True
    if not hasattr(select, "poll"):  # Windows
        return bool(select.select([fd], [], [], 0)[0])
    poller = select.poll()
    poller.register(fd, select.POLLIN)
    return bool(poller.poll(0))


class _ProbedBackend(httpcore2.AsyncNetworkBackend):
    """httpcore2's anyio backend, its streams wrapped in `_ProbedStream`."""

    def __init__(self) -> None:
        self._inner = httpcore2.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore2.AsyncNetworkStream:
        stream = await self._inner.connect_tcp(host, port, timeout, local_address, socket_options)
        return _ProbedStream(stream)

    async def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[Any] | None = None
    ) -> httpcore2.AsyncNetworkStream:
        return _ProbedStream(await self._inner.connect_unix_socket(path, timeout, socket_options))

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


def pooled_transport(limits: httpx2.Limits) -> httpx2.AsyncHTTPTransport:
    """httpx2's default transport (TLS verification, env certificates, no proxy) with the cheap probe."""
    transport = httpx2.AsyncHTTPTransport(limits=limits)
    _probe(transport)
    return transport


def install_probe(client: httpx2.AsyncClient) -> None:
    """Give the client's direct transport (the one used where no proxy applies) the cheap probe.

    Proxied requests keep httpx2's proxy transports untouched. Should httpx2 or httpcore2 rename
    what this reaches into, the client keeps httpx2's stock transport (slower, still correct).
    """
    transport = getattr(client, "_transport", None)
    if isinstance(transport, httpx2.AsyncHTTPTransport):
        _probe(transport)
    else:  # pragma: no cover - only with an httpx2 this code was not written for
        logger.debug("httpx2's client has no _transport; using its stock idle-connection probe")


def probe_installed(transport: httpx2.AsyncBaseTransport) -> bool:
    pool = getattr(transport, "_pool", None)
    return isinstance(getattr(pool, "_network_backend", None), _ProbedBackend)


def _probe(transport: httpx2.AsyncHTTPTransport) -> None:
    pool = getattr(transport, "_pool", None)
    if isinstance(pool, httpcore2.AsyncConnectionPool) and hasattr(pool, "_network_backend"):
        pool._network_backend = _ProbedBackend()
    else:  # pragma: no cover - only with an httpcore2 this code was not written for
        logger.debug("httpcore2's pool has no _network_backend; using its stock idle-connection probe")
