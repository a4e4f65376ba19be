"""The Fireworks simulator, exercised over real loopback HTTP the way clients will use it."""

from __future__ import annotations

import asyncio
import base64
import io
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx2
import jsonschema
import pytest

from fw_mcp.simulator import Simulator, SimulatorServer, create_app
from fw_mcp.simulator.catalogue import MODELS, NON_CHAT
from fw_mcp.simulator.errors import ERROR_VECTORS
from fw_mcp.simulator.schema_gen import instance_for
from tests.simulator.conftest import KEY, TLS

MODEL = "accounts/fireworks/models/deepseek-v3p1"
VECTORS = Path(__file__).parents[1] / "vectors"
# chat_stream_basic.sse from the shared wire vectors, byte for byte (shared/ is not in the repo).
BASIC_SSE = (
    "".join(
        "data: "
        + json.dumps(
            {
                "id": "chatcmpl-7f3a",
                "object": "chat.completion.chunk",
                "created": 1764000000,
                "model": MODEL,
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
                "usage": usage,
            },
            separators=(",", ":"),
        )
        + "\n\n"
        for delta, finish, usage in [
            ({"role": "assistant", "content": ""}, None, None),
            ({"content": "Hello"}, None, None),
            ({"content": " there"}, None, None),
            ({"content": "!"}, None, None),
            (
                {},
                "stop",
                {
                    "prompt_tokens": 12,
                    "completion_tokens": 5,
                    "total_tokens": 17,
                    "prompt_tokens_details": {"cached_tokens": 0},
                },
            ),
        ]
    )
    + "data: [DONE]\n\n"
)


WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Weather for a place",
        "parameters": {
            "type": "object",
            "properties": {"location": {"type": "string"}, "unit": {"enum": ["celsius", "fahrenheit"]}},
            "required": ["location"],
        },
    },
}
TIME_TOOL = {
    "type": "function",
    "function": {
        "name": "get_time",
        "parameters": {"type": "object", "properties": {"tz": {"type": "string"}}, "required": ["tz"]},
    },
}


# -- fixtures and helpers -------------------------------------------------------------------
def chat(text: str = "Hello there, how are you?", **fields: Any) -> dict[str, Any]:
    return {"model": MODEL, "messages": [{"role": "user", "content": text}], **fields}


async def stream_raw(client: httpx2.AsyncClient, body: dict[str, Any]) -> tuple[httpx2.Response, bytes]:
    async with client.stream("POST", "/chat/completions", json={**body, "stream": True}) as response:
        raw = b"".join([part async for part in response.aiter_bytes()])
    return response, raw


def events_of(raw: bytes) -> list[str]:
    """The data payloads of an SSE body; asserts the data-only framing the API uses."""
    assert raw.endswith(b"\n\n")
    blocks = raw.decode().split("\n\n")[:-1]
    assert all(b.startswith("data: ") and "\n" not in b for b in blocks)
    return [b[len("data: ") :] for b in blocks]


async def stream_chunks(client: httpx2.AsyncClient, body: dict[str, Any]) -> list[dict[str, Any]]:
    response, raw = await stream_raw(client, body)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    events = events_of(raw)
    assert events[-1] == "[DONE]"
    for event in events[:-1]:  # compact JSON, as the API sends it
        assert json.dumps(json.loads(event), separators=(",", ":")) == event
    return [json.loads(e) for e in events[:-1]]


def text_of(chunks: list[dict[str, Any]], field: str = "content") -> str:
    return "".join(c["choices"][0]["delta"].get(field) or "" for c in chunks if c["choices"])


def tool_calls_of(chunks: list[dict[str, Any]]) -> dict[int, dict[str, Any]]:
    calls: dict[int, dict[str, Any]] = {}
    for chunk in chunks:
        for frag in chunk["choices"][0]["delta"].get("tool_calls", []) if chunk["choices"] else []:
            call = calls.setdefault(frag["index"], {"arguments": "", "fragments": 0})
            if "id" in frag:
                assert frag["function"]["arguments"] == "" and frag["type"] == "function"
                call.update(id=frag["id"], name=frag["function"]["name"])
            else:
                call["arguments"] += frag["function"]["arguments"]
                call["fragments"] += 1
    return calls


def png_data_uri(width: int = 64, height: int = 48) -> str:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (width, height), "red").save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


def image_message(*urls: str, text: str = "What is this?") -> dict[str, Any]:
    parts: list[dict[str, Any]] = [{"type": "text", "text": text}]
    parts += [{"type": "image_url", "image_url": {"url": u}} for u in urls]
    return {"role": "user", "content": parts}


