"""The simulator accepts what Fireworks accepts and refuses what it refuses, judged by the official SDKs.

The field list comes from the official `fireworks-ai` SDK's request type, not from our own notes, so a
field the SDK declares and the simulator refuses is a red test. Reasoning rules per model follow the
SDK's docstrings (shared/reference/fireworks-api.md, "Reasoning, per model").
"""

from __future__ import annotations

from typing import Any, get_type_hints

import httpx2
import pytest

PREFIX = "accounts/fireworks/models/"
TOOL = {"type": "function", "function": {"name": "f", "parameters": {"type": "object", "properties": {}}}}

# One valid value for every field the SDK declares (besides model and messages).
SAMPLES: dict[str, Any] = {
    "context_length_exceeded_behavior": "error",
    "echo": True,
    "echo_last": 3,
    "frequency_penalty": 0.5,
    "function_call": "auto",
    "functions": [{"name": "f", "parameters": {"type": "object", "properties": {}}}],
    "ignore_eos": False,
    "logit_bias": {"42": 1.5},
    "logprobs": True,
    "max_completion_tokens": 50,
    "max_tokens": 50,
    "metadata": {"run": "t1"},
    "min_p": 0.1,
    "mirostat_lr": 0.1,
    "mirostat_target": 3.0,
    "n": 2,
    "parallel_tool_calls": True,
    "perf_metrics_in_response": True,
    "prediction": {"type": "content", "content": "Hello"},
    "presence_penalty": 0.5,
    "prompt_cache_isolation_key": "tenant-1",
    "prompt_cache_key": "session-1",
    "prompt_truncate_len": 1000,
    "raw_output": True,
    "reasoning_effort": "low",
    "reasoning_history": "preserved",
    "repetition_penalty": 1.1,
    "response_format": {"type": "json_object"},
    "return_token_ids": True,
    "safe_tokenization": True,
    "seed": 7,
    "service_tier": "priority",
    "speculation": "Hello there",
    "stop": ["END"],
    "stream": False,
    "temperature": 0.3,
    "thinking": {"type": "enabled", "budget_tokens": 2048},
    "tool_choice": "auto",
    "tools": [TOOL],
    "top_k": 40,
    "top_logprobs": 2,
    "top_p": 0.9,
    "typical_p": 0.9,
    "user": "someone",
}


def chat(model: str = "deepseek-v3p1", **fields: Any) -> dict[str, Any]:
    return {"model": PREFIX + model, "messages": [{"role": "user", "content": "Hi there"}], **fields}


def sdk_fields() -> set[str]:
    from fireworks.types.chat import completion_create_params as params

    declared = set(get_type_hints(params.CompletionCreateParamsBase)) | {"stream"}
    return declared - {"model", "messages"}


def test_every_field_the_sdk_declares_has_a_sample() -> None:
    assert sdk_fields() == set(SAMPLES)


@pytest.mark.parametrize("field", sorted(SAMPLES))
async def test_every_field_the_sdk_declares_is_accepted(client: httpx2.AsyncClient, field: str) -> None:
    body = chat(**{field: SAMPLES[field]})
    if field in ("tool_choice", "parallel_tool_calls"):
        body["tools"] = [TOOL]
    response = await client.post("/chat/completions", json=body)
    assert response.status_code == 200, response.text


async def test_an_unknown_field_is_still_refused(client: httpx2.AsyncClient) -> None:
    response = await client.post("/chat/completions", json=chat(reasoning="high"))
    assert response.status_code == 400
    assert "Extra inputs are not permitted" in response.json()["error"]["message"]


@pytest.mark.parametrize(("field", "value"), [("echo", "yes"), ("prompt_truncate_len", 0), ("raw_output", 1)])
async def test_new_fields_are_type_checked(client: httpx2.AsyncClient, field: str, value: Any) -> None:
    assert (await client.post("/chat/completions", json=chat(**{field: value}))).status_code == 400


async def test_thinking_with_reasoning_effort_is_refused(client: httpx2.AsyncClient) -> None:
    body = chat(reasoning_effort="low", thinking={"type": "enabled"})
    response = await client.post("/chat/completions", json=body)
    assert response.status_code == 400


@pytest.mark.parametrize(
    ("model", "effort", "message"),
    [
        ("gpt-oss-120b", "none", "Invalid reasoning effort: none"),
        ("gpt-oss-20b", "none", "Invalid reasoning effort: none"),
        ("gpt-oss-120b", False, "Invalid reasoning effort: none"),  # false is none, then refused
        ("gpt-oss-120b", 512, "Invalid reasoning effort: 512"),
        ("minimax-m2", "none", "Invalid reasoning effort: none"),
        ("minimax-m2", True, "Invalid reasoning effort: true"),
    ],
)
async def test_reasoning_efforts_a_model_refuses(
    client: httpx2.AsyncClient, model: str, effort: Any, message: str
) -> None:
    response = await client.post("/chat/completions", json=chat(model, reasoning_effort=effort))
    assert response.status_code == 400
    assert response.json()["error"]["message"] == message


async def test_thinking_disabled_is_none_for_gpt_oss(client: httpx2.AsyncClient) -> None:
    response = await client.post(
        "/chat/completions", json=chat("gpt-oss-120b", thinking={"type": "disabled"})
    )
    assert response.status_code == 400


async def reasons(client: httpx2.AsyncClient, model: str, **fields: Any) -> bool:
    response = await client.post("/chat/completions", json=chat(model, **fields))
    assert response.status_code == 200, response.text
    message = response.json()["choices"][0]["message"]
    return bool(message.get("reasoning_content")) or message["content"].startswith("<think>")


@pytest.mark.parametrize(
    ("model", "by_default", "asked", "told_none"),
    [
        ("deepseek-v3p1", False, True, False),  # reasons only when asked
        ("deepseek-v3p2", True, True, False),  # by default, until told none
        ("glm-4p6", True, True, False),
        ("qwen3-235b-a22b", True, True, False),
        ("gpt-oss-120b", True, True, None),  # default medium; none refused
        ("minimax-m2", True, True, None),  # always; none refused
        ("deepseek-r1-0528", True, True, True),  # a reasoning model
        ("llama-v3p1-8b-instruct", False, False, False),  # does not reason
    ],
)
async def test_reasoning_per_model(
    client: httpx2.AsyncClient, model: str, by_default: bool, asked: bool, told_none: bool | None
) -> None:
    assert await reasons(client, model) is by_default
    assert await reasons(client, model, reasoning_effort="high") is asked
    if told_none is not None:
        assert await reasons(client, model, reasoning_effort="none") is told_none
