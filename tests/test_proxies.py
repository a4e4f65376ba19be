"""Outgoing proxies: HTTPS_PROXY / HTTP_PROXY / ALL_PROXY / NO_PROXY behave as httpx2 reads them.

A real forwarding proxy (proxy.py, from PyPI) runs on loopback in a child process; the simulator is
plain http, so requests go to it as absolute-URI requests, which is what the proxy logs. Each
failure (dead proxy, unusable URL, 407, a proxy that never answers) must end in an error that names
the variable to fix, within the call's deadline.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
import mcp
import pytest

from fw_mcp.errors import ConfigError, DeadlineExceeded, FireworksHTTPError, FireworksTransportError
from fw_mcp.fireworks import CallOptions, FireworksClient, create_http_client
from fw_mcp.fireworks.transport import probe_installed
from fw_mcp.fireworks.wire import ChatRequest, UserMessage, WireResponse
from fw_mcp.server import build_server
from fw_mcp.settings import Settings
from fw_mcp.simulator import SimulatorServer
from tests.conftest import make_settings

PROXY_VARIABLES = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY")
REQUEST = ChatRequest(model="accounts/fireworks/models/deepseek-v3p1", messages=[UserMessage(content="hi")])


@dataclass
class Proxy:
    url: str
    log: Path

    async def saw(self, path: str) -> bool:
        """Whether the proxy's access log shows `path` (it writes a line once it has relayed the
        answer, in its own time: polled for, within a bound)."""
        with anyio.move_on_after(10):
            while path not in self.log.read_text(errors="replace"):  # noqa: ASYNC110 - a file, no event to wait on
                await anyio.sleep(0.05)
            return True
        return False


def _start_proxy(tmp: Path, *extra: str) -> Iterator[Proxy]:
    port_file, log = tmp / "port", tmp / "proxy.log"
    args = ["--hostname", "127.0.0.1", "--port", "0", "--port-file", str(port_file), "--log-file", str(log)]
    args += ["--num-workers", "1", "--num-acceptors", "1", "--log-level", "INFO", *extra]
    proc = subprocess.Popen(
        [sys.executable, "-m", "proxy", *args],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        give_up = time.monotonic() + 30
        while not (port_file.exists() and port_file.read_text().strip()):  # written once it listens
            if proc.poll() is not None or time.monotonic() > give_up:
                raise RuntimeError(f"proxy.py did not start: {log.read_text(errors='replace')[-2000:]}")
            time.sleep(0.05)
        yield Proxy(f"http://127.0.0.1:{port_file.read_text().strip()}", log)
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@pytest.fixture(scope="module")
def forward_proxy(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Proxy]:
    yield from _start_proxy(tmp_path_factory.mktemp("proxy"))


@pytest.fixture(scope="module")
def auth_proxy(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Proxy]:
    yield from _start_proxy(tmp_path_factory.mktemp("auth-proxy"), "--basic-auth", "alice:s3cret")


@pytest.fixture(autouse=True)
def no_proxy_from_the_shell(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)


def dead_address() -> str:
    """A loopback port nothing listens on (bound, then closed)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{sock.getsockname()[1]}"


@asynccontextmanager
async def client(settings: Settings) -> AsyncIterator[FireworksClient]:
    async with create_http_client(settings) as http:
        yield FireworksClient(settings, http)


