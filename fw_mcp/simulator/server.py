"""Run the simulator under uvicorn on loopback, in a background thread with its own event loop.

Tests of step-by-step streaming need a real socket (``httpx2.ASGITransport`` buffers whole
responses), and benchmarks need many concurrent streams: uvicorn on a socket bound here (so port
0 picks a free port before the server starts) provides both.
"""

from __future__ import annotations

import asyncio
import socket
import threading
from types import TracebackType
from typing import Any

import uvicorn

from .app import API_BASE, SimulatorApp, create_app
from .state import Simulator

START_TIMEOUT = 10.0
BACKLOG = 2048


def bind_socket(host: str, port: int) -> socket.socket:
    """A listening TCP socket; binding here means the port is known before uvicorn starts."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP, not 0: asyncio sets TCP_NODELAY only on sockets whose protocol says TCP. Without
    # it, every response on a kept-alive connection waits ~40 ms for the client's delayed ACK.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(BACKLOG)
    sock.setblocking(False)
    return sock


def uvicorn_config(app: SimulatorApp, log_level: str = "warning") -> uvicorn.Config:
    """Quiet, lean settings: no access log, no lifespan, no websocket support."""
    return uvicorn.Config(
        app,
        log_level=log_level,
        access_log=False,
        lifespan="off",
        ws="none",
        backlog=BACKLOG,
        timeout_graceful_shutdown=1,
    )


class _Server(uvicorn.Server):
    """A uvicorn server that reports when it is ready, for a caller on another thread."""

    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        self.ready = threading.Event()

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        self.ready.set()


class SimulatorServer:
    """The simulator on ``http://host:port``, started by ``start()`` or a ``with`` block."""

    def __init__(
        self, host: str = "127.0.0.1", port: int = 0, *, sim: Simulator | None = None, **config: Any
    ):
        self.sim = sim if sim is not None else Simulator(**config)
        if sim is not None and config:
            sim.configure(**config)
        self.app = create_app(self.sim)
        self.host, self.port = host, port
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def root_url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    @property
    def base_url(self) -> str:
        """What a client uses as its Fireworks base URL."""
        return self.root_url + API_BASE

    def start(self) -> SimulatorServer:
        """Bind, start uvicorn in a daemon thread and wait until it accepts connections.

        Raises:
            RuntimeError: when the server is already running or does not come up in time.
            OSError: when the address cannot be bound.
        """
        if self._thread is not None:
            raise RuntimeError("the simulator server is already running")
        sock = bind_socket(self.host, self.port)
        self.port = sock.getsockname()[1]
        self._server = _Server(uvicorn_config(self.app))
        self._thread = threading.Thread(
            target=self._run, args=(self._server, sock), name=f"fw-mcp-simulator:{self.port}", daemon=True
        )
        self._thread.start()
        if not self._server.ready.wait(START_TIMEOUT):
            self.stop()
            raise RuntimeError(f"the simulator did not start within {START_TIMEOUT}s")
        return self

    @staticmethod
    def _run(server: _Server, sock: socket.socket) -> None:
        try:
            asyncio.run(server.serve(sockets=[sock]))
        finally:
            sock.close()

    def stop(self) -> None:
        """Stop at once: open streams are cut, as when a real server goes away."""
        if self._server is not None:
            self._server.should_exit = True
            self._server.force_exit = True
        if self._thread is not None:
            self._thread.join(timeout=START_TIMEOUT)
        self._server, self._thread = None, None

    def __enter__(self) -> SimulatorServer:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
