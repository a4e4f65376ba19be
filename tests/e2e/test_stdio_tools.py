"""End to end over stdio: `python -m fw_mcp` spawned by the official client, against the simulator."""

from __future__ import annotations

import base64
import io
import json
from pathlib import Path

import jsonschema
import pytest
from PIL import Image

from fw_mcp.registry import TOOLS as REGISTRY
from fw_mcp.simulator import SimulatorServer
from tests.conftest import TEST_KEY
from tests.e2e.helpers import server_env, stdio_session, texts

TOOLS = {tool.name for tool in REGISTRY}  # the server lists exactly what its registry declares
PERSON = {
    "type": "object",
    "properties": {"name": {"type": "string"}, "age": {"type": "integer", "minimum": 0}},
    "required": ["name", "age"],
}


# (read-only, destructive) for the tools that change something; every other tool only reads.
HINTS = {
    "embed": (False, True),
    "batch_submit": (False, False),
    "batch_results": (False, True),  # output_path writes (and with overwrite replaces) a file
    "batch_cancel": (False, True),
}


@pytest.mark.parametrize("mode", ["auto", "legacy"])
async def test_both_protocol_eras_list_tools_and_chat(simulator: SimulatorServer, mode: str) -> None:
    async with stdio_session(server_env(simulator.base_url), mode=mode) as s:
        listed = (await s.client.list_tools()).tools
        assert {t.name for t in listed} == TOOLS
        for tool in listed:
            assert tool.description and len(tool.description) > 80
            assert tool.annotations and tool.annotations.open_world_hint
            hints = (tool.annotations.read_only_hint, tool.annotations.destructive_hint)
            assert hints == HINTS.get(tool.name, (True, False)), tool.name
            for name, prop in tool.input_schema["properties"].items():
                assert prop.get("description"), f"{tool.name}.{name} has no description"
            assert tool.output_schema is not None
        result = await s.call("chat", {"prompt": "Say hello"})
    assert not result.is_error
    assert result.structured_content["text"].startswith("Simulated")
    assert texts(result)[0] == result.structured_content["text"]


async def test_chat_streams_progress_before_the_result(simulator: SimulatorServer) -> None:
    words = " ".join(f"w{i}" for i in range(40))
    simulator.sim.enqueue({"reply": {"content": words}, "token_delay": 0.02})
    async with stdio_session(server_env(simulator.base_url)) as s:
        result = await s.call("chat", {"prompt": "count", "max_tokens": 500, "model": "kimi"})
        seen = len(s.progress)
        # stdio is ordered: a late notification would arrive before the answer to this next request.
        refused = await s.call("chat", {"prompt": "x", "temperature": 9}, progress=False)
        assert refused.is_error and len(s.progress) == seen
    assert not result.is_error
    assert result.structured_content["text"] == words
    values = [p for p, _, _ in s.progress]
    assert len(values) >= 3, "tokens over ~0.8 s should give several coalesced notifications"
    assert len(values) <= 20, "notifications must be coalesced, not one per token"
    assert values == sorted(set(values)), "progress must strictly increase"
    assert all(total == 500 for _, total, _ in s.progress)
    assert words.endswith(s.progress[-1][2] or "-")
    body = simulator.sim.requests[-1]["body"]
    assert body["model"] == "accounts/fireworks/models/kimi-k2-instruct-0905"
    assert body["stream"] is True and body["max_tokens"] == 500


async def test_chat_sends_only_set_fields_and_keeps_reasoning_apart(simulator: SimulatorServer) -> None:
    async with stdio_session(server_env(simulator.base_url)) as s:
        result = await s.call(
            "chat",
            {
                "messages": [{"role": "user", "content": "What is 2+2?"}],
                "system": "Be brief.",
                "temperature": 0.2,
                "stop": ["END"],
                "reasoning_effort": "low",
                "model": "accounts/fireworks/models/deepseek-r1-0528",
            },
        )
    body = simulator.sim.requests[-1]["body"]
    assert body["messages"][0] == {"role": "system", "content": "Be brief."}
    assert body["temperature"] == 0.2 and body["stop"] == ["END"] and body["reasoning_effort"] == "low"
    assert "top_p" not in body and "top_k" not in body
    data = result.structured_content
    assert data["reasoning"] and data["reasoning"] not in data["text"]
    assert any(t.startswith("Reasoning:") for t in texts(result))
    assert set(data["usage"]) == {"prompt_tokens", "completion_tokens", "total_tokens", "cached_tokens"}