# -- default answers ------------------------------------------------------------------------
async def test_default_stream_has_the_vector_shape(client: httpx2.AsyncClient) -> None:
    chunks = await stream_chunks(client, chat())
    first, finish = chunks[0], chunks[-1]
    assert first["choices"][0] == {
        "index": 0,
        "delta": {"role": "assistant", "content": ""},
        "finish_reason": None,
    }
    assert first["object"] == "chat.completion.chunk" and first["model"] == MODEL
    assert first["id"].startswith("chatcmpl-") and isinstance(first["created"], int)
    assert all(c["usage"] is None for c in chunks[:-1])
    assert len({c["id"] for c in chunks}) == 1
    assert finish["choices"][0] == {"index": 0, "delta": {}, "finish_reason": "stop"}
    usage = finish["usage"]
    assert usage["completion_tokens"] == len(chunks) - 2
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"]
    assert usage["prompt_tokens"] == len("Hello there, how are you?") // 4
    assert usage["prompt_tokens_details"] == {"cached_tokens": 0}
    assert text_of(chunks) == "Simulated answer from deepseek-v3p1: Hello there, how are you?"


async def test_include_usage_moves_usage_to_an_extra_chunk(client: httpx2.AsyncClient) -> None:
    chunks = await stream_chunks(client, chat(stream_options={"include_usage": True}))
    assert chunks[-2]["choices"][0]["finish_reason"] == "stop" and chunks[-2]["usage"] is None
    assert chunks[-1]["choices"] == [] and chunks[-1]["usage"]["completion_tokens"] == len(chunks) - 3


async def test_non_streamed_answer_matches_the_streamed_one(client: httpx2.AsyncClient) -> None:
    response = await client.post("/chat/completions", json=chat())
    body = response.json()
    assert response.status_code == 200 and body["object"] == "chat.completion"
    assert body["choices"][0]["message"] == {
        "role": "assistant",
        "content": "Simulated answer from deepseek-v3p1: Hello there, how are you?",
    }
    assert body["choices"][0]["finish_reason"] == "stop"
    streamed = await stream_chunks(client, chat())
    assert body["usage"] == streamed[-1]["usage"]
    assert response.headers["fireworks-prompt-tokens"] == str(body["usage"]["prompt_tokens"])


async def test_max_tokens_cuts_the_answer_with_finish_length(client: httpx2.AsyncClient) -> None:
    chunks = await stream_chunks(client, chat(max_tokens=3))
    assert text_of(chunks) == "Simulated answer from"
    assert chunks[-1]["choices"][0]["finish_reason"] == "length"
    assert chunks[-1]["usage"]["completion_tokens"] == 3


async def test_stop_sequence_cuts_before_the_sequence(client: httpx2.AsyncClient) -> None:
    body = (await client.post("/chat/completions", json=chat(stop=["how", "zzz"]))).json()
    assert body["choices"][0]["message"]["content"] == "Simulated answer from deepseek-v3p1: Hello there, "
    assert body["choices"][0]["finish_reason"] == "stop"


async def test_chunk_words_groups_words_per_chunk(client: httpx2.AsyncClient, fresh: Simulator) -> None:
    fresh.configure(chunk_words=3)
    chunks = await stream_chunks(client, chat())
    assert [c["choices"][0]["delta"]["content"] for c in chunks[1:3]] == [
        "Simulated answer from",
        " deepseek-v3p1",
    ]


async def test_parallel_tool_calls_stream_as_fragments(client: httpx2.AsyncClient) -> None:
    body = chat(tools=[WEATHER_TOOL, TIME_TOOL], parallel_tool_calls=True)
    chunks = await stream_chunks(client, body)
    assert chunks[0]["choices"][0]["delta"] == {"role": "assistant", "content": None}
    assert chunks[-1]["choices"][0]["finish_reason"] == "tool_calls"
    calls = tool_calls_of(chunks)
    assert [calls[i]["name"] for i in (0, 1)] == ["get_weather", "get_time"]
    for call, tool in zip(calls.values(), (WEATHER_TOOL, TIME_TOOL), strict=True):
        assert call["id"].startswith("call_") and len(call["id"]) == len("call_") + 8
        assert call["fragments"] >= 2
        jsonschema.validate(json.loads(call["arguments"]), tool["function"]["parameters"])


async def test_named_tool_choice_non_streamed_like_the_vector(client: httpx2.AsyncClient) -> None:
    choice = {"type": "function", "function": {"name": "get_time"}}
    body = (
        await client.post("/chat/completions", json=chat(tools=[WEATHER_TOOL, TIME_TOOL], tool_choice=choice))
    ).json()
    message = body["choices"][0]["message"]
    assert body["choices"][0]["finish_reason"] == "tool_calls" and message["content"] is None
    [call] = message["tool_calls"]
    assert call["type"] == "function" and call["function"]["name"] == "get_time"
    assert json.loads(call["function"]["arguments"]) == {"tz": "example tz"}


async def test_tool_choice_none_answers_with_text(client: httpx2.AsyncClient) -> None:
    body = (
        await client.post("/chat/completions", json=chat(tools=[WEATHER_TOOL], tool_choice="none"))
    ).json()
    assert body["choices"][0]["message"]["content"].startswith("Simulated answer")


