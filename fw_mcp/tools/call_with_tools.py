"""The `call_with_tools` tool: let a Fireworks model decide which functions to call, with what arguments.

The functions are not run here: the calls come back, each parsed and checked against its tool's
`parameters`, so the caller can run them and pass the results back in `messages`.
"""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal, cast

import anyio
from mcp.server.mcpserver import Context
from mcp.types import CallToolResult
from pydantic import BaseModel, ConfigDict, Field

from fw_mcp.errors import DeadlineExceeded, InvalidArgument
from fw_mcp.fireworks.stream import Completion, ToolCall
from fw_mcp.fireworks.wire import ChatRequest, FunctionDefinition, NamedToolChoice, ToolDefinition
from fw_mcp.fireworks.wire import ToolChoice as WireToolChoice
from fw_mcp.settings import LimitsSection
from fw_mcp.tools.arguments import (
    CacheKey,
    MaxTokens,
    Messages,
    Model,
    Prompt,
    System,
    Temperature,
    build_messages,
    check_input_size,
)
from fw_mcp.tools.job import Job, tool_errors
from fw_mcp.tools.portable import PORTABLE, JsonObject
from fw_mcp.tools.results import SpendOut, UsageOut, cap, content_blocks, footer, length_note
from fw_mcp.tools.runtime import identity_of
from fw_mcp.tools.schemas import Schema, checked, compile_schema
from fw_mcp.validation.answers import check_calls

__all__ = ["call_with_tools"]

NAME_PATTERN = r"^[a-zA-Z0-9_-]{1,64}$"
EMPTY_PARAMETERS: dict[str, Any] = {"type": "object", "properties": {}}
ToolName = Annotated[str, Field(pattern=NAME_PATTERN, description="Letters, digits, _ or -; at most 64.")]


class FunctionSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: ToolName
    description: Annotated[str | None, Field(description="What the function does, for the model.")] = None
    parameters: Annotated[
        JsonObject | None,
        Field(description="The arguments' JSON Schema (an object schema), JSON-encoded as a string."),
    ] = None
    strict: Annotated[bool | None, Field(description="Accepted for OpenAI compatibility; ignored.")] = None


class ToolSpec(BaseModel):
    """`{"type": "function", "function": {...}}`, or the short form `{name, description, parameters}`."""

    model_config = ConfigDict(extra="forbid")
    type: Annotated[Literal["function"] | None, Field(description='"function" (long form).')] = None
    function: Annotated[FunctionSpec | None, Field(description="The function (long form).")] = None
    name: Annotated[
        str | None, Field(pattern=NAME_PATTERN, description="The function name (short form).")
    ] = None
    description: Annotated[str | None, Field(description="What it does (short form).")] = None
    parameters: Annotated[
        JsonObject | None,
        Field(description="Its arguments' JSON Schema, JSON-encoded as a string (short form)."),
    ] = None

    def spec(self, where: str) -> FunctionSpec:
        if self.function is not None:
            if self.name or self.description or self.parameters is not None:
                raise InvalidArgument(
                    where, "give either `function` or name/description/parameters, not both."
                )
            return self.function
        if not self.name:
            raise InvalidArgument(f"{where}.name", "each tool needs a name.")
        return FunctionSpec(name=self.name, description=self.description, parameters=self.parameters)


class CallOut(BaseModel):
    id: str = Field(description="The call id; answer it with a `tool` message carrying this tool_call_id.")
    name: str = Field(description="The function to call.")
    arguments: dict[str, Any] | str = Field(
        description="The arguments as a JSON object (the raw text when they were not a JSON object)."
    )
    error: str | None = Field(
        default=None, description="Set when the call does not fit its tool's parameters."
    )


class ToolCallsResult(SpendOut):
    tool_calls: list[CallOut] = Field(
        description="The calls the model chose, in order; empty if it answered."
    )
    text: str = Field(description="Any text the model wrote (often empty when it calls tools).")
    finish_reason: str | None = Field(description="tool_calls, stop, or length (cut at max_tokens).")
    model: str = Field(description="The Fireworks model id that answered.")
    usage: UsageOut
    reasoning: str | None = Field(default=None, description="The model's reasoning, when it showed any.")


