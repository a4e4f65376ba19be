"""Shared fixtures: a clean environment, settings, and the Fireworks simulator on loopback."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from fw_mcp.settings import Settings, load_settings
from tests.http.oauth_issuer import Issuer

if TYPE_CHECKING:
    from fw_mcp.simulator import SimulatorServer

VECTORS = Path(__file__).parent / "vectors"
TEST_KEY = "fw_TESTKEY_0123456789abcdef"


@pytest.fixture(autouse=True)
def clean_environ(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> None:
    """No FIREWORKS_* / FW_MCP_* / OTEL_* from the developer's shell leaks into a test, nor their
    ~/.config/fw-mcp/config.toml (the default config file): XDG_CONFIG_HOME is an empty folder; and no
    test (nor a server it spawns) counts its calls in the developer's own usage ledger (XDG_STATE_HOME)."""
    for name in list(os.environ):
        if name.startswith(("FIREWORKS_", "FW_MCP_", "OTEL_")):
            monkeypatch.delenv(name)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path_factory.getbasetemp() / "no-user-config"))
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path_factory.mktemp("state")))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path_factory.mktemp("cache")))  # batch results cache


@pytest.fixture(scope="session")
def simulator_server() -> Iterator[SimulatorServer]:
    from fw_mcp.simulator import SimulatorServer

    with SimulatorServer() as server:
        yield server


@pytest.fixture
def simulator(simulator_server: SimulatorServer) -> Iterator[SimulatorServer]:
    """The session's simulator, reset before each test so scripts and records don't leak."""
    simulator_server.sim.reset()
    yield simulator_server
    simulator_server.sim.reset()


def make_settings(base_url: str, key: str | None = TEST_KEY, **overrides: Any) -> Settings:
    """Settings pointing at `base_url`, with fast retries unless a test asks otherwise."""
    data: dict[str, Any] = {
        "fireworks": {"base_url": base_url},
        "retries": {"backoff_base": 0.01, "backoff_max": 0.05},
    }
    for section, values in overrides.items():
        data.setdefault(section, {}).update(values)
    data["api_key"] = key
    return load_settings(overrides=data)


@pytest.fixture
def settings(simulator: SimulatorServer) -> Settings:
    return make_settings(simulator.base_url)


# A JSON-RPC initialize request, for tests that speak the wire protocol without a client library.
INITIALIZE = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {
        "protocolVersion": "2025-11-25",
        "capabilities": {},
        "clientInfo": {"name": "t", "version": "1"},
    },
}


@pytest.fixture(scope="module")
def issuer() -> Iterator[Issuer]:
    """An OpenID issuer on loopback, for the OAuth tests (tests/http/oauth_issuer.py)."""
    idp = Issuer()
    idp.thread.start()
    yield idp
    idp.httpd.shutdown()
    idp.httpd.server_close()
