"""The `extract_json` tool: structured data from text, guaranteed to match the caller's JSON Schema.

Fireworks constrains generation to the schema, but some keywords are not enforced upstream and an
answer cut by max_tokens is broken JSON, so the answer is validated here; one repair round shows the
model what was wrong before giving up.
"""

from __future__ import annotations

import json
import re
from typing import Annotated, Any

import anyio
from mcp.server.mcpserver import Context
from mcp.types import CallToolResult
from pydantic import Field, WithJsonSchema

from fw_mcp.errors import DeadlineExceeded, InvalidModelOutput
from fw_mcp.fireworks.stream import Completion, Usage
from fw_mcp.fireworks.wire import (
    AssistantMessage,
    ChatMessage,
    ChatRequest,
    JsonSchemaFormat,
    JsonSchemaSpec,
    SystemMessage,
    UserMessage,
)
from fw_mcp.tools.arguments import MaxTokens, Model, check_input_size
from fw_mcp.tools.job import Job, tool_errors
from fw_mcp.tools.portable import ANY_JSON_SCHEMA, JsonObject
from fw_mcp.tools.results import SpendOut, UsageOut, cap, content_blocks, footer
from fw_mcp.tools.runtime import identity_of
from fw_mcp.tools.schemas import Schema, checked, compile_schema
from fw_mcp.validation.answers import answer_problem

__all__ = ["extract_json"]

SYSTEM = (
    "You extract structured data from text. Reply with only one JSON value that matches the JSON "
    "Schema you are given: no prose, no code fences. Use null or omit optional fields the text does "
    "not support; never invent facts."
)


class ExtractResult(SpendOut):
    data: Annotated[Any, WithJsonSchema(ANY_JSON_SCHEMA)] = Field(
        description="The extracted JSON value; it validates against the given schema."
    )
    model: str = Field(description="The Fireworks model id that answered.")
    usage: UsageOut = Field(description="Tokens used, over both rounds when a repair was needed.")
    repaired: bool = Field(
        default=False, description="True when a second round fixed an invalid first answer."
    )


def _schema_name(schema: dict[str, Any]) -> str:
    title = schema.get("title")
    name = re.sub(r"[^a-zA-Z0-9_-]", "_", title)[:64] if isinstance(title, str) else ""
    return name.strip("_") or "Result"


async def _check(completion: Completion, schema: Schema, job: Job, owner: str) -> tuple[Any, str | None]:
    """`answer_problem` off the event loop, under the validation budget and the call's deadline."""
    limits = job.settings.limits
    text = completion.text
    with anyio.CancelScope(deadline=job.deadline):
        return await checked(
            limits,
            "schema",
            answer_problem,
            text,
            schema,
            limits.max_json_depth,
            size=len(text),
            schemas=[schema],
            owner=owner,
        )
    raise DeadlineExceeded(job.settings.timeouts.total, completion)


@tool_errors
async def extract_json(
    ctx: Context[Any, Any],
    text: Annotated[str, Field(description="The text to extract from.", min_length=1)],
    schema: Annotated[
        JsonObject,
        Field(
            description="The JSON Schema the result must match, as JSON text, e.g. "
            '{"type": "object", "properties": {"name": {"type": "string"}}, "required": ["name"]} '
            "(an object is accepted too)."
        ),
    ],
    instructions: Annotated[
        str | None,
        Field(description="Extra guidance, e.g. which entity to focus on or how to normalise values."),
    ] = None,
    model: Model = None,
    max_tokens: MaxTokens = None,
) -> Annotated[CallToolResult, ExtractResult]:
    """Extract structured data from text as JSON that is guaranteed to validate against your JSON Schema.

    Use it to pull fields, lists or records out of documents, emails, logs or web pages. Returns the
    JSON value (`data`), checked locally against the schema; when the model's first answer does not
    validate it gets one chance to fix it, and otherwise the error says exactly what did not match.
    """
    settings = ctx.request_context.lifespan_context.settings
    limits = settings.limits
    owner = identity_of(ctx) or ""
    compiled = await compile_schema(schema, "schema", limits, owner=owner)
    check_input_size(
        limits.max_input_chars, {"text": text, "instructions": instructions, "schema": json.dumps(schema)}
    )
    resolved = settings.resolve_model(model, "extract_json")
    messages = _messages(text, schema, instructions)
    request = ChatRequest(
        model=resolved,
        messages=messages,
        response_format=JsonSchemaFormat(
            json_schema=JsonSchemaSpec(name=_schema_name(schema), schema=schema)
        ),
        max_tokens=max_tokens,
    )
    async with Job(ctx, max_tokens) as job:
        first = await job.complete(request)
        data, problem = await _check(first, compiled, job, owner)
        usage, final = first.usage, first
        if problem is not None and first.finish_reason != "length":
            job.progress.restart()
            repair = [*messages, *_repair_turns(first.text, problem)]
            final = await job.complete(request.model_copy(update={"messages": repair}))
            usage = _sum(usage, final.usage)
            data, problem = await _check(final, compiled, job, owner)
    if problem is not None:
        raise_invalid(final, problem, repaired=final is not first)
    return _result(data, final, resolved, usage, repaired=final is not first, limit=job.cap())


def _messages(text: str, schema: dict[str, Any], instructions: str | None) -> list[ChatMessage]:
    system = SYSTEM if not instructions else f"{SYSTEM}\n\nInstructions: {instructions}"
    user = f"JSON Schema:\n{json.dumps(schema)}\n\nText:\n{text}"
    return [SystemMessage(content=system), UserMessage(content=user)]


def _repair_turns(answer: str, problem: str) -> list[ChatMessage]:
    return [
        AssistantMessage(content=answer),
        UserMessage(
            content=f"That answer does not match the schema: {problem}. Reply with only the corrected JSON."
        ),
    ]


def raise_invalid(completion: Completion, problem: str, *, repaired: bool) -> None:
    cause = (
        " The answer was cut at max_tokens (finish_reason: length), the likely reason the JSON is "
        "incomplete: raise max_tokens or ask for less."
        if completion.finish_reason == "length"
        else ""
    )
    rounds = " after a repair round" if repaired else ""
    excerpt = completion.text[:500] + ("..." if len(completion.text) > 500 else "")
    raise InvalidModelOutput(
        f"The model's answer is not valid for the schema{rounds}: {problem}.{cause}\nAnswer: {excerpt}"
    )


def _sum(a: Usage, b: Usage) -> Usage:
    return Usage(
        prompt_tokens=a.prompt_tokens + b.prompt_tokens,
        completion_tokens=a.completion_tokens + b.completion_tokens,
        total_tokens=a.total_tokens + b.total_tokens,
        cached_tokens=a.cached_tokens + b.cached_tokens,
    )


def _result(
    data: Any, final: Completion, model: str, usage: Usage, *, repaired: bool, limit: int
) -> CallToolResult:
    model = final.model or model
    payload = {"data": data, "model": model, "usage": usage.as_dict(), "repaired": repaired}
    text, cut = cap(json.dumps(data, ensure_ascii=False, indent=2), limit)
    notes = (
        [f"Note: the JSON text above was cut to {limit:,} characters; structuredContent has all of it."]
        if cut
        else []
    )
    if repaired:
        notes.append("Note: the first answer did not match the schema; a repair round fixed it.")
    account = footer(model, final.finish_reason, payload["usage"], notes)
    return CallToolResult(content=content_blocks([text], account), structured_content=payload)