async def test_tool_result_gets_a_text_answer_mentioning_it(client: httpx2.AsyncClient) -> None:
    messages = [
        {"role": "user", "content": "Weather in Paris?"},
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": "{}"}}
            ],
        },
        {"role": "tool", "tool_call_id": "call_1", "content": "Sunny, 21 C"},
    ]
    body = {"model": MODEL, "messages": messages, "tools": [WEATHER_TOOL]}
    answer = (await client.post("/chat/completions", json=body)).json()
    assert "Sunny, 21 C" in answer["choices"][0]["message"]["content"]
    assert answer["choices"][0]["finish_reason"] == "stop"


SCHEMAS = [
    {
        "type": "object",
        "properties": {
            "name": {"type": "string", "minLength": 3},
            "age": {"type": "integer", "minimum": 18, "maximum": 99},
            "email": {"type": "string", "format": "email"},
            "born": {"type": "string", "format": "date"},
            "site": {"type": "string", "format": "uri"},
        },
        "required": ["name", "age"],
        "additionalProperties": False,
    },
    {
        "$defs": {
            "node": {
                "type": "object",
                "properties": {"value": {"type": "integer"}, "children": {"type": "array", "items": {"$ref": "#/$defs/node"}}},
                "required": ["value", "children"],
            }
        },
        "$ref": "#/$defs/node",
    },
    {
        "definitions": {"tag": {"type": "string", "enum": ["red", "green", "blue"]}},
        "type": "object",
        "properties": {
            "tags": {"type": "array", "items": {"$ref": "#/definitions/tag"}, "minItems": 2, "uniqueItems": True},
            "matrix": {"type": "array", "items": {"type": "array", "items": {"type": "number"}, "minItems": 2}},
            "status": {"const": "ok"},
        },
        "required": ["tags", "matrix", "status"],
    },
    {
        "type": "object",
        "properties": {
            "result": {"anyOf": [{"type": "null"}, {"type": "object", "properties": {"score": {"type": "number", "exclusiveMinimum": 0, "exclusiveMaximum": 1}}, "required": ["score"]}]},
            "kind": {"oneOf": [{"type": "string", "maxLength": 3}, {"type": "string", "minLength": 5}]},
            "nullable": {"type": ["string", "null"]},
            "both": {"allOf": [{"type": "object", "properties": {"a": {"type": "integer"}}, "required": ["a"]}, {"properties": {"b": {"type": "boolean"}}, "required": ["b"]}]},
            "counts": {"type": "object", "additionalProperties": {"type": "integer", "multipleOf": 5, "minimum": 7}},
        },
        "required": ["result", "kind", "nullable", "both", "counts"],
    },
    {"type": "array", "items": {"type": "object", "properties": {"id": {"type": "string", "format": "uuid"}}, "required": ["id"]}, "minItems": 3},
    {
        "$defs": {"list": {"anyOf": [{"type": "null"}, {"type": "object", "properties": {"head": {"type": "integer"}, "tail": {"$ref": "#/$defs/list"}}, "required": ["head", "tail"]}]}},
        "type": "object",
        "properties": {"items": {"$ref": "#/$defs/list"}},
        "required": ["items"],
    },
]  # fmt: skip


@pytest.mark.parametrize("schema", SCHEMAS)
def test_generated_instances_validate(schema: dict[str, Any]) -> None:
    jsonschema.validate(instance_for(schema), schema)


@pytest.mark.parametrize("schema", SCHEMAS[:4])
async def test_json_schema_answers_validate(client: httpx2.AsyncClient, schema: dict[str, Any]) -> None:
    fmt = {"type": "json_schema", "json_schema": {"name": "Result", "schema": schema}}
    chunks = await stream_chunks(client, chat(response_format=fmt))
    assert len(chunks) > 4  # streamed in pieces, not one blob
    jsonschema.validate(json.loads(text_of(chunks)), schema)


async def test_json_object_answers_with_a_json_object(client: httpx2.AsyncClient) -> None:
    body = (await client.post("/chat/completions", json=chat(response_format={"type": "json_object"}))).json()
    assert isinstance(json.loads(body["choices"][0]["message"]["content"]), dict)


async def test_reasoning_model_streams_reasoning_content_first(client: httpx2.AsyncClient) -> None:
    body = {**chat(), "model": "accounts/fireworks/models/deepseek-r1-0528"}
    chunks = await stream_chunks(client, body)
    kinds = [next(iter(c["choices"][0]["delta"])) for c in chunks[1:-1]]
    assert kinds[0] == "reasoning_content" and kinds[-1] == "content"
    assert kinds == sorted(kinds, key=lambda k: k != "reasoning_content")
    assert text_of(chunks, "reasoning_content").startswith("The user wrote")
    message = (await client.post("/chat/completions", json=body)).json()["choices"][0]["message"]
    assert message["reasoning_content"] == text_of(chunks, "reasoning_content")


async def test_reasoning_effort_turns_reasoning_on(client: httpx2.AsyncClient) -> None:
    low = text_of(await stream_chunks(client, chat(reasoning_effort="low")), "reasoning_content")
    high = text_of(await stream_chunks(client, chat(reasoning_effort="high")), "reasoning_content")
    assert low and len(high) > len(low)
    assert not text_of(await stream_chunks(client, chat()), "reasoning_content")


