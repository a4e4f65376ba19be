"""Argument types shared by the tools, and the checks pydantic cannot express in a field.

Field constraints (types, ranges, enums) live on the annotations so they also appear in each tool's
input schema; cross-field rules (exactly one of prompt/messages, message order, sizes) are
functions that raise `InvalidArgument` naming the argument.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, WithJsonSchema

from fw_mcp.errors import InvalidArgument
from fw_mcp.fireworks.wire import (
    AssistantMessage,
    ChatMessage,
    SystemMessage,
    ToolCallOut,
    ToolMessage,
    UserMessage,
)
from fw_mcp.fireworks.wire import FunctionCall as WireFunctionCall
from fw_mcp.tools.portable import PORTABLE, JsonText

__all__ = [
    "CacheKey",
    "MaxTokens",
    "Message",
    "Model",
    "Prompt",
    "ReasoningEffort",
    "Stop",
    "System",
    "Temperature",
    "TopK",
    "TopP",
    "build_messages",
    "check_input_size",
    "check_reasoning_effort",
]

MODEL_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._/#:@-]{0,255}$"


class FunctionCall(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: Annotated[str, Field(description="The function the assistant called.", min_length=1, max_length=64)]
    arguments: Annotated[
        JsonText,
        Field(
            description="The call's arguments: a JSON object as JSON text, e.g. "
            '{"city": "Paris"} (an object is accepted too).'
        ),
    ] = "{}"


class AssistantToolCall(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: Annotated[
        str, Field(description="The call id; the matching `tool` message repeats it.", min_length=1)
    ]
    type: Annotated[Literal["function"], Field(description='Always "function".')] = "function"
    function: Annotated[FunctionCall, Field(description="Which function, with what arguments.")]


class Message(BaseModel):
    """One chat turn, in the OpenAI/Fireworks shape."""

    model_config = ConfigDict(extra="forbid")
    role: Annotated[
        Literal["system", "user", "assistant", "tool"],
        Field(description="Who speaks: system (instructions), user, assistant, or tool (a tool's result)."),
    ]
    content: Annotated[
        str | None,
        Field(description="The text of the turn. May be null only for an assistant turn that calls tools."),
    ] = None
    tool_calls: Annotated[
        list[AssistantToolCall] | None,
        Field(description="Assistant turns only: the tool calls the assistant made.", max_length=128),
    ] = None
    tool_call_id: Annotated[
        str | None, Field(description="Tool turns only: the id of the assistant tool call this answers.")
    ] = None


Prompt = Annotated[
    str | None,
    Field(description="The user's request as plain text. Give either `prompt` or `messages`, not both."),
]
Messages = Annotated[
    list[Message] | None,
    PORTABLE,
    Field(
        description="The whole conversation, oldest first, instead of `prompt` (use it for multi-turn chats "
        "and to pass back tool results).",
        min_length=1,
        max_length=10_000,
    ),
]
System = Annotated[
    str | None, Field(description="A system instruction placed before the conversation (tone, role, format).")
]
Model = Annotated[
    str | None,
    Field(
        description="Fireworks model: an alias from the server config, a bare name such as `deepseek-v3p1` "
        "(means accounts/fireworks/models/deepseek-v3p1), or a full id. Omit to use the configured default.",
        pattern=MODEL_PATTERN,
    ),
]
Temperature = Annotated[
    float | None, Field(description="Sampling temperature, 0-2; lower is more deterministic.", ge=0, le=2)
]
TopP = Annotated[float | None, Field(description="Nucleus sampling probability mass, 0-1.", ge=0, le=1)]
TopK = Annotated[
    int | None, Field(description="Sample only from the k most likely tokens, 0-100.", ge=0, le=100)
]
MaxTokens = Annotated[
    int | None,
    Field(
        description="Longest answer, in tokens. The answer is cut (finish_reason `length`) beyond it.", ge=1
    ),
]
StopText = Annotated[str, StringConstraints(min_length=1, max_length=1000)]
Stop = Annotated[
    StopText | list[StopText] | None,
    # Advertised as a list only: Gemini's converters keep one branch of a string-or-list union.
    WithJsonSchema({"anyOf": [{"type": "array", "items": {"type": "string"}}, {"type": "null"}]}),
    Field(description="Up to 4 sequences at which the model stops writing (one string is accepted too)."),
]
ReasoningEffort = Annotated[
    Literal["low", "medium", "high", "none"] | None,
    Field(
        description="How much the model reasons before answering, on models that can; `none` turns it off."
    ),
]
CacheKey = Annotated[
    str | None,
    Field(
        description="Prompt-cache routing key: calls with the same key go to the Fireworks replica that has "
        "their prompt prefix cached (cached tokens cost less). Omit it: a key derived from the conversation's "
        "start (model, system prompt, first user turn) is used.",
        min_length=1,
        max_length=256,
    ),
]


def check_reasoning_effort(effort: str | None, model: str, allowed: list[str] | None) -> None:
    """Refuse an effort the model does not take (per configuration), before anything is sent."""
    if effort is None or allowed is None or effort in allowed:
        return
    short = model.removeprefix("accounts/fireworks/models/")
    raise InvalidArgument(
        "reasoning_effort",
        f"{short} does not take {effort!r}; it takes {', '.join(allowed)} ([reasoning.efforts]). "
        "Omit reasoning_effort for the model's default.",
    )


def build_messages(
    prompt: str | None, messages: list[Message] | None, system: str | None
) -> list[ChatMessage]:
    """Exactly one of prompt/messages, checked for role order; returns the wire messages."""
    if (prompt is None) == (messages is None):
        which = "both were given" if prompt is not None else "neither was given"
        raise InvalidArgument("prompt", f"give exactly one of `prompt` or `messages` ({which}).")
    if prompt is not None:
        if not prompt.strip():
            raise InvalidArgument("prompt", "is empty; say what you want the model to do.")
        turns: list[ChatMessage] = [UserMessage(content=prompt)]
    else:
        assert messages is not None
        _check_order(messages)
        turns = [_wire_message(m) for m in messages]
    if system is not None:
        turns.insert(0, SystemMessage(content=system))
    return turns


def _check_order(messages: list[Message]) -> None:
    open_calls: set[str] = set()
    for i, m in enumerate(messages):
        where = f"messages[{i}]"
        if m.role != "assistant" and m.tool_calls:
            raise InvalidArgument(f"{where}.tool_calls", "only an assistant message can carry tool_calls.")
        if m.role != "tool" and m.tool_call_id is not None:
            raise InvalidArgument(f"{where}.tool_call_id", "only a tool message carries tool_call_id.")
        if m.role == "tool":
            _check_tool_reply(m, where, open_calls)
        elif m.content is None and not (m.role == "assistant" and m.tool_calls):
            raise InvalidArgument(f"{where}.content", f"a {m.role} message needs text content.")
        if m.role == "assistant":
            open_calls = {c.id for c in m.tool_calls or []}
        elif m.role != "tool":
            open_calls = set()
    if messages[-1].role == "assistant" and messages[-1].tool_calls:
        raise InvalidArgument(
            "messages", "ends with assistant tool calls; add a tool message with each result."
        )


def _check_tool_reply(m: Message, where: str, open_calls: set[str]) -> None:
    if not m.tool_call_id:
        raise InvalidArgument(f"{where}.tool_call_id", "a tool message needs the id of the call it answers.")
    if m.tool_call_id not in open_calls:
        raise InvalidArgument(
            f"{where}.tool_call_id",
            f"{m.tool_call_id!r} does not match a tool call of the assistant message before it.",
        )
    if m.content is None:
        raise InvalidArgument(f"{where}.content", "a tool message needs the tool's result as text.")


def _wire_message(m: Message) -> ChatMessage:
    """An argument message (checked by `_check_order`) as the wire message it stands for."""
    if m.role == "assistant":
        calls = [
            ToolCallOut(
                id=c.id,
                function=WireFunctionCall(name=c.function.name, arguments=c.function.arguments),
            )
            for c in m.tool_calls or []
        ]
        return AssistantMessage(content=m.content, tool_calls=calls or None)
    content = m.content or ""
    if m.role == "tool":
        return ToolMessage(content=content, tool_call_id=m.tool_call_id or "")
    return SystemMessage(content=content) if m.role == "system" else UserMessage(content=content)


def check_input_size(limit: int, parts: dict[str, Any]) -> None:
    """Refuse inputs beyond any model's context before they cost an upload.

    `parts` maps each argument to what it sends upstream. Only text counts: message contents, tool
    call arguments and ids, tool names, descriptions and schemas; never a role or a `type` tag. The
    refusal names the argument that carried the most.
    """
    sizes = {name: _chars(value) for name, value in parts.items()}
    total = sum(sizes.values())
    if total > limit:
        biggest = max(sizes, key=lambda name: sizes[name])
        raise InvalidArgument(
            biggest,
            f"the input is {total:,} characters, over the limit of {limit:,} ([limits] max_input_chars), "
            f"and `{biggest}` carries the most ({sizes[biggest]:,}); send less text.",
        )


_NOT_CONTENT = frozenset({"role", "type"})


def _chars(part: Any) -> int:
    if part is None:
        return 0
    if isinstance(part, str):
        return len(part)
    if isinstance(part, Message):
        return _chars(_wire_message(part).wire())
    if isinstance(part, list | tuple):
        return sum(_chars(p) for p in part)
    if isinstance(part, dict):
        return sum(_chars(v) for k, v in part.items() if k not in _NOT_CONTENT)
    return len(str(part))


def stop_list(stop: str | list[str] | None) -> list[str] | None:
    if stop is None:
        return None
    stops = [stop] if isinstance(stop, str) else stop
    if len(stops) > 4:
        raise InvalidArgument("stop", f"at most 4 stop sequences are allowed ({len(stops)} given).")
    return stops