async def test_extract_json_sends_the_schema_as_given_and_validates(simulator: SimulatorServer) -> None:
    async with stdio_session(server_env(simulator.base_url)) as s:
        result = await s.call("extract_json", {"text": "John is 30.", "schema": PERSON})
    assert not result.is_error, texts(result)
    fmt = simulator.sim.requests[-1]["body"]["response_format"]
    assert fmt["type"] == "json_schema" and fmt["json_schema"]["schema"] == PERSON
    data = result.structured_content["data"]
    jsonschema.validate(data, PERSON)
    assert json.loads(texts(result)[0]) == data
    assert result.structured_content["repaired"] is False


async def test_extract_json_repairs_once_then_reports(simulator: SimulatorServer) -> None:
    simulator.sim.enqueue({"reply": {"content": '{"name": "John", "age": "thirty"}'}})
    async with stdio_session(server_env(simulator.base_url)) as s:
        fixed = await s.call("extract_json", {"text": "John is 30.", "schema": PERSON})
        assert fixed.structured_content["repaired"] is True
        second = simulator.sim.requests[-1]["body"]["messages"]
        assert second[-2]["role"] == "assistant" and "age" in second[-1]["content"]

        simulator.sim.enqueue({"reply": {"content": "not json"}, "times": 2})
        failed = await s.call("extract_json", {"text": "John is 30.", "schema": PERSON})
    assert failed.is_error
    assert "not valid JSON" in texts(failed)[0] and "repair" in texts(failed)[0]


async def test_extract_json_names_length_as_the_cause(simulator: SimulatorServer) -> None:
    simulator.sim.enqueue({"reply": {"content": '{"name": "Jo', "finish_reason": "length"}})
    async with stdio_session(server_env(simulator.base_url)) as s:
        result = await s.call("extract_json", {"text": "John is 30.", "schema": PERSON, "max_tokens": 4})
    assert result.is_error and "max_tokens" in texts(result)[0]
    assert len(simulator.sim.requests) == 1, "a cut answer is not 'repaired' with the same budget"


def _png(path: Path, size: tuple[int, int] = (64, 48)) -> bytes:
    Image.new("RGB", size, (200, 30, 30)).save(path, format="PNG")
    return path.read_bytes()


async def test_describe_image_reads_allowed_files_and_passes_urls(
    simulator: SimulatorServer, tmp_path: Path
) -> None:
    raw = _png(tmp_path / "red.png")
    env = server_env(simulator.base_url, FW_MCP_ALLOWED_DIRS=str(tmp_path))
    async with stdio_session(env) as s:
        result = await s.call(
            "describe_image", {"images": [str(tmp_path / "red.png"), "https://example.com/cat.jpg"]}
        )
        refused = await s.call("describe_image", {"image": "/etc/passwd"})
    assert not result.is_error, texts(result)
    parts = simulator.sim.requests[-1]["body"]["messages"][0]["content"]
    assert [p["type"] for p in parts] == ["image_url", "image_url", "text"]
    data_uri = parts[0]["image_url"]["url"]
    assert data_uri.startswith("data:image/png;base64,")
    assert base64.b64decode(data_uri.split(",", 1)[1]) == raw
    assert parts[1]["image_url"]["url"] == "https://example.com/cat.jpg"
    assert simulator.sim.requests[-1]["body"]["model"].endswith("qwen2p5-vl-32b-instruct")
    assert refused.is_error and "FW_MCP_ALLOWED_DIRS" in texts(refused)[0]
    assert len(simulator.sim.requests) == 1, "a refused image sends nothing upstream"


