"""Every simulator answer parses with the official `openai` SDK: its response and chunk types, strictly
validated, and its error classes. So the simulator cannot drift from the wire format unnoticed.

Responses are fetched raw (httpx2) and validated with `model_validate` (the SDK's own client builds its
objects without validation); the SDK's client is used as well, as an application would use it.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import httpx2
import openai
import pytest
from openai.types.chat import ChatCompletion, ChatCompletionChunk
from pydantic import BaseModel

from fw_mcp.simulator import Simulator, SimulatorServer
from fw_mcp.simulator.errors import ERROR_VECTORS
from tests.simulator.conftest import KEY

PREFIX = "accounts/fireworks/models/"
# What Fireworks sends beyond OpenAI's types: reasoning text, and the usage's cached-token details.
EXTENSIONS = {"reasoning_content"}
WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    },
}
TIME = {
    "type": "function",
    "function": {"name": "get_time", "parameters": {"type": "object", "properties": {}}},
}
SCHEMA = {"type": "object", "properties": {"name": {"type": "string"}, "n": {"type": "integer"}}}


def chat(model: str = "deepseek-v3p1", **fields: Any) -> dict[str, Any]:
    return {"model": PREFIX + model, "messages": [{"role": "user", "content": "Hello there"}], **fields}


BODIES = {
    "plain": chat(),
    "n=3": chat(n=3),
    "stop": chat(stop=["there"]),
    "cut by max_tokens": chat(max_tokens=2),
    "reasoning field": chat("deepseek-r1-0528"),
    "reasoning tags": chat("qwen3-235b-a22b"),
    "tool call": chat("kimi-k2-instruct-0905", tools=[WEATHER]),
    "parallel tool calls": chat("kimi-k2-instruct-0905", tools=[WEATHER, TIME], parallel_tool_calls=True),
    "json schema": chat(
        response_format={"type": "json_schema", "json_schema": {"name": "R", "schema": SCHEMA}}
    ),
    "json object": chat(response_format={"type": "json_object"}),
    "tool result": {
        "model": PREFIX + "kimi-k2-instruct-0905",
        "tools": [WEATHER],
        "messages": [
            {"role": "user", "content": "Weather?"},
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {"id": "c1", "type": "function", "function": {"name": "get_weather", "arguments": "{}"}}
                ],
            },
            {"role": "tool", "tool_call_id": "c1", "content": "18 C"},
        ],
    },
}


@pytest.fixture
async def raw(client: httpx2.AsyncClient) -> httpx2.AsyncClient:
    """The keyed raw client, beside the SDK client."""
    return client


@pytest.fixture
async def sdk(server: SimulatorServer) -> AsyncIterator[openai.AsyncOpenAI]:
    async with openai.AsyncOpenAI(base_url=server.base_url, api_key=KEY, max_retries=0) as client:
        yield client


def extras(obj: Any) -> set[str]:
    """Field names the SDK's types do not declare, anywhere in the parsed object."""
    if isinstance(obj, BaseModel):
        own = set(obj.model_extra or {})
        return own | {e for name in type(obj).model_fields for e in extras(getattr(obj, name))}
    if isinstance(obj, list):
        return {e for item in obj for e in extras(item)}
    return set()


@pytest.mark.parametrize("name", BODIES)
async def test_responses_parse_as_openai_chat_completions(raw: httpx2.AsyncClient, name: str) -> None:
    response = await raw.post("/chat/completions", json=BODIES[name])
    assert response.status_code == 200, response.text
    completion = ChatCompletion.model_validate(response.json())
    assert extras(completion) <= EXTENSIONS
    assert completion.usage is not None and completion.choices
    assert len(completion.choices) == BODIES[name].get("n", 1)


