"""Spend through the tools, as a host sees it: cost in results, budgets, cache keys, fallback, spans."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import anyio
import mcp
import pytest
from mcp.types import CallToolResult

from fw_mcp.simulator import SimulatorServer
from tests.spend.helpers import connect, settings_for

PREFIX = "accounts/fireworks/models/"
USAGE = {
    "prompt_tokens": 1000,
    "completion_tokens": 500,
    "total_tokens": 1500,
    "prompt_tokens_details": {"cached_tokens": 400},
}


async def call(client: mcp.Client, tool: str = "chat", **args: Any) -> CallToolResult:
    with anyio.fail_after(30):
        if tool == "chat" and "messages" not in args:
            args = {"prompt": "hi", **args}
        return await client.call_tool(tool, args)


def text(result: CallToolResult) -> str:
    return "\n".join(b.text for b in result.content if b.type == "text")


async def test_a_chat_result_carries_its_cost_in_both_places(
    simulator: SimulatorServer, tmp_path: Path
) -> None:
    simulator.sim.enqueue({"reply": {"content": "hello", "usage": USAGE}})
    async with connect(settings_for(simulator, tmp_path)) as client:
        result = await call(client, model="gpt-oss-120b")
    assert not result.is_error
    assert result.structured_content["cost"] == {
        "usd": 0.000396,
        "estimated": True,
        "prices_as_of": "2026-11",
    }
    footer = text(result).splitlines()[-1]
    assert footer.endswith("· cost: ~$0.000396 (est.)]") and "(400 cached)" in footer


@pytest.mark.parametrize(
    ("tool", "args"),
    [
        (
            "extract_json",
            {"text": "John is 30.", "schema": {"type": "object", "properties": {"name": {"type": "string"}}}},
        ),
        (
            "call_with_tools",
            {"prompt": "Weather?", "tools": [{"name": "get_weather", "parameters": {"type": "object"}}]},
        ),
    ],
)
async def test_every_tool_reports_a_cost(
    simulator: SimulatorServer, tmp_path: Path, tool: str, args: dict[str, Any]
) -> None:
    async with connect(settings_for(simulator, tmp_path, models={tool: "gpt-oss-120b"})) as client:
        result = await call(client, tool, **args)
    assert not result.is_error, text(result)
    assert result.structured_content["cost"]["usd"] > 0
    assert "· cost: ~$" in text(result).splitlines()[-1]


async def test_an_unpriced_model_has_no_cost_and_says_how_to_add_one(
    simulator: SimulatorServer, tmp_path: Path
) -> None:
    async with connect(settings_for(simulator, tmp_path)) as client:
        result = await call(client, model="llama-8b")
    assert "cost" not in result.structured_content
    assert '[prices."llama-v3p1-8b-instruct"]' in text(result) and "cost:" not in text(result)


async def test_over_budget_the_call_is_refused_and_nothing_is_sent(
    simulator: SimulatorServer, tmp_path: Path
) -> None:
    settings = settings_for(simulator, tmp_path, budget={"daily_usd": 0.001})
    async with connect(settings) as client:
        result = await call(client, model="gpt-oss-120b", max_tokens=4000)  # up to $0.0024 of output
    assert result.is_error
    assert "daily budget of $0.001" in text(result) and "resets at" in text(result)
    assert simulator.sim.requests == []


@pytest.mark.parametrize("store", ["sqlite", "redis"])
async def test_budgets_hold_across_fifty_concurrent_calls(
    simulator: SimulatorServer, tmp_path: Path, request: pytest.FixtureRequest, store: str
) -> None:
    # Each call may cost up to 1000 output tokens ($0.0006 at gpt-oss-120b) plus a tiny prompt: 10 fit in $0.0065.
    simulator.sim.configure(latency=0.2)
    where = str(tmp_path / "usage.db") if store == "sqlite" else request.getfixturevalue("fresh_redis")
    settings = settings_for(simulator, tmp_path, budget={"daily_usd": 0.0065, "store": where})
    results: list[CallToolResult] = []
    async with connect(settings) as client:

        async def one() -> None:
            results.append(await call(client, model="gpt-oss-120b", max_tokens=1000))

        async with anyio.create_task_group() as tg:
            for _ in range(50):
                tg.start_soon(one)
    answered = [r for r in results if not r.is_error]
    assert len(answered) == 10 == len(simulator.sim.requests)
    assert all("budget" in text(r) for r in results if r.is_error)


async def test_a_broken_store_refuses_calls_while_a_budget_is_set(
    simulator: SimulatorServer, tmp_path: Path
) -> None:
    (tmp_path / "usage.db").write_bytes(b"not a database" * 100)
    async with connect(settings_for(simulator, tmp_path, budget={"daily_usd": 5})) as client:
        refused = await call(client)
    assert refused.is_error and "corrupt" in text(refused) and 'on_store_error = "refuse"' in text(refused)
    assert simulator.sim.requests == []
    async with connect(settings_for(simulator, tmp_path)) as client:  # no budget: answered, just not counted
        assert not (await call(client)).is_error


async def test_turns_of_one_conversation_share_a_prompt_cache_key(
    simulator: SimulatorServer, tmp_path: Path
) -> None:
    first = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Plan a trip."}]
    later = [*first, {"role": "assistant", "content": "Where to?"}, {"role": "user", "content": "Rome."}]
    other = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Plan a party."}]
    async with connect(settings_for(simulator, tmp_path)) as client:
        for messages in (first, later, other):
            await call(client, messages=messages)
        await call(client, messages=later, cache_key="my-session")
    keys = [r["body"]["prompt_cache_key"] for r in simulator.sim.requests]
    assert keys[0] == keys[1] != keys[2] and keys[3] == "my-session"
    assert all(
        "prompt_cache_isolation_key" not in r["body"] for r in simulator.sim.requests
    )  # stdio: one user


async def test_a_fallback_model_answers_and_the_result_says_why(
    simulator: SimulatorServer, tmp_path: Path
) -> None:
    simulator.sim.configure(unknown_models=[PREFIX + "deepseek-v3p1"])
    settings = settings_for(simulator, tmp_path, fallback={"chat": ["gpt-oss", "qwen3"]})
    async with connect(settings) as client:
        result = await call(client)
    assert not result.is_error
    assert result.structured_content["model"] == PREFIX + "gpt-oss-120b"
    assert result.structured_content["fallback"] == {
        "requested": PREFIX + "deepseek-v3p1",
        "answered": PREFIX + "gpt-oss-120b",
        "reasons": [f"{PREFIX}deepseek-v3p1: HTTP 404: not deployed or unknown"],
    }
    assert "gpt-oss-120b answered instead of accounts/fireworks/models/deepseek-v3p1" in text(result)


async def test_the_fireworks_span_is_a_child_of_the_tools_call_span(
    simulator: SimulatorServer, tmp_path: Path, spans: Any
) -> None:
    simulator.sim.enqueue({"reply": {"content": "hello", "usage": USAGE}})
    async with connect(settings_for(simulator, tmp_path)) as client:
        await call(client, model="gpt-oss-120b")
    finished = {s.name: s for s in spans.get_finished_spans()}
    client_span = finished[f"chat {PREFIX}gpt-oss-120b"]
    tool_span = finished["tools/call chat"]
    assert client_span.parent is not None and client_span.parent.span_id == tool_span.context.span_id
    assert client_span.attributes["gen_ai.usage.cache_read.input_tokens"] == 400
    assert client_span.attributes["fw_mcp.cost.usd"] == 0.000396


async def test_the_span_counts_the_attempts_a_request_took(
    simulator: SimulatorServer, tmp_path: Path, spans: Any
) -> None:
    simulator.sim.enqueue({"error": "503_overloaded", "headers": {"retry-after-ms": "10"}})
    async with connect(settings_for(simulator, tmp_path)) as client:
        assert not (await call(client, model="gpt-oss-120b")).is_error
    [request_span] = [s for s in spans.get_finished_spans() if s.name.startswith("chat ")]
    assert request_span.attributes["fw_mcp.attempts"] == 2


async def test_call_with_tools_takes_a_cache_key_and_keeps_one_per_conversation(
    simulator: SimulatorServer, tmp_path: Path
) -> None:
    tools = [{"name": "get_weather", "parameters": {"type": "object"}}]
    start = [{"role": "user", "content": "Weather in Paris?"}]
    later = [*start, {"role": "assistant", "content": "Checking."}, {"role": "user", "content": "And Rome?"}]
    async with connect(settings_for(simulator, tmp_path)) as client:
        for messages in (start, later):
            assert not (await call(client, "call_with_tools", messages=messages, tools=tools)).is_error
        await call(client, "call_with_tools", messages=later, tools=tools, cache_key="agent-7")
    keys = [r["body"]["prompt_cache_key"] for r in simulator.sim.requests]
    assert keys[0] == keys[1] != keys[2] == "agent-7"