async def test_describe_image_converts_webp(simulator: SimulatorServer, tmp_path: Path) -> None:
    Image.new("RGB", (20, 10), (0, 0, 255)).save(tmp_path / "a.webp", format="WEBP")
    async with stdio_session(server_env(simulator.base_url, FW_MCP_ALLOWED_DIRS=str(tmp_path))) as s:
        result = await s.call("describe_image", {"image": str(tmp_path / "a.webp"), "prompt": "Colour?"})
    assert not result.is_error, texts(result)
    url = simulator.sim.requests[-1]["body"]["messages"][0]["content"][0]["image_url"]["url"]
    assert url.startswith("data:image/png;base64,")
    assert Image.open(io.BytesIO(base64.b64decode(url.split(",", 1)[1]))).size == (20, 10)


WEATHER = {
    "name": "get_weather",
    "description": "Current weather for a city",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
}


async def test_call_with_tools_returns_parsed_and_checked_calls(simulator: SimulatorServer) -> None:
    long_form = {"type": "function", "function": {"name": "get_time", "parameters": {"type": "object"}}}
    async with stdio_session(server_env(simulator.base_url)) as s:
        result = await s.call(
            "call_with_tools",
            {"prompt": "Weather in Paris?", "tools": [WEATHER, long_form], "tool_choice": "get_weather"},
        )
        simulator.sim.enqueue(
            {"reply": {"tool_calls": [{"name": "get_weather", "arguments": '{"town": 1}'}]}}
        )
        mismatch = await s.call("call_with_tools", {"prompt": "Weather?", "tools": [WEATHER]})
    assert not result.is_error, texts(result)
    body = simulator.sim.requests[0]["body"]
    assert body["tool_choice"] == {"type": "function", "function": {"name": "get_weather"}}
    assert [t["function"]["name"] for t in body["tools"]] == ["get_weather", "get_time"]
    assert body["model"].endswith("kimi-k2-instruct-0905")
    (call,) = result.structured_content["tool_calls"]
    assert call["name"] == "get_weather" and isinstance(call["arguments"], dict) and "error" not in call
    jsonschema.validate(call["arguments"], WEATHER["parameters"])
    assert result.structured_content["finish_reason"] == "tool_calls"
    assert "get_weather(" in texts(result)[0]
    (bad,) = mismatch.structured_content["tool_calls"]
    assert "city" in bad["error"] and "city" in texts(mismatch)[0]


async def test_tool_results_go_back_in_messages(simulator: SimulatorServer) -> None:
    messages = [
        {"role": "user", "content": "Weather in Paris?"},
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": "call_1",
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": {"city": "Paris"}},
                }
            ],
        },
        {"role": "tool", "tool_call_id": "call_1", "content": "18 C, sunny"},
    ]
    async with stdio_session(server_env(simulator.base_url)) as s:
        result = await s.call("call_with_tools", {"messages": messages, "tools": [WEATHER]})
    assert not result.is_error, texts(result)
    sent = simulator.sim.requests[-1]["body"]["messages"]
    assert sent[1]["tool_calls"][0]["function"]["arguments"] == '{"city": "Paris"}'
    assert sent[2] == {"role": "tool", "content": "18 C, sunny", "tool_call_id": "call_1"}
    assert result.structured_content["tool_calls"] == []


async def test_without_a_key_the_server_starts_and_every_call_says_how_to_set_it(
    simulator: SimulatorServer,
) -> None:
    async with stdio_session(server_env(simulator.base_url, key=None)) as s:
        assert len((await s.client.list_tools()).tools) == len(TOOLS)
        for tool, args in [
            ("chat", {"prompt": "hi"}),
            ("extract_json", {"text": "x", "schema": PERSON}),
            ("describe_image", {"image": "https://example.com/a.png"}),
            ("call_with_tools", {"prompt": "x", "tools": [WEATHER]}),
        ]:
            result = await s.call(tool, args)
            assert result.is_error and "FIREWORKS_API_KEY" in texts(result)[0], tool
    assert simulator.sim.requests == []


