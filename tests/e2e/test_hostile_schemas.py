"""Issue 14, items 1, 2 and 9: hostile schemas, answers and sizes, over stdio as hosts run the server.

Each test makes one attack call and, while it runs, another request (`ping`) must be answered
within a second. What would freeze the event loop (backtracking regexes, exponential `$ref`
chains, quadratic checks) is either linear here or stopped by the validation budget.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from fw_mcp.simulator import SimulatorServer
from tests.e2e.attack import attack_twice, config_file, first_answer_sent, message, ping, ping_during, whole
from tests.e2e.helpers import server_env, stdio_session


def answer(content: str) -> dict[str, Any]:
    return {"reply": {"content": content}}


async def extract(
    simulator: SimulatorServer, schema: dict[str, Any], env: dict[str, str] | None = None
) -> str:
    """extract_json with this schema; the first answer was enqueued by the caller. Returns the message."""
    async with stdio_session({**server_env(simulator.base_url), **(env or {})}, mode="legacy") as s:
        args = {"text": "some text", "schema": schema}
        result = await ping_during(s, "extract_json", args, first_answer_sent(simulator))
    assert result.is_error
    return message(result)


async def test_a_backtracking_pattern_runs_in_linear_time(simulator: SimulatorServer) -> None:
    schema = {"type": "object", "properties": {"s": {"type": "string", "pattern": "^(a+)+$"}}}
    attack_twice(simulator, json.dumps({"s": "a" * 5000 + "!"}))
    text = await extract(simulator, schema)
    assert "does not match '^(a+)+$'" in text and "after a repair round" in text


async def test_an_exponential_ref_chain_is_stopped_by_the_budget(
    simulator: SimulatorServer, tmp_path: Path
) -> None:
    defs: dict[str, Any] = {f"d{i}": {"allOf": [{"$ref": f"#/$defs/d{i + 1}"}] * 2} for i in range(24)}
    defs["d24"] = {"type": "object"}
    schema = {"$defs": defs, "$ref": "#/$defs/d0"}
    assert len(json.dumps(schema)) < 2000, "a small schema, 2**24 paths"
    whole(simulator)
    simulator.sim.enqueue(answer('{"a": 1}'))
    text = await extract(simulator, schema, config_file(tmp_path, limits={"validation_seconds": 3.0}))
    assert "Invalid argument `schema`" in text and "validation budget of 3 s" in text
    assert "`$ref`" in text and "`allOf`" in text, "the message names the schema features that cost"
    assert len(simulator.sim.requests) == 1, "no repair round for a schema that cannot be checked"


async def test_unique_items_over_many_objects_is_linear(simulator: SimulatorServer) -> None:
    items = [{"id": i, "tags": ["x", i]} for i in range(20_000)] + [{"tags": ["x", 7], "id": 7.0}]
    attack_twice(simulator, json.dumps(items, separators=(",", ":")))
    text = await extract(simulator, {"type": "array", "uniqueItems": True, "minItems": 1})
    assert "non-unique elements" in text, "1 == 1.0, so the last object repeats the 8th"


async def test_a_schema_with_a_huge_type_list_is_refused_quickly(simulator: SimulatorServer) -> None:
    async with stdio_session(server_env(simulator.base_url), mode="legacy") as s:
        schema = {"type": ["string", "number"] * 2500}
        result = await s.call("extract_json", {"text": "x", "schema": schema}, progress=False)
        await ping(s)
    assert result.is_error
    assert "Invalid argument `schema`: is not a valid JSON Schema" in message(result)
    assert "(at type)" in message(result)
    assert simulator.sim.requests == [], "nothing went upstream"


async def test_hundreds_of_thousands_of_violations_report_three(simulator: SimulatorServer) -> None:
    attack_twice(simulator, json.dumps([0] * 300_000, separators=(",", ":")))
    text = await extract(simulator, {"type": "array", "items": {"type": "string"}})
    assert text.count("is not of type 'string'") == 3
    assert "at $[0]:" in text and "at $[2]:" in text


async def test_an_unclosed_fence_is_parsed_in_linear_time(simulator: SimulatorServer) -> None:
    whole(simulator)
    simulator.sim.enqueue(
        answer("```json" + "\t" * 200_000 + "{"),
        {"delay": 3.0, **answer('```json\n{"name": "Ada"}\n```')},
    )
    async with stdio_session(server_env(simulator.base_url), mode="legacy") as s:
        args = {"text": "Ada", "schema": {"type": "object", "properties": {"name": {"type": "string"}}}}
        result = await ping_during(s, "extract_json", args, first_answer_sent(simulator))
    assert not result.is_error and result.structured_content is not None
    assert result.structured_content["data"] == {"name": "Ada"} and result.structured_content["repaired"]


async def test_a_deeply_nested_answer_is_a_named_problem(simulator: SimulatorServer) -> None:
    attack_twice(simulator, "[" * 100_000 + "]" * 100_000)
    text = await extract(simulator, {"type": "array"})
    assert "nested more than 100 levels deep ([limits] max_json_depth)" in text
    assert "Answer: [[[[" in text, "the answer text is kept in the error"


async def test_one_deep_tool_call_keeps_the_other_calls(simulator: SimulatorServer) -> None:
    deep = "[" * 100_000 + "]" * 100_000
    calls = [
        {"name": "get_weather", "arguments": {"city": "Paris"}},
        {"name": "get_weather", "arguments": '{"city": ' + deep + "}"},
        {"name": "get_weather", "arguments": {"city": "Rome"}},
    ]
    simulator.sim.enqueue({"reply": {"tool_calls": calls}, "token_delay": 0.3})
    tools = [
        {"name": "get_weather", "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}
    ]
    async with stdio_session(server_env(simulator.base_url), mode="legacy") as s:
        busy = simulator.sim.wait_for_async(lambda rs: bool(rs) and rs[0]["events_sent"] >= 1, timeout=20)
        result = await ping_during(s, "call_with_tools", {"prompt": "weather?", "tools": tools}, lambda: busy)
    assert not result.is_error, message(result)
    assert result.structured_content is not None
    out = result.structured_content["tool_calls"]
    assert [c.get("arguments") for c in (out[0], out[2])] == [{"city": "Paris"}, {"city": "Rome"}]
    assert "error" not in out[0] and "error" not in out[2]
    assert "nested more than 100 levels deep" in out[1]["error"]


async def test_the_input_limit_counts_content_not_roles(simulator: SimulatorServer) -> None:
    simulator.sim.enqueue({"delay": 2.0, "reply": {"content": "read it all"}})
    async with stdio_session(server_env(simulator.base_url), mode="legacy") as s:
        busy = simulator.sim.wait_for_requests_async(1, timeout=20)
        result = await ping_during(s, "chat", {"prompt": "p" * 999_997}, lambda: busy)
    assert not result.is_error, "999,997 characters of prompt are within 1,000,000"


async def test_tool_descriptions_count_and_the_biggest_argument_is_named(simulator: SimulatorServer) -> None:
    tools = [{"name": f"t{i}", "description": "d" * 10_000} for i in range(128)]
    async with stdio_session(server_env(simulator.base_url), mode="legacy") as s:
        result = await s.call("call_with_tools", {"prompt": "hi", "tools": tools}, progress=False)
        await ping(s)
    text = message(result)
    assert result.is_error and "Invalid argument `tools`" in text
    assert "`tools` carries the most (1,285,010)" in text  # names, descriptions, parameters
    assert simulator.sim.requests == [], "nothing went upstream"
