"""A tool call's upstream requests metered against the simulator: cost, budget, fallback, spans."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import anyio
import pytest

from fw_mcp.errors import FireworksHTTPError, StreamInterrupted
from fw_mcp.fireworks.client import CallOptions, FireworksClient, create_http_client
from fw_mcp.fireworks.stream import Completion
from fw_mcp.fireworks.wire import ChatRequest
from fw_mcp.settings import Settings
from fw_mcp.simulator import SimulatorServer
from fw_mcp.spend.budget import BudgetExceeded, Spend, open_store
from fw_mcp.spend.meter import Meter, Request, estimate_prompt_tokens
from fw_mcp.telemetry import CAPTURE_ENV
from tests.conftest import TEST_KEY, make_settings

PREFIX = "accounts/fireworks/models/"
GPT = PREFIX + "gpt-oss-120b"
DEEPSEEK = PREFIX + "deepseek-v3p1"
MESSAGES = [{"role": "user", "content": "Say hi."}]
USAGE = {
    "prompt_tokens": 1000,
    "completion_tokens": 500,
    "total_tokens": 1500,
    "prompt_tokens_details": {"cached_tokens": 400},
}


@pytest.fixture
async def client(simulator: SimulatorServer) -> AsyncIterator[FireworksClient]:
    settings = make_settings(simulator.base_url)
    async with create_http_client(settings) as http:
        yield FireworksClient(settings, http)


def settings_with(simulator: SimulatorServer, tmp_path: Path, **budget: Any) -> Settings:
    return make_settings(simulator.base_url, budget={"store": str(tmp_path / "usage.db"), **budget})


async def metered(
    settings: Settings,
    client: FireworksClient,
    model: str = GPT,
    fallbacks: list[str] | None = None,
    max_tokens: int = 600,
) -> tuple[Meter, Completion]:
    spend = Spend(settings.budget, settings.prices, open_store(settings.budget))
    meter = Meter(
        spend,
        tool="chat",
        user="alice",
        fallbacks=fallbacks or [],
        base_url=settings.base_url,
        ttl=lambda: 60,
    )

    async def send(chosen: str) -> Completion:
        request = ChatRequest.model_validate(
            {"model": chosen, "messages": MESSAGES, "max_tokens": max_tokens}
        )
        return await client.chat(request, options=CallOptions(api_key=TEST_KEY))

    try:
        with anyio.fail_after(20):
            return meter, await meter.run(Request("chat", model, MESSAGES, max_tokens), send)
    finally:
        await spend.aclose()


async def test_the_cost_uses_the_cached_rate_and_is_recorded(
    simulator: SimulatorServer, client: FireworksClient, tmp_path: Path
) -> None:
    simulator.sim.enqueue({"reply": {"content": "hi", "usage": USAGE}})
    settings = settings_with(simulator, tmp_path)
    meter, _ = await metered(settings, client)
    # 600 uncached * 0.15 + 400 cached * 0.015 + 500 * 0.60, per million tokens
    assert meter.account.cost() == {"usd": 0.000396, "estimated": True, "prices_as_of": "2026-11"}
    assert meter.account.cost_text() == "~$0.000396 (est.)"
    store = open_store(settings.budget)
    assert store is not None
    [row] = await store.rows("2000-01-01")
    await store.aclose()
    assert (row.user, row.model, row.prompt_tokens, row.cached_tokens, row.cost_nanos) == (
        "alice",
        GPT,
        1000,
        400,
        396_000,
    )


async def test_an_unpriced_model_gets_no_cost_and_a_note(
    simulator: SimulatorServer, client: FireworksClient, tmp_path: Path
) -> None:
    meter, _ = await metered(
        settings_with(simulator, tmp_path), client, model=PREFIX + "llama-v3p1-8b-instruct"
    )
    assert meter.account.cost() is None and meter.account.cost_text() is None
    [note] = meter.account.notes()
    assert '[prices."llama-v3p1-8b-instruct"]' in note


async def test_a_call_over_budget_sends_nothing(
    simulator: SimulatorServer, client: FireworksClient, tmp_path: Path
) -> None:
    settings = settings_with(simulator, tmp_path, daily_usd=0.0001)  # 600 output tokens alone cost $0.00036
    with pytest.raises(BudgetExceeded, match=r"daily budget of \$0.0001"):
        await metered(settings, client)
    assert simulator.sim.requests == []


async def test_a_model_that_is_not_deployed_falls_back_to_the_next(
    simulator: SimulatorServer, client: FireworksClient, tmp_path: Path, spans: Any
) -> None:
    simulator.sim.configure(unknown_models=[GPT])
    meter, completion = await metered(settings_with(simulator, tmp_path), client, fallbacks=[DEEPSEEK])
    assert completion.model == DEEPSEEK
    assert meter.account.fallback() == {
        "requested": GPT,
        "answered": DEEPSEEK,
        "reasons": [f"{GPT}: HTTP 404: not deployed or unknown"],
    }
    assert any(f"{DEEPSEEK} answered instead of {GPT}" in n for n in meter.account.notes())
    assert [r["body"]["model"] for r in simulator.sim.requests] == [GPT, DEEPSEEK]
    first, second = spans.get_finished_spans()
    assert first.attributes["error.type"] == "404" and "error.type" not in second.attributes


async def test_load_shedding_falls_back_after_the_retries(
    simulator: SimulatorServer, client: FireworksClient, tmp_path: Path
) -> None:
    simulator.sim.enqueue({"error": "503_overloaded", "match": "gpt-oss-120b", "times": 3})
    meter, completion = await metered(settings_with(simulator, tmp_path), client, fallbacks=[DEEPSEEK])
    assert completion.model == DEEPSEEK
    assert [r["status"] for r in simulator.sim.requests] == [
        503,
        503,
        503,
        200,
    ]  # 2 retries, then the next model
    assert meter.account.fallbacks == [f"{GPT}: HTTP 503: Fireworks is shedding load"]


async def test_a_rate_limit_does_not_fall_back(
    simulator: SimulatorServer, client: FireworksClient, tmp_path: Path
) -> None:
    simulator.sim.enqueue({"error": "429_envelope", "headers": {"retry-after": "0"}, "times": 3})
    with pytest.raises(FireworksHTTPError) as failed:
        await metered(settings_with(simulator, tmp_path, daily_usd=1), client, fallbacks=[DEEPSEEK])
    assert failed.value.status_code == 429
    assert {r["body"]["model"] for r in simulator.sim.requests} == {GPT}


async def test_a_failed_call_releases_its_hold(
    simulator: SimulatorServer, client: FireworksClient, tmp_path: Path
) -> None:
    settings = settings_with(simulator, tmp_path, daily_usd=0.0007)  # room for one hold of ~$0.00036
    simulator.sim.enqueue({"status": 400, "body": {"error": {"message": "bad"}}})
    with pytest.raises(FireworksHTTPError):
        await metered(settings, client)
    await metered(settings, client)  # the failed call's hold is gone
    await metered(settings, client)  # the first cost little, so a second fits under the limit too


async def test_a_broken_stream_is_charged_what_fireworks_counted(
    simulator: SimulatorServer, client: FireworksClient, tmp_path: Path
) -> None:
    simulator.sim.enqueue({"reply": {"content": "one two three four", "usage": USAGE}, "drop_after": 2})
    settings = settings_with(simulator, tmp_path)
    with pytest.raises(StreamInterrupted):
        await metered(settings, client)
    store = open_store(settings.budget)
    assert store is not None
    rows = await store.rows("2000-01-01")
    await store.aclose()
    assert rows == []  # no usage report arrived before the break: nothing counted, the hold released


async def test_the_span_carries_the_genai_attributes_and_no_text_by_default(
    simulator: SimulatorServer, client: FireworksClient, tmp_path: Path, spans: Any
) -> None:
    simulator.sim.enqueue({"reply": {"content": "secret answer", "finish_reason": "stop", "usage": USAGE}})
    await metered(settings_with(simulator, tmp_path), client)
    [span] = spans.get_finished_spans()
    assert span.name == f"chat {GPT}" and span.kind.name == "CLIENT"
    attributes = dict(span.attributes)
    assert attributes == {
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": "fireworks",
        "gen_ai.request.model": GPT,
        "gen_ai.request.max_tokens": 600,
        "server.address": "127.0.0.1",
        "server.port": int(simulator.base_url.split(":")[2].split("/")[0]),
        "gen_ai.response.model": GPT,
        "gen_ai.response.finish_reasons": ("stop",),
        "gen_ai.usage.input_tokens": 1000,
        "gen_ai.usage.output_tokens": 500,
        "gen_ai.usage.cache_read.input_tokens": 400,
        "fw_mcp.cost.usd": 0.000396,
    }
    assert TEST_KEY not in repr(attributes)


async def test_content_capture_puts_the_messages_in_the_span(
    simulator: SimulatorServer,
    client: FireworksClient,
    tmp_path: Path,
    spans: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(CAPTURE_ENV, "true")
    simulator.sim.enqueue({"reply": {"content": "secret answer"}})
    await metered(settings_with(simulator, tmp_path), client)
    [span] = spans.get_finished_spans()
    assert "Say hi." in span.attributes["gen_ai.input.messages"]
    assert "secret answer" in span.attributes["gen_ai.output.messages"]


def test_the_prompt_estimate_is_an_upper_bound_in_bytes_with_images_at_a_set_count() -> None:
    request = Request(
        "chat",
        GPT,
        [
            {"role": "system", "content": "héllo"},
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "abc"},
                    {"type": "image_url", "image_url": {"url": "data:..."}},
                ],
            },
        ],
        None,
        tools=[{"type": "function", "function": {"name": "f"}}],
    )
    tools_bytes = len(b'[{"type": "function", "function": {"name": "f"}}]')
    assert estimate_prompt_tokens(request, 2500) == 16 + 6 + 16 + 3 + 2500 + tools_bytes