async def test_qwen3_puts_reasoning_in_think_tags(client: httpx2.AsyncClient) -> None:
    body = {**chat(), "model": "accounts/fireworks/models/qwen3-235b-a22b"}
    chunks = await stream_chunks(client, body)
    assert chunks[1]["choices"][0]["delta"]["content"].startswith("<think>")
    text = text_of(chunks)
    assert text.startswith("<think>The user wrote") and "</think>\n\nSimulated answer" in text
    assert not text_of(await stream_chunks(client, {**body, "reasoning_effort": "none"})).startswith(
        "<think>"
    )
    vl = {**body, "model": "accounts/fireworks/models/qwen3-vl-235b-a22b"}
    assert not text_of(await stream_chunks(client, vl)).startswith("<think>")


async def test_images_are_described_with_format_and_size(client: httpx2.AsyncClient) -> None:
    body = {"model": MODEL, "messages": [image_message(png_data_uri())]}
    answer = (await client.post("/chat/completions", json=body)).json()
    assert answer["choices"][0]["message"]["content"] == "Simulated description of 1 image: PNG 64x48."
    body = {"model": MODEL, "messages": [image_message(png_data_uri(8, 9), "https://example.com/cat.jpg")]}
    content = (await client.post("/chat/completions", json=body)).json()["choices"][0]["message"]["content"]
    assert content.startswith("Simulated description of 2 images: PNG 8x9, remote image")


async def test_models_lists_the_catalogue(client: httpx2.AsyncClient) -> None:
    body = (await client.get("/models")).json()
    assert body["object"] == "list" and len(body["data"]) == len(MODELS) + len(NON_CHAT) >= 14
    by_id = {m["id"]: m for m in body["data"]}
    assert by_id["fireworks/qwen3-embedding-8b"]["supports_chat"] is False
    assert by_id[MODEL]["supports_image_input"] is False and by_id[MODEL]["supports_chat"] is True
    assert by_id["accounts/fireworks/models/qwen2p5-vl-32b-instruct"]["supports_image_input"] is True
    assert all(isinstance(m["context_length"], int) and m["owned_by"] == "fireworks" for m in body["data"])


# -- auth and validation --------------------------------------------------------------------
async def test_missing_key_is_401_with_the_vector_body(server: SimulatorServer) -> None:
    async with httpx2.AsyncClient(verify=TLS, base_url=server.base_url) as bare:
        response = await bare.post("/chat/completions", json=chat())
        empty = await bare.get("/models", headers={"authorization": "Bearer"})
    assert response.status_code == 401 and empty.status_code == 401
    assert response.json() == ERROR_VECTORS["401_invalid_key"]["body"]


async def test_only_configured_keys_are_accepted(client: httpx2.AsyncClient, fresh: Simulator) -> None:
    fresh.configure(api_keys=["other-key"])
    assert (await client.post("/chat/completions", json=chat())).status_code == 401
    fresh.configure(api_keys=["other-key", KEY])
    assert (await client.post("/chat/completions", json=chat())).status_code == 200
    assert [r["api_key"] for r in fresh.requests] == [KEY, KEY]


async def test_unknown_field_is_refused_with_the_exact_message(client: httpx2.AsyncClient) -> None:
    response = await client.post("/chat/completions", json=chat(promptCacheKey="x"))
    assert response.status_code == 400
    assert response.json() == ERROR_VECTORS["400_unknown_field"]["body"]


@pytest.mark.parametrize(
    ("fields", "fragment"),
    [
        ({"stop": ["a", "b", "c", "d", "e"]}, "stop"),
        ({"max_tokens": 5, "max_completion_tokens": 5}, "max_completion_tokens"),
        ({"max_tokens": 0}, "max_tokens"),
        ({"temperature": 2.5}, "temperature"),
        ({"top_p": -0.1}, "top_p"),
        ({"top_k": 101}, "top_k"),
        ({"logprobs": 20}, "logprobs must be between 0 and 5: 20"),
        ({"reasoning_effort": "low", "thinking": {"type": "enabled"}}, "reasoning_effort"),
        ({"reasoning_effort": "extreme"}, "reasoning_effort"),
        ({"messages": []}, "messages"),
        ({"messages": [{"role": "robot", "content": "hi"}]}, "role"),
        ({"messages": [{"role": "tool", "content": "42"}]}, "tool_call_id"),
        ({"messages": [{"role": "user", "content": [{"type": "audio"}]}]}, "content[0]"),
        ({"tools": [{"type": "function", "function": {"name": "bad name!"}}]}, "name"),
        (
            {"tools": [WEATHER_TOOL], "tool_choice": {"type": "function", "function": {"name": "nope"}}},
            "tool_choice",
        ),
        ({"response_format": {"type": "json_schema", "json_schema": {"name": "x"}}}, "schema"),
        ({"response_format": {"type": "yaml"}}, "response_format"),
    ],
)
async def test_invalid_requests_are_400(
    client: httpx2.AsyncClient, fields: dict[str, Any], fragment: str
) -> None:
    response = await client.post("/chat/completions", json={**chat(), **fields})
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["type"] == "invalid_request_error" and error["object"] == "error"
    assert fragment in error["message"]


