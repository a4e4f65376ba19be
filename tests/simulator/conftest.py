"""One simulator per module, reset around each test, and a keyed raw HTTP client for it."""

from __future__ import annotations

import ssl
from collections.abc import AsyncIterator, Iterator

import httpx2
import pytest

from fw_mcp.simulator import Simulator, SimulatorServer

KEY = "fw-test-key"
# One TLS context for every client: building one per client costs ~0.1 s, and all traffic is
# plain HTTP on loopback anyway.
TLS = ssl.create_default_context()


@pytest.fixture(scope="module")
def server() -> Iterator[SimulatorServer]:
    with SimulatorServer() as srv:
        yield srv


@pytest.fixture(autouse=True)
def fresh(server: SimulatorServer) -> Iterator[Simulator]:
    server.sim.reset()
    yield server.sim
    server.sim.reset()


@pytest.fixture
async def client(server: SimulatorServer) -> AsyncIterator[httpx2.AsyncClient]:
    headers = {"authorization": f"Bearer {KEY}"}
    async with httpx2.AsyncClient(verify=TLS, base_url=server.base_url, headers=headers, timeout=10) as c:
        yield c
