"""The transport under the pooled client: httpx2's own, with a cheap idle-connection probe.

Every time a request is queued or a response closed, httpcore2's pool asks each idle kept-alive
connection whether the server has hung up (`get_extra_info("is_readable")`). Through httpcore2's
anyio stream that question rebuilds anyio's socket attribute table each time (a `getpeername`
system call and enum conversions) before the one `poll` that answers it. With dozens of idle
connections and hundreds of calls in flight that was ~15% of the server's CPU. The stream here
finds its socket once and asks only the `poll`; everything else is httpcore2's, unchanged.
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

__all__ = ["pooled_transport"]

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
    """httpx2's default transport (TLS verification, env certificates) with the cheap probe.

    httpx2 takes no network backend, so the pool's is set after construction; should a future
    httpcore2 rename that attribute, the transport stays httpx2's stock one (slower, still correct).
    """
    transport = httpx2.AsyncHTTPTransport(limits=limits)
    pool = getattr(transport, "_pool", None)
    if isinstance(pool, httpcore2.AsyncConnectionPool) and hasattr(pool, "_network_backend"):
        pool._network_backend = _ProbedBackend()
    else:  # pragma: no cover - only with an httpcore2 this code was not written for
        logger.debug("httpcore2's pool has no _network_backend; using its stock idle-connection probe")
    return transport