async def test_bad_json_is_400(client: httpx2.AsyncClient) -> None:
    response = await client.post("/chat/completions", content=b"{nope")
    assert response.status_code == 400 and "JSON" in response.json()["error"]["message"]


@pytest.mark.parametrize(
    ("url", "fragment"),
    [
        ("data:image/png;base64,@@@not-base64", "base64"),
        ("data:image/webp;base64,AAAA", "format"),
        ("ftp://example.com/a.png", "http"),
    ],
)
async def test_bad_images_are_400(client: httpx2.AsyncClient, url: str, fragment: str) -> None:
    response = await client.post("/chat/completions", json={"model": MODEL, "messages": [image_message(url)]})
    assert response.status_code == 400 and fragment in response.json()["error"]["message"]


async def test_image_count_and_size_limits(client: httpx2.AsyncClient) -> None:
    tiny = png_data_uri(2, 2)
    ok = await client.post(
        "/chat/completions", json={"model": MODEL, "messages": [image_message(*[tiny] * 30)]}
    )
    assert ok.status_code == 200
    many = await client.post(
        "/chat/completions", json={"model": MODEL, "messages": [image_message(*[tiny] * 31)]}
    )
    assert many.status_code == 400 and "31" in many.json()["error"]["message"]
    big = "data:image/png;base64," + "A" * 10_000_004
    large = await client.post("/chat/completions", json={"model": MODEL, "messages": [image_message(big)]})
    assert large.status_code == 400 and "10000000" in large.json()["error"]["message"]


@pytest.mark.parametrize("model", ["deepseek-v3p1", "accounts/fireworks/deepseek", "accounts//models/x", ""])
async def test_malformed_model_ids_are_404(client: httpx2.AsyncClient, model: str) -> None:
    response = await client.post("/chat/completions", json={**chat(), "model": model})
    if model:
        assert response.status_code == 404
        assert response.json() == ERROR_VECTORS["404_model"]["body"]
    else:
        assert response.status_code == 400


async def test_model_id_forms_and_unknown_models(client: httpx2.AsyncClient, fresh: Simulator) -> None:
    router, custom = "accounts/fireworks/routers/kimi-k2", "accounts/me/models/custom"
    assert (
        await client.post("/chat/completions", json={**chat(), "model": f"{MODEL}#dep-1"})
    ).status_code == 200
    for model in (router, custom, f"{custom}#dep-1"):
        assert (await client.post("/chat/completions", json={**chat(), "model": model})).status_code == 404
    fresh.configure(extra_models=[router, custom])
    for model in (router, custom, f"{custom}#dep-1"):
        assert (await client.post("/chat/completions", json={**chat(), "model": model})).status_code == 200
    fresh.configure(unknown_models=[MODEL])
    assert (await client.post("/chat/completions", json=chat())).status_code == 404


@pytest.mark.parametrize(
    "model", ["accounts/fireworks/models/no-such-model", "accounts/fireworks/models/deepseek-v9"]
)
async def test_well_formed_model_ids_it_does_not_serve_are_404(
    client: httpx2.AsyncClient, model: str
) -> None:
    response = await client.post("/chat/completions", json={**chat(), "model": model})
    assert response.status_code == 404
    assert response.json() == ERROR_VECTORS["404_model"]["body"]


# -- scripting ------------------------------------------------------------------------------
async def test_error_by_vector_name_with_extra_headers(client: httpx2.AsyncClient, fresh: Simulator) -> None:
    fresh.enqueue({"error": "429_envelope", "headers": {"retry-after": "1", "x-should-retry": "true"}})
    response = await client.post("/chat/completions", json=chat(stream=True))
    assert response.status_code == 429
    assert response.json() == ERROR_VECTORS["429_envelope"]["body"]
    assert response.headers["retry-after"] == "1" and response.headers["x-ratelimit-over-limit"] == "yes"
    assert response.headers["x-should-retry"] == "true"
    assert (await client.post("/chat/completions", json=chat())).status_code == 200  # consumed once


async def test_html_error_and_custom_status_bodies(client: httpx2.AsyncClient, fresh: Simulator) -> None:
    fresh.enqueue(
        {"error": "502_html"},
        {"status": 503},
        {"status": 500, "body_text": "oops", "content_type": "text/plain"},
        {"status": 418, "body": {"error": "teapot"}},
    )
    html = await client.post("/chat/completions", json=chat())
    assert html.status_code == 502 and html.headers["content-type"] == "text/html"
    assert html.text == ERROR_VECTORS["502_html"]["body_text"]
    generic = await client.post("/chat/completions", json=chat())
    assert generic.status_code == 503 and generic.json()["error"]["type"] == "internal_server_error"
    text = await client.post("/chat/completions", json=chat())
    assert (text.status_code, text.text, text.headers["content-type"]) == (500, "oops", "text/plain")
    teapot = await client.post("/chat/completions", json=chat())
    assert (teapot.status_code, teapot.json()) == (418, {"error": "teapot"})


