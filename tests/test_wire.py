"""The wire models (fw_mcp/fireworks/wire/): what a request sends, and what it refuses to send."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from fw_mcp.fireworks.wire import (
    AssistantMessage,
    ChatRequest,
    FunctionCall,
    FunctionDefinition,
    ImagePart,
    ImageURL,
    JsonSchemaFormat,
    JsonSchemaSpec,
    ModelList,
    NamedToolChoice,
    TextPart,
    ToolCallOut,
    ToolDefinition,
    ToolMessage,
    UserMessage,
)
from fw_mcp.fireworks.wire.chat import STREAMED
from fw_mcp.simulator.validate import ALLOWED_FIELDS, validate_chat

HI = [UserMessage(content="hi")]


def test_unset_fields_are_not_sent() -> None:
    request = ChatRequest(model="m", messages=HI, temperature=None, max_tokens=5)
    assert request.wire() == {"model": "m", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 5}


def test_an_assistant_turn_that_only_called_tools_sends_null_content() -> None:
    call = ToolCallOut(id="c1", function=FunctionCall(name="f", arguments='{"a": 1}'))
    wire = AssistantMessage(tool_calls=[call]).wire()
    assert wire == {
        "role": "assistant",
        "content": None,
        "tool_calls": [{"id": "c1", "type": "function", "function": {"name": "f", "arguments": '{"a": 1}'}}],
    }
    assert ToolMessage(content="42", tool_call_id="c1").wire() == {
        "role": "tool",
        "content": "42",
        "tool_call_id": "c1",
    }


def test_structured_output_images_and_a_named_tool_choice_have_the_api_shape() -> None:
    request = ChatRequest(
        model="accounts/fireworks/models/qwen2p5-vl-32b-instruct",
        messages=[
            UserMessage(content=[ImagePart(image_url=ImageURL(url="https://x/y.png")), TextPart(text="?")])
        ],
        response_format=JsonSchemaFormat(json_schema=JsonSchemaSpec(name="R", schema={"type": "object"})),
        tools=[ToolDefinition(function=FunctionDefinition(name="f", parameters={"type": "object"}))],
        tool_choice=NamedToolChoice.of("f"),
    )
    wire = request.wire()
    assert wire["messages"][0]["content"] == [
        {"type": "image_url", "image_url": {"url": "https://x/y.png"}},
        {"type": "text", "text": "?"},
    ]
    assert wire["response_format"] == {
        "type": "json_schema",
        "json_schema": {"name": "R", "schema": {"type": "object"}},
    }
    assert wire["tool_choice"] == {"type": "function", "function": {"name": "f"}}
    validate_chat(
        {**request.wire(), **STREAMED}
    )  # the simulator, which refuses what the API refuses, takes it


@pytest.mark.parametrize(
    "fields",
    [
        {"temprature": 0.5},  # a misspelt field: the API would answer 400
        {"max_tokens": 5, "max_completion_tokens": 5},  # the API refuses both at once
        {"thinking": {"type": "enabled", "budget_tokens": 2048}, "reasoning_effort": "low"},
        {"top_k": 101},
        {"messages": []},
    ],
)
def test_a_request_the_api_would_refuse_is_refused_before_it_is_sent(fields: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        ChatRequest.model_validate({"model": "m", "messages": [{"role": "user", "content": "hi"}], **fields})


def test_a_message_is_typed_by_its_role() -> None:
    request = ChatRequest.model_validate(
        {"model": "m", "messages": [{"role": "tool", "content": "x", "tool_call_id": "c"}]}
    )
    assert isinstance(request.messages[0], ToolMessage)
    with pytest.raises(ValidationError):
        ChatRequest.model_validate(
            {"model": "m", "messages": [{"role": "tool", "content": "x"}]}
        )  # no call id


def test_every_field_the_simulator_accepts_is_a_request_field() -> None:
    """The simulator refuses unknown fields as the API does; whatever it models, the client can send."""
    assert sorted(ALLOWED_FIELDS - set(ChatRequest.model_fields)) == []


def test_a_model_list_keeps_new_fields_and_drops_entries_without_an_id() -> None:
    listing = ModelList.model_validate(
        {"data": [{"id": "a", "deprecation_date": "2027-01-01"}, {"id": None}, "x"]}
    )
    assert [m.id for m in listing.data] == ["a"]
    assert listing.data[0].model_extra == {"deprecation_date": "2027-01-01"}