@pytest.mark.parametrize("include_usage", [False, True])
@pytest.mark.parametrize("name", BODIES)
async def test_streamed_chunks_parse_as_openai_chunks(
    raw: httpx2.AsyncClient, name: str, include_usage: bool
) -> None:
    body = {**BODIES[name], "stream": True, "stream_options": {"include_usage": include_usage}}
    async with raw.stream("POST", "/chat/completions", json=body) as response:
        assert response.status_code == 200
        events = [line async for line in response.aiter_lines() if line]
    assert events[-1] == "data: [DONE]"
    chunks = [ChatCompletionChunk.model_validate(json.loads(e.removeprefix("data: "))) for e in events[:-1]]
    assert all(extras(c) <= EXTENSIONS for c in chunks)
    finished = [ch.finish_reason for c in chunks for ch in c.choices if ch.finish_reason]
    assert len(finished) == BODIES[name].get("n", 1)
    assert chunks[-1].usage is not None


async def test_the_openai_client_reads_answers_and_streams(sdk: openai.AsyncOpenAI) -> None:
    body = BODIES["tool call"]
    completion = await sdk.chat.completions.create(
        model=body["model"], messages=body["messages"], tools=body["tools"]
    )
    [call] = completion.choices[0].message.tool_calls or []
    assert call.type == "function" and json.loads(call.function.arguments).keys() == {"city"}
    stream = await sdk.chat.completions.create(
        model=body["model"],
        messages=body["messages"],
        tools=body["tools"],
        stream=True,
        stream_options={"include_usage": True},
        extra_body={"prompt_cache_key": "s1", "raw_output": False},
    )
    pieces = [c async for c in stream]
    arguments = "".join(
        t.function.arguments or ""
        for c in pieces
        for ch in c.choices
        for t in ch.delta.tool_calls or []
        if t.function is not None
    )
    assert json.loads(arguments).keys() == {"city"}
    assert pieces[-1].choices == [] and pieces[-1].usage is not None


ERRORS: dict[str, type[openai.APIStatusError]] = {
    "401_invalid_key": openai.AuthenticationError,
    "404_model": openai.NotFoundError,
    "400_bad_value": openai.BadRequestError,
    "400_unknown_field": openai.BadRequestError,
    "400_rate_limit_in_disguise": openai.BadRequestError,
    "429_envelope": openai.RateLimitError,
    "429_flat": openai.RateLimitError,
    "503_overloaded": openai.InternalServerError,
    "502_html": openai.InternalServerError,
}


def test_every_error_vector_has_an_expected_class() -> None:
    assert set(ERRORS) == set(ERROR_VECTORS)


@pytest.mark.parametrize("vector", sorted(ERRORS))
async def test_error_vectors_raise_the_openai_error_classes(
    sdk: openai.AsyncOpenAI, fresh: Simulator, vector: str
) -> None:
    fresh.enqueue({"error": vector})
    with pytest.raises(ERRORS[vector]) as caught:
        await sdk.chat.completions.create(**chat())
    assert caught.value.status_code == ERROR_VECTORS[vector]["status"]
    assert caught.value.message


@pytest.mark.parametrize(
    ("body", "error", "where"),
    [
        (chat(model="no-such-model"), openai.NotFoundError, None),
        (chat(bogus=1), openai.BadRequestError, "Extra inputs are not permitted"),
        (
            chat("gpt-oss-120b", reasoning_effort="none"),
            openai.BadRequestError,
            "Invalid reasoning effort: none",
        ),
        (chat(temperature=5), openai.BadRequestError, "temperature"),
    ],
)
async def test_refusals_parse_as_openai_errors(
    sdk: openai.AsyncOpenAI, body: dict[str, Any], error: type[openai.APIStatusError], where: str | None
) -> None:
    extra = {k: v for k, v in body.items() if k not in ("model", "messages")}
    with pytest.raises(error) as caught:
        await sdk.chat.completions.create(model=body["model"], messages=body["messages"], extra_body=extra)
    assert isinstance(caught.value.body, dict) and caught.value.type
    if where:
        assert where in caught.value.message
