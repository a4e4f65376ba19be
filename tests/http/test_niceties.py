"""What a person or a mistaken client meets over HTTP: `GET /`, explained refusals, a busy port."""

from __future__ import annotations

import json
import socket
import subprocess
import sys

import httpx2
import pytest

from fw_mcp.simulator import SimulatorServer
from tests.http.helpers import INITIALIZE, JSON_AND_SSE, ROOT, http_server, server_env

TOOLS_LIST = {"jsonrpc": "2.0", "id": 2, "method": "tools/list"}


def test_root_says_this_is_an_mcp_endpoint_and_how_to_connect(simulator: SimulatorServer) -> None:
    with http_server(server_env(simulator.base_url)) as server:
        answer = httpx2.get(server.root + "/", timeout=5)
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/plain")
    assert (
        f"connect to {server.url}" in answer.text
        and "Accept: application/json, text/event-stream" in answer.text
    )


@pytest.mark.parametrize(
    ("method", "headers", "body", "status", "advice"),
    [
        (
            "POST",
            {"Accept": "application/json", "Content-Type": "application/json"},
            INITIALIZE,
            406,
            "Accept:",
        ),
        ("POST", {"Accept": JSON_AND_SSE}, INITIALIZE, 400, "Content-Type: application/json"),
        ("PUT", {}, None, 405, "POST JSON-RPC to this URL"),
        (
            "POST",
            {"Accept": JSON_AND_SSE, "Content-Type": "application/json"},
            TOOLS_LIST,
            400,
            "Mcp-Session-Id",
        ),
        (
            "POST",
            {"Accept": JSON_AND_SSE, "Content-Type": "application/json", "Mcp-Session-Id": "gone"},
            TOOLS_LIST,
            404,
            "send `initialize` again",
        ),
    ],
)
def test_every_refusal_on_mcp_says_what_to_send(
    simulator: SimulatorServer, method: str, headers: dict[str, str], body: object, status: int, advice: str
) -> None:
    with http_server(server_env(simulator.base_url)) as server:
        content = json.dumps(body) if body is not None else None
        answer = httpx2.request(method, server.url, headers=headers, content=content, timeout=5)
    assert answer.status_code == status
    error = answer.json()["error"]
    assert answer.json()["jsonrpc"] == "2.0" and advice in error["message"]


def test_a_busy_port_says_which_option_changes_it(simulator: SimulatorServer) -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        done = subprocess.run(
            [sys.executable, "-m", "fw_mcp", "--transport", "http", "--port", str(port)],
            env=server_env(simulator.base_url),
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    assert done.returncode == 2
    assert (
        f"127.0.0.1:{port}: the port is in use" in done.stderr and "--port 0 picks a free one" in done.stderr
    )
    assert "Traceback" not in done.stderr
