"""The event-loop setting: uvloop where installed unless configured otherwise, end to end."""

from __future__ import annotations

import importlib.util
import sys

import pytest

from fw_mcp import eventloop
from fw_mcp.errors import ConfigError
from fw_mcp.settings import load_settings
from tests.conftest import make_settings
from tests.e2e.helpers import server_env, stdio_session

HAVE_UVLOOP = importlib.util.find_spec("uvloop") is not None


def test_auto_means_uvloop_when_installed_and_asyncio_forces_the_standard_loop() -> None:
    auto = make_settings("http://127.0.0.1:9/inference/v1")
    assert auto.server.event_loop == "auto"
    assert eventloop.uses_uvloop(auto) is HAVE_UVLOOP
    assert eventloop.uvicorn_loop(auto) == ("uvloop" if HAVE_UVLOOP else "asyncio")
    forced = make_settings("http://127.0.0.1:9/inference/v1", server={"event_loop": "asyncio"})
    assert eventloop.anyio_backend_options(forced) == {} and eventloop.uvicorn_loop(forced) == "asyncio"


def test_asking_for_uvloop_without_it_is_refused_with_the_fix(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "uvloop", None)  # what `import uvloop` sees where it is not installed
    settings = make_settings("http://127.0.0.1:9/inference/v1", server={"event_loop": "uvloop"})
    with pytest.raises(ConfigError, match="pip install uvloop"):
        eventloop.anyio_backend_options(settings)
    auto = make_settings("http://127.0.0.1:9/inference/v1")
    assert eventloop.anyio_backend_options(auto) == {}, "auto falls back to asyncio quietly"


def test_the_env_var_sets_it_and_a_typo_names_the_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FW_MCP_EVENT_LOOP", "asyncio")
    assert load_settings().server.event_loop == "asyncio"
    monkeypatch.setenv("FW_MCP_EVENT_LOOP", "uv-loop")
    with pytest.raises(ConfigError, match=r"server\.event_loop"):
        load_settings()


@pytest.mark.parametrize("choice", ["auto", "asyncio"])
async def test_the_stdio_server_runs_on_the_chosen_loop(simulator, choice: str) -> None:  # type: ignore[no-untyped-def]
    env = server_env(simulator.base_url, FW_MCP_EVENT_LOOP=choice, FW_MCP_LOG_LEVEL="DEBUG")
    async with stdio_session(env) as s:
        result = await s.call("chat", {"prompt": "hello"})
        assert not result.is_error
    expected = "uvloop" if choice == "auto" and HAVE_UVLOOP else "asyncio"
    assert f"Serving over stdio on the {expected} event loop." in s.stderr()