@tool_errors
async def call_with_tools(
    ctx: Context[Any, Any],
    tools: Annotated[
        list[ToolSpec],
        PORTABLE,
        Field(description="The functions the model may call (1-128), OpenAI style.", min_length=1),
    ],
    prompt: Prompt = None,
    messages: Messages = None,
    system: System = None,
    tool_choice: Annotated[
        str | None,
        Field(
            description="`auto` (default: model decides), `none`, `required` (must call one), or a tool's name."
        ),
    ] = None,
    parallel_tool_calls: Annotated[
        bool | None, Field(description="Allow several calls in one answer (model dependent).")
    ] = None,
    model: Model = None,
    temperature: Temperature = None,
    max_tokens: MaxTokens = None,
    cache_key: CacheKey = None,
) -> Annotated[CallToolResult, ToolCallsResult]:
    """Give a Fireworks model (default Kimi K2) a set of functions and get back the calls it chooses.

    The functions are not executed: you get each call's name and parsed JSON arguments, checked
    against that function's `parameters` schema (a mismatch is reported on the call). To continue,
    run the calls and send the conversation back in `messages`: the assistant turn with its
    `tool_calls`, then one `tool` message per result with the matching `tool_call_id`.
    """
    settings = ctx.request_context.lifespan_context.settings
    limits = settings.limits
    specs = _specs(tools, limits.max_tools)
    turns = build_messages(prompt, messages, system)
    check_input_size(
        limits.max_input_chars,
        {"prompt": prompt, "messages": messages, "system": system, "tools": [_sent(s) for s in specs]},
    )
    owner = identity_of(ctx) or ""
    schemas = {
        s.name: await compile_schema(s.parameters or {}, _where(s, specs), limits, owner=owner) for s in specs
    }
    resolved = settings.resolve_model(model, "call_with_tools")
    request = ChatRequest(
        model=resolved,
        messages=turns,
        tools=[_wire_tool(s) for s in specs],
        tool_choice=_wire_choice(tool_choice, specs),
        parallel_tool_calls=parallel_tool_calls,
        temperature=temperature,
        max_tokens=max_tokens,
        prompt_cache_key=cache_key,
    )
    async with Job(ctx, max_tokens) as job:
        completion = await job.complete(request)
        with anyio.CancelScope(deadline=job.deadline):  # checking the calls is part of the call
            calls = await _check_calls(completion.tool_calls, schemas, limits, owner)
            return _result(completion, resolved, calls, job.cap())
    raise DeadlineExceeded(settings.timeouts.total, completion)


def _specs(tools: list[ToolSpec], limit: int) -> list[FunctionSpec]:
    if len(tools) > limit:
        raise InvalidArgument("tools", f"{len(tools)} tools given; at most {limit} are allowed.")
    specs, seen = [], set()
    for i, tool in enumerate(tools):
        spec = tool.spec(f"tools[{i}]")
        if spec.name in seen:
            raise InvalidArgument(
                f"tools[{i}].name", f"{spec.name!r} is used by two tools; names must be unique."
            )
        seen.add(spec.name)
        params = EMPTY_PARAMETERS if spec.parameters is None else spec.parameters
        if params.get("type", "object") != "object":
            raise InvalidArgument(f"tools[{i}].parameters", 'must describe an object ("type": "object").')
        specs.append(spec.model_copy(update={"parameters": params}))
    return specs


def _sent(spec: FunctionSpec) -> list[str | None]:
    """What a tool adds to the request's text: its name, description and parameters' JSON."""
    return [spec.name, spec.description, json.dumps(spec.parameters)]


def _where(spec: FunctionSpec, specs: list[FunctionSpec]) -> str:
    return f"tools[{specs.index(spec)}].parameters"


def _wire_tool(spec: FunctionSpec) -> ToolDefinition:
    function = FunctionDefinition(
        name=spec.name, description=spec.description or None, parameters=spec.parameters
    )
    return ToolDefinition(function=function)


def _wire_choice(choice: str | None, specs: list[FunctionSpec]) -> WireToolChoice:
    if choice in (None, "auto", "none", "required"):
        return cast(WireToolChoice, choice)
    if choice == "any":
        return "required"
    if choice in {s.name for s in specs}:
        return NamedToolChoice.of(choice)
    names = ", ".join(s.name for s in specs)
    raise InvalidArgument(
        "tool_choice", f"{choice!r} is not auto, none, required, or one of the tools ({names})."
    )


async def _check_calls(
    calls: list[ToolCall], schemas: dict[str, Schema], limits: LimitsSection, owner: str
) -> list[CallOut]:
    """Each call's arguments parsed and checked against its tool's parameters (`check_calls`), off
    the event loop under the validation budget: one bad call gets an `error`, the others are kept."""
    checks = await checked(
        limits,
        "tools",
        check_calls,
        [(call.name, call.arguments) for call in calls],
        schemas,
        limits.max_json_depth,
        size=sum(len(call.arguments or "") for call in calls),
        schemas=list(schemas.values()),
        owner=owner,
    )
    return [
        CallOut(
            id=call.id, name=call.name, arguments=call.arguments if parsed is None else parsed, error=error
        )
        for call, (parsed, error) in zip(calls, checks, strict=True)
    ]


def _result(completion: Completion, model: str, calls: list[CallOut], limit: int) -> CallToolResult:
    text, cut = cap(completion.text, limit)
    payload: dict[str, Any] = {
        "tool_calls": [c.model_dump(exclude_none=True) for c in calls],
        "text": text,
        "finish_reason": completion.finish_reason,
        "model": completion.model or model,
        "usage": completion.usage.as_dict(),
    }
    if completion.reasoning:
        payload["reasoning"], _ = cap(completion.reasoning, limit)
    notes = length_note(completion.finish_reason)
    if cut:
        notes.append(f"Note: the text was cut to {limit:,} characters ([limits] max_result_chars).")
    account = footer(payload["model"], completion.finish_reason, payload["usage"], notes)
    return CallToolResult(
        content=content_blocks([_render_calls(calls), text], account), structured_content=payload
    )


def _render_calls(calls: list[CallOut]) -> str:
    if not calls:
        return "The model called no tool."
    lines = [f"The model called {len(calls)} tool{'s' if len(calls) > 1 else ''}:"]
    for n, call in enumerate(calls, 1):
        args = (
            call.arguments
            if isinstance(call.arguments, str)
            else json.dumps(call.arguments, ensure_ascii=False)
        )
        lines.append(f"{n}. {call.name}({args})  [id: {call.id}]")
        if call.error:
            lines.append(f"   ! {call.error}")
    return "\n".join(lines)