async def test_calls_go_through_the_proxy_named_in_the_environment(
    simulator: SimulatorServer, forward_proxy: Proxy, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HTTP_PROXY", forward_proxy.url)
    async with client(make_settings(simulator.base_url)) as fireworks:
        done = await fireworks.chat(REQUEST)
        models = await fireworks.list_models()
    assert done.text.startswith("Simulated answer") and models
    port = simulator.base_url.split(":")[2].split("/")[0]
    assert await forward_proxy.saw(f"{port}/inference/v1/chat/completions"), (
        "the chat call went through the proxy"
    )


async def test_the_control_plane_host_goes_through_the_proxy_too(
    simulator: SimulatorServer, forward_proxy: Proxy, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ALL_PROXY", forward_proxy.url)
    async with client(make_settings(simulator.base_url, retries={"max_retries": 0})) as fireworks:
        with pytest.raises(
            FireworksHTTPError
        ):  # the simulator has no control plane: a 404, through the proxy
            await fireworks.control_plane("GET", "accounts/acct/datasets/proxy-check", WireResponse)
    assert await forward_proxy.saw("/v1/accounts/acct/datasets/proxy-check")


async def test_no_proxy_bypasses_the_proxy(
    simulator: SimulatorServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HTTP_PROXY", dead_address())
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    settings = make_settings(simulator.base_url)
    async with client(settings) as fireworks:
        done = await fireworks.chat(REQUEST)
    assert done.text.startswith("Simulated answer")


async def test_a_dead_proxy_is_an_error_naming_the_setting(
    simulator: SimulatorServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    proxy = dead_address()
    monkeypatch.setenv("HTTP_PROXY", proxy)
    async with client(make_settings(simulator.base_url)) as fireworks:
        with anyio.fail_after(20), pytest.raises(FireworksTransportError) as caught:
            await fireworks.chat(REQUEST)
    message = str(caught.value)
    assert f"could not connect to the proxy {proxy}" in message and "Check HTTP_PROXY" in message
    assert "NO_PROXY" in message and simulator.sim.requests == []


async def test_a_proxy_that_asks_for_credentials_is_an_error_naming_the_setting(
    simulator: SimulatorServer, auth_proxy: Proxy, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HTTP_PROXY", auth_proxy.url)
    async with client(make_settings(simulator.base_url)) as fireworks:
        with pytest.raises(FireworksTransportError) as caught:
            await fireworks.chat(REQUEST)
    assert "407" in str(caught.value) and "HTTP_PROXY" in str(caught.value)
    assert caught.value.attempts == 1, "a proxy that wants credentials is asked once"
    monkeypatch.setenv("HTTP_PROXY", auth_proxy.url.replace("http://", "http://alice:s3cret@"))
    async with client(make_settings(simulator.base_url)) as fireworks:
        assert (await fireworks.chat(REQUEST)).text.startswith("Simulated answer")


@pytest.mark.parametrize("value", ["ftp://proxy.example:21", "http://proxy.example:notaport"])
def test_an_unusable_proxy_url_is_a_config_error_naming_the_setting(
    value: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HTTPS_PROXY", value)
    with pytest.raises(ConfigError, match="HTTPS_PROXY"):
        create_http_client(make_settings("https://api.fireworks.example/inference/v1"))


async def test_an_unusable_proxy_url_reaches_the_host_as_a_clean_tool_error(
    simulator: SimulatorServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HTTP_PROXY", "ftp://proxy.example:21")
    async with mcp.Client(build_server(make_settings(simulator.base_url))) as host:
        with anyio.fail_after(20):
            result = await host.call_tool("chat", {"prompt": "hi"})
    text = "\n".join(b.text for b in result.content if b.type == "text")
    assert result.is_error and "HTTP_PROXY" in text and "Traceback" not in text


async def test_a_proxy_that_never_answers_cannot_hold_a_call_past_its_deadline(
    simulator: SimulatorServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    with socket.socket() as silent:  # accepts connections (the kernel's backlog) and never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{silent.getsockname()[1]}")
        settings = make_settings(simulator.base_url, timeouts={"read": 30, "total": 1})
        async with client(settings) as fireworks:
            deadline = anyio.current_time() + settings.timeouts.total
            with anyio.fail_after(10), pytest.raises(DeadlineExceeded):
                await fireworks.chat(REQUEST, options=CallOptions(deadline=deadline))


async def test_the_cheap_probe_is_on_the_direct_transport_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """httpx2 builds the transports (so its proxy rules apply); only the direct one gets the probe.
    Fails loudly if httpx2 stops building its own mounts or httpcore2 renames the pool's backend."""
    monkeypatch.setenv("HTTPS_PROXY", "http://127.0.0.1:3128")
    monkeypatch.setenv("NO_PROXY", "internal.example")
    async with create_http_client(make_settings("https://api.fireworks.example/inference/v1")) as http:
        direct: Any = http._transport_for_url(http.base_url.copy_with(host="internal.example"))
        proxied: Any = http._transport_for_url(http.base_url)
    assert direct is not proxied
    assert probe_installed(direct), "the direct transport has the cheap idle probe"
    assert not probe_installed(proxied), "the proxy transport is httpx2's own"
    assert type(proxied._pool).__name__ == "AsyncHTTPProxy"