async def test_delay_postpones_the_first_byte(client: httpx2.AsyncClient, fresh: Simulator) -> None:
    fresh.enqueue({"delay": 0.3})
    started = time.monotonic()
    response = await client.post("/chat/completions", json=chat())
    assert response.status_code == 200 and time.monotonic() - started >= 0.3


async def test_drop_after_breaks_the_stream_before_done(client: httpx2.AsyncClient, fresh: Simulator) -> None:
    fresh.enqueue({"drop_after": 2})
    received: list[str] = []
    with pytest.raises(httpx2.RemoteProtocolError):
        async with client.stream("POST", "/chat/completions", json=chat(stream=True)) as response:
            async for line in response.aiter_lines():
                if line:
                    received.append(line)
    assert len(received) == 2 and "[DONE]" not in received[-1]
    [record] = await fresh.wait_for_requests_async(1, finished=True)
    assert record["outcome"] == "dropped" and record["events_sent"] == 2


async def test_drop_after_breaks_a_non_streamed_body(client: httpx2.AsyncClient, fresh: Simulator) -> None:
    fresh.enqueue({"drop_after": 0})
    with pytest.raises(httpx2.RemoteProtocolError):
        await client.post("/chat/completions", json=chat())


async def test_error_event_after_sends_an_error_event_and_ends(
    client: httpx2.AsyncClient, fresh: Simulator
) -> None:
    fresh.enqueue({"error_event_after": 2})
    _, raw = await stream_raw(client, chat())
    events = events_of(raw)
    assert len(events) == 3 and "[DONE]" not in events
    assert json.loads(events[-1])["error"]["message"] == "stream failed"
    [record] = await fresh.wait_for_requests_async(1, finished=True)
    assert record["outcome"] == "error"


async def test_malformed_after_sends_broken_json(client: httpx2.AsyncClient, fresh: Simulator) -> None:
    fresh.enqueue({"malformed_after": 1})
    _, raw = await stream_raw(client, chat())
    assert raw.endswith(b"data: {not json\n\n") and raw.count(b"data: ") == 2


async def test_raw_sse_reproduces_the_basic_vector(client: httpx2.AsyncClient, fresh: Simulator) -> None:
    assert (VECTORS / "chat_stream_basic.sse").read_text() == BASIC_SSE
    fresh.enqueue({"raw_sse": BASIC_SSE, "token_delay": 0.01})
    response, raw = await stream_raw(client, chat())
    assert raw == BASIC_SSE.encode()
    assert response.headers["content-type"] == "text/event-stream"


def test_embedded_error_vectors_match_the_shared_file() -> None:
    assert json.loads((VECTORS / "errors.json").read_text()) == ERROR_VECTORS


async def test_match_and_times_select_requests(client: httpx2.AsyncClient, fresh: Simulator) -> None:
    fresh.enqueue({"match": "special", "status": 500, "times": 2}, {"status": 503})
    assert (await client.post("/chat/completions", json=chat("plain"))).status_code == 503
    assert (await client.post("/chat/completions", json=chat("plain"))).status_code == 200
    assert (await client.post("/chat/completions", json=chat("a special one"))).status_code == 500
    assert (await client.post("/chat/completions", json=chat("special again"))).status_code == 500
    assert (await client.post("/chat/completions", json=chat("special"))).status_code == 200
    assert fresh.script == []


async def test_scripts_skip_models_unless_they_name_its_path(
    client: httpx2.AsyncClient, fresh: Simulator
) -> None:
    fresh.enqueue({"status": 500}, {"path": "/models", "error": "503_overloaded"})
    assert (await client.get("/models")).status_code == 503
    assert (await client.get("/models")).status_code == 200
    assert (await client.post("/chat/completions", json=chat())).status_code == 500


async def test_reply_overrides_the_answer(client: httpx2.AsyncClient, fresh: Simulator) -> None:
    fresh.enqueue(
        {"reply": {"content": "Paris.", "reasoning": "Short question.", "think_tags": True, "usage": {"prompt_tokens": 8, "completion_tokens": 9, "total_tokens": 17}}},
        {"reply": {"tool_calls": [{"name": "get_weather", "arguments": {"location": "Paris"}, "id": "call_a1"}]}},
        {"reply": {"content": "Hello!", "reasoning": "The user greets me.", "finish_reason": "length"}},
    )  # fmt: skip
    think = await stream_chunks(client, chat())
    assert text_of(think) == "<think>Short question.</think>\n\nParis."
    assert think[-1]["usage"] == {"prompt_tokens": 8, "completion_tokens": 9, "total_tokens": 17}
    calls = tool_calls_of(await stream_chunks(client, chat()))
    assert calls[0]["id"] == "call_a1" and json.loads(calls[0]["arguments"]) == {"location": "Paris"}
    body = (await client.post("/chat/completions", json=chat())).json()
    assert body["choices"][0]["message"]["reasoning_content"] == "The user greets me."
    assert (
        body["choices"][0]["message"]["content"] == "Hello!"
        and body["choices"][0]["finish_reason"] == "length"
    )