REFUSALS: list[tuple[str, dict[str, object], str]] = [
    ("chat", {"prompt": "a", "messages": [{"role": "user", "content": "b"}]}, "prompt"),
    ("chat", {"prompt": "a", "temperature": 3}, "temperature"),
    ("chat", {"prompt": "a", "stop": ["1", "2", "3", "4", "5"]}, "stop"),
    (
        "chat",
        {"messages": [{"role": "tool", "content": "r", "tool_call_id": "x"}]},
        "messages[0].tool_call_id",
    ),
    ("chat", {"messages": [{"role": "robot", "content": "r"}]}, "messages[0].role"),
    ("chat", {"prompt": "a", "model": "bad model"}, "model"),
    ("extract_json", {"text": "x", "schema": {"type": "nonsense"}}, "schema"),
    ("extract_json", {"text": "x", "schema": {"$ref": "https://evil.example/s.json"}}, "schema"),
    ("extract_json", {"text": "x", "schema": {"$ref": "#/$defs/missing"}}, "schema"),
    ("call_with_tools", {"prompt": "x", "tools": [{"name": "bad name!"}]}, "tools[0].name"),
    ("call_with_tools", {"prompt": "x", "tools": [WEATHER], "tool_choice": "nope"}, "tool_choice"),
    ("call_with_tools", {"prompt": "x", "tools": [WEATHER, WEATHER]}, "tools[1].name"),
    ("call_with_tools", {"prompt": "x", "tools": []}, "tools"),
    (
        "call_with_tools",
        {"prompt": "x", "tools": [{"name": "f", "parameters": {"type": "string"}}]},
        "tools[0].parameters",
    ),
    ("describe_image", {"image": "file:///etc/passwd"}, "image"),
    ("describe_image", {"images": ["https://example.com/a.png"] * 31}, "images"),
]


async def test_bad_arguments_are_refused_by_name_before_upstream(simulator: SimulatorServer) -> None:
    async with stdio_session(server_env(simulator.base_url)) as s:
        for tool, arguments, argument in REFUSALS:
            result = await s.call(tool, arguments)
            message = texts(result)[0]
            assert result.is_error, (tool, arguments)
            assert f"`{argument}`" in message, message
            assert "Traceback" not in message and "pydantic" not in message
    assert simulator.sim.requests == []


async def test_text_that_looks_like_json_stays_text(simulator: SimulatorServer) -> None:
    async with stdio_session(server_env(simulator.base_url)) as s:
        for prompt in ['{"a": 1}', "null", "[1, 2]", "42"]:
            result = await s.call("chat", {"prompt": prompt})
            assert not result.is_error, texts(result)
            assert simulator.sim.requests[-1]["body"]["messages"][-1]["content"] == prompt


async def test_fireworks_errors_reach_the_model_with_advice_and_no_key(simulator: SimulatorServer) -> None:
    echo = {"error": {"object": "error", "type": "invalid_request_error", "message": f"bad key {TEST_KEY}"}}
    simulator.sim.enqueue({"status": 401, "body": echo})
    async with stdio_session(server_env(simulator.base_url)) as s:
        unauthorized = await s.call("chat", {"prompt": "hi"})
        simulator.sim.enqueue({"error": "404_model"})
        missing = await s.call("chat", {"prompt": "hi", "model": "no-such-model"})
        stderr = s.stderr()
    assert unauthorized.is_error and "FIREWORKS_API_KEY" in texts(unauthorized)[0]
    assert missing.is_error and "model" in texts(missing)[0] and "deployed" in texts(missing)[0]
    everything = json.dumps([unauthorized.model_dump(), missing.model_dump()]) + stderr
    assert TEST_KEY not in everything
    assert "[redacted]" in texts(unauthorized)[0]
