"""`POST /chat/completions`: the request body, with the fields the API accepts and typed messages.

Field list: the Fireworks reference and the official SDK's declared fields (see
/work/shared/reference/fireworks-api.md, "Request fields" and "Fields the API accepts"). Values the
API defines loosely (`logit_bias`, `prediction`, `metadata`...) are typed loosely here too.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, model_validator

from fw_mcp.fireworks.wire.base import WireRequest

__all__ = [
    "AssistantMessage",
    "ChatMessage",
    "ChatRequest",
    "FunctionCall",
    "FunctionDefinition",
    "ImagePart",
    "ImageURL",
    "JsonSchemaFormat",
    "JsonSchemaSpec",
    "NamedToolChoice",
    "ResponseFormat",
    "StreamOptions",
    "SystemMessage",
    "TextPart",
    "ToolCallOut",
    "ToolChoice",
    "ToolDefinition",
    "ToolMessage",
    "UserMessage",
]


class TextPart(WireRequest):
    type: Literal["text"] = "text"
    text: str


class ImageURL(WireRequest):
    url: str
    detail: Literal["auto", "low", "high"] | None = None


class ImagePart(WireRequest):
    type: Literal["image_url"] = "image_url"
    image_url: ImageURL


ContentPart = Annotated[TextPart | ImagePart, Field(discriminator="type")]


class SystemMessage(WireRequest):
    role: Literal["system"] = "system"
    content: str


class UserMessage(WireRequest):
    role: Literal["user"] = "user"
    content: str | list[ContentPart]


class FunctionCall(WireRequest):
    name: str
    arguments: str  # a JSON object, as text (that is what the API sends back and takes)


class ToolCallOut(WireRequest):
    """A tool call an earlier assistant turn made, sent back as part of the conversation."""

    id: str
    type: Literal["function"] = "function"
    function: FunctionCall


class AssistantMessage(WireRequest):
    role: Literal["assistant"] = "assistant"
    content: str | None = None
    tool_calls: list[ToolCallOut] | None = None

    def wire(self) -> dict[str, Any]:
        # `content: null` is sent as such: it is how an assistant turn that only called tools reads.
        return {**super().wire(), "content": self.content}


class ToolMessage(WireRequest):
    role: Literal["tool"] = "tool"
    content: str
    tool_call_id: str


ChatMessage = Annotated[
    SystemMessage | UserMessage | AssistantMessage | ToolMessage, Field(discriminator="role")
]


class FunctionDefinition(WireRequest):
    name: str
    description: str | None = None
    parameters: dict[str, Any] | None = None
    strict: bool | None = None


class ToolDefinition(WireRequest):
    type: Literal["function"] = "function"
    function: FunctionDefinition


class _FunctionName(WireRequest):
    name: str


class NamedToolChoice(WireRequest):
    type: Literal["function"] = "function"
    function: _FunctionName

    @classmethod
    def of(cls, name: str) -> NamedToolChoice:
        return cls(function=_FunctionName(name=name))


ToolChoice = Literal["auto", "none", "required"] | NamedToolChoice | None


class JsonSchemaSpec(WireRequest):
    name: str
    schema_: dict[str, Any] = Field(alias="schema")
    strict: bool | None = None


class JsonSchemaFormat(WireRequest):
    type: Literal["json_schema"] = "json_schema"
    json_schema: JsonSchemaSpec


class _PlainFormat(WireRequest):
    type: Literal["text", "json_object"]


class _GrammarFormat(WireRequest):
    type: Literal["grammar"] = "grammar"
    grammar: str


ResponseFormat = Annotated[JsonSchemaFormat | _PlainFormat | _GrammarFormat, Field(discriminator="type")]


class StreamOptions(WireRequest):
    include_usage: bool = True


STREAMED = {"stream": True, "stream_options": StreamOptions().wire()}  # what the client adds to every body


class _Thinking(WireRequest):
    type: Literal["enabled", "disabled"]
    budget_tokens: int | None = Field(default=None, ge=1024)


class ChatRequest(WireRequest):
    """One chat completion request. The client streams every call: it adds `stream` and
    `stream_options` to the body itself (`STREAMED`)."""

    model: str
    messages: list[ChatMessage] = Field(min_length=1)
    stream: bool | None = None
    stream_options: StreamOptions | None = None
    # sampling
    max_tokens: int | None = Field(default=None, ge=1)
    max_completion_tokens: int | None = Field(default=None, ge=1)
    temperature: float | None = Field(default=None, ge=0, le=2)
    top_p: float | None = Field(default=None, ge=0, le=1)
    top_k: int | None = Field(default=None, ge=0, le=100)
    min_p: float | None = None
    typical_p: float | None = None
    repetition_penalty: float | None = Field(default=None, ge=0, le=2)
    presence_penalty: float | None = None
    frequency_penalty: float | None = None
    logit_bias: dict[str, float] | None = None
    mirostat_target: float | None = None
    mirostat_lr: float | None = None
    stop: str | list[str] | None = None
    n: int | None = Field(default=None, ge=1, le=128)
    seed: int | None = None
    context_length_exceeded_behavior: Literal["truncate", "error"] | None = None
    logprobs: bool | int | None = None
    top_logprobs: int | None = Field(default=None, ge=0, le=5)
    # tools and structure
    tools: list[ToolDefinition] | None = None
    tool_choice: ToolChoice = None
    parallel_tool_calls: bool | None = None
    functions: list[dict[str, Any]] | None = None
    function_call: str | dict[str, Any] | None = None
    response_format: ResponseFormat | None = None
    # reasoning
    reasoning_effort: Literal["low", "medium", "high", "none"] | bool | int | None = None
    thinking: _Thinking | None = None
    reasoning_history: Literal["disabled", "interleaved", "preserved"] | None = None
    # caching, routing and the rest
    prompt_cache_key: str | None = None
    prompt_cache_isolation_key: str | None = None
    prompt_cache_max_len: int | None = Field(default=None, ge=0)
    user: str | None = None
    perf_metrics_in_response: bool | None = None
    prediction: str | dict[str, Any] | None = None
    service_tier: str | None = None
    metadata: dict[str, Any] | None = None
    echo: bool | None = None
    echo_last: int | None = None
    ignore_eos: bool | None = None
    prompt_truncate_len: int | None = None
    raw_output: bool | None = None
    return_token_ids: bool | None = None
    safe_tokenization: bool | None = None
    speculation: str | list[int] | None = None

    @model_validator(mode="after")
    def _one_of_each_pair(self) -> ChatRequest:
        """The API answers 400 to either pair; refuse it before it costs a request."""
        if self.max_tokens is not None and self.max_completion_tokens is not None:
            raise ValueError("send max_tokens or max_completion_tokens, not both")
        if self.thinking is not None and self.reasoning_effort is not None:
            raise ValueError("send thinking or reasoning_effort, not both")
        return self

    def wire(self) -> dict[str, Any]:
        return {**super().wire(), "messages": [m.wire() for m in self.messages]}
