"""Binding beyond loopback: refused without auth (with advice), allowed loudly with --insecure-no-auth."""

from __future__ import annotations

import subprocess
import sys

import httpx2

from fw_mcp.simulator import SimulatorServer
from tests.http.helpers import ALICE, INITIALIZE, ROOT, headers, http_server, server_env


def test_a_non_loopback_bind_without_a_token_refuses_to_start(simulator_server: SimulatorServer) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "fw_mcp", "--transport", "http", "--host", "0.0.0.0", "--port", "0"],
        env=server_env(simulator_server.base_url),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert "Refusing to serve on 0.0.0.0" in done.stderr
    assert "FW_MCP_AUTH_TOKEN" in done.stderr and "--insecure-no-auth" in done.stderr
    assert "Serving MCP" not in done.stderr and "Traceback" not in done.stderr


def test_insecure_no_auth_serves_and_says_so(simulator_server: SimulatorServer) -> None:
    env = server_env(simulator_server.base_url)
    with http_server(env, "--host", "0.0.0.0", "--insecure-no-auth") as server:
        url = server.url.replace("0.0.0.0", "127.0.0.1")
        response = httpx2.post(url, json=INITIALIZE, headers=headers(), timeout=10)
        assert response.status_code == 200
        assert "--insecure-no-auth" in server.stderr() and "ANYONE" in server.stderr()
        assert "allowed_hosts" in server.stderr(), "a wildcard bind says which Host names it accepts"


def test_a_non_loopback_bind_with_a_token_starts(simulator_server: SimulatorServer) -> None:
    env = server_env(
        simulator_server.base_url, FW_MCP_AUTH_TOKEN=ALICE, FW_MCP_ALLOWED_HOSTS="mcp.example.test"
    )
    with http_server(env, "--host", "0.0.0.0") as server:
        url = server.url.replace("0.0.0.0", "127.0.0.1")
        assert httpx2.post(url, json=INITIALIZE, headers=headers(), timeout=10).status_code == 401
        named = httpx2.post(url, json=INITIALIZE, headers=headers(ALICE, Host="mcp.example.test"), timeout=10)
        assert named.status_code == 200, "a configured Host name is accepted"
        assert "ANYONE" not in server.stderr()