async def test_token_delay_spaces_the_chunks(client: httpx2.AsyncClient, fresh: Simulator) -> None:
    fresh.enqueue({"reply": {"content": "one two three four"}, "token_delay": 0.05})
    started = time.monotonic()
    chunks = await stream_chunks(client, chat())
    assert len(chunks) == 6 and time.monotonic() - started >= 0.05 * 6


def test_bad_script_entries_and_config_are_refused(fresh: Simulator) -> None:
    with pytest.raises(ValueError, match="unknown script keys"):
        fresh.enqueue({"stauts": 500})
    with pytest.raises(ValueError, match="unknown error vector"):
        fresh.enqueue({"error": "418_teapot"})
    with pytest.raises(ValueError, match="drop_after"):
        fresh.enqueue({"drop_after": "2"})
    with pytest.raises(ValueError, match="tool_calls"):
        fresh.enqueue({"reply": {"tool_calls": [{"arguments": "{}"}]}})
    with pytest.raises(ValueError, match="token_delay"):
        fresh.configure(token_delay=-1)
    with pytest.raises(ValueError, match="unknown simulator config key"):
        fresh.configure(latencyy=1)
    with pytest.raises(TimeoutError):
        fresh.wait_for_requests(1, timeout=0.05)


# -- records and disconnects ----------------------------------------------------------------
async def test_records_describe_each_request(client: httpx2.AsyncClient, fresh: Simulator) -> None:
    await client.post("/chat/completions", json=chat(), headers={"x-session-affinity": "s1"})
    await stream_chunks(client, chat())
    await client.post("/chat/completions", json=chat(bogus=1))
    ok, streamed, bad = await fresh.wait_for_requests_async(3, finished=True)
    assert [r["seq"] for r in (ok, streamed, bad)] == [1, 2, 3]
    assert ok["body"] == chat() and ok["api_key"] == KEY and ok["method"] == "POST"
    assert ok["path"] == "/inference/v1/chat/completions" and ok["raw_body_len"] > 0
    assert ok["headers"]["x-session-affinity"] == "s1" and "authorization" not in ok["headers"]
    assert (ok["status"], ok["outcome"], ok["stream"], ok["events_sent"]) == (200, "completed", False, 0)
    assert streamed["stream"] is True and streamed["outcome"] == "completed" and streamed["events_sent"] > 3
    assert (bad["status"], bad["outcome"]) == (400, "error")
    assert all(r["started_at"] <= r["ended_at"] and r["disconnected_at"] is None for r in (ok, streamed, bad))


async def test_client_leaving_mid_stream_is_recorded_promptly(
    client: httpx2.AsyncClient, fresh: Simulator
) -> None:
    fresh.configure(token_delay=0.5)
    async with client.stream("POST", "/chat/completions", json=chat(stream=True)) as response:
        lines = response.aiter_lines()
        assert (await anext(lines)).startswith("data: ")
    closed_at = time.monotonic()
    [record] = await fresh.wait_for_async(lambda rs: bool(rs) and rs[0]["ended_at"] is not None)
    assert record["outcome"] == "disconnected" and record["events_sent"] < 4
    assert record["disconnected_at"] - closed_at < 0.5
    assert record["ended_at"] - closed_at < 0.5


async def test_cancelled_client_task_is_recorded_promptly(
    client: httpx2.AsyncClient, fresh: Simulator
) -> None:
    fresh.configure(latency=0.05, token_delay=0.5)

    async def consume() -> None:
        async with client.stream("POST", "/chat/completions", json=chat(stream=True)) as response:
            async for _ in response.aiter_lines():
                pass

    task = asyncio.create_task(consume())
    await fresh.wait_for_async(lambda rs: bool(rs) and rs[0]["events_sent"] >= 2)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    cancelled_at = time.monotonic()
    [record] = await fresh.wait_for_async(lambda rs: rs[0]["ended_at"] is not None)
    assert record["outcome"] == "disconnected" and record["disconnected_at"] - cancelled_at < 0.5


async def test_client_leaving_during_delay_is_recorded_promptly(
    client: httpx2.AsyncClient, fresh: Simulator
) -> None:
    fresh.enqueue({"delay": 30})
    with pytest.raises(httpx2.ReadTimeout):
        await client.post("/chat/completions", json=chat(), timeout=0.2)
    gave_up_at = time.monotonic()
    [record] = await fresh.wait_for_async(lambda rs: bool(rs) and rs[0]["ended_at"] is not None)
    assert record["outcome"] == "disconnected" and record["status"] is None
    assert record["disconnected_at"] - gave_up_at < 0.5


async def test_many_concurrent_streams_with_latency(server: SimulatorServer, fresh: Simulator) -> None:
    fresh.configure(latency=0.3)
    limits = httpx2.Limits(max_connections=300, max_keepalive_connections=300)
    headers = {"authorization": f"Bearer {KEY}"}
    spans: list[tuple[float, float]] = []

    async def timed(c: httpx2.AsyncClient, body: dict[str, Any]) -> list[dict[str, Any]]:
        started = time.monotonic()
        chunks = await stream_chunks(c, body)
        spans.append((started, time.monotonic()))
        return chunks

    async with httpx2.AsyncClient(
        verify=TLS, base_url=server.base_url, headers=headers, limits=limits, timeout=10
    ) as c:
        results = await asyncio.gather(*(timed(c, chat(f"request {i}")) for i in range(256)))
    assert all(text_of(r).endswith(f"request {i}") for i, r in enumerate(results))
    # Served side by side, not one after another: however slow the machine, the latency of many
    # streams overlaps (a count of overlapping streams, not a timing threshold).
    assert _most_at_once(spans) >= 8


def _most_at_once(spans: list[tuple[float, float]]) -> int:
    edges = sorted([(start, 1) for start, _ in spans] + [(end, -1) for _, end in spans])
    running = most = 0
    for _, step in edges:
        running += step
        most = max(most, running)
    return most


async def test_n_choices_are_indexed(client: httpx2.AsyncClient) -> None:
    chunks = await stream_chunks(client, chat(n=2, max_tokens=2))
    finishes = [c["choices"][0] for c in chunks if c["choices"] and c["choices"][0]["finish_reason"]]
    assert [f["index"] for f in finishes] == [0, 1] and chunks[-1]["usage"]["completion_tokens"] == 4
    body = (await client.post("/chat/completions", json=chat(n=2))).json()
    assert [c["index"] for c in body["choices"]] == [0, 1]


# -- control endpoints, in-process app, server, command line --------------------------------
def test_server_starts_fast_on_a_free_port() -> None:
    with SimulatorServer(latency=0.01) as one, SimulatorServer() as two:
        assert one.port != two.port and one.port > 0
        assert one.base_url == f"http://127.0.0.1:{one.port}/inference/v1"
        assert one.root_url == f"http://127.0.0.1:{one.port}"
        assert one.sim.config["latency"] == 0.01
        response = httpx2.get(one.base_url + "/models", headers={"authorization": "Bearer k"})
        assert response.status_code == 200
        assert one.sim.wait_for_requests(1, timeout=1, finished=True)[0]["outcome"] == "completed"


async def test_control_endpoints_over_http(server: SimulatorServer, client: httpx2.AsyncClient) -> None:
    async with httpx2.AsyncClient(verify=TLS, base_url=server.root_url) as control:
        queued = await control.post(
            "/_sim/script", json=[{"error": "503_overloaded"}, {"reply": {"content": "hi"}}]
        )
        assert queued.json() == {"queued": 2}
        assert (await control.post("/_sim/script", json=[{"nope": 1}])).status_code == 400
        config = await control.post("/_sim/config", json={"chunk_words": 2})
        assert config.json()["chunk_words"] == 2
        assert (await client.post("/chat/completions", json=chat())).status_code == 503
        hi = (await client.post("/chat/completions", json=chat())).json()
        assert hi["choices"][0]["message"]["content"] == "hi"
        records = (await control.get("/_sim/requests")).json()
        assert [r["status"] for r in records] == [503, 200]
        assert (await control.post("/_sim/reset")).json() == {"ok": True}
        assert (await control.get("/_sim/requests")).json() == []
        assert (await control.get("/_sim/config")).json()["chunk_words"] == 1
        assert (await control.get("/_sim/nothing")).status_code == 404


async def test_create_app_serves_in_memory() -> None:
    app = create_app(api_keys=["k"])
    transport = httpx2.ASGITransport(app=app)
    async with httpx2.AsyncClient(verify=TLS, transport=transport, base_url="http://sim/inference/v1") as c:
        response = await c.post("/chat/completions", json=chat(), headers={"authorization": "Bearer k"})
    assert response.status_code == 200
    assert app.state.sim.requests[0]["outcome"] == "completed"


def test_command_line_serves_and_announces_its_url() -> None:
    command = [sys.executable, "-m", "fw_mcp.simulator", "--port", "0", "--api-key", "cli-key"]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    with subprocess.Popen(command, stderr=subprocess.PIPE, text=True, env=env) as process:
        try:
            assert process.stderr is not None
            line = process.stderr.readline()
            base_url = line.split(" at ", 1)[1].split()[0]
            assert base_url.endswith("/inference/v1")
            response = httpx2.get(base_url + "/models", headers={"authorization": "Bearer cli-key"})
            assert response.status_code == 200
        finally:
            process.terminate()
            process.wait(timeout=10)
            assert process.stderr is not None
            process.stderr.close()
