"""Result shapes and how a Completion becomes an MCP result.

Hosts differ: Claude Desktop shows only the text blocks, Claude Code passes only
`structuredContent` to the model. So both carry the same facts: the answer first (a block of its
own, so a model can use it verbatim), then reasoning, then a one-line account of model, finish
reason and tokens, with any warning (cut by max_tokens, cut for size, incomplete).
"""

from __future__ import annotations

from typing import Any

from mcp.types import CallToolResult, ContentBlock, TextContent
from pydantic import BaseModel, Field

from fw_mcp.errors import DeadlineExceeded, StreamInterrupted
from fw_mcp.fireworks.stream import Completion
from fw_mcp.spend.meter import Account, current_account

__all__ = [
    "ACCOUNT_META",
    "ChatResult",
    "CostOut",
    "FallbackOut",
    "SpendOut",
    "UsageOut",
    "answer_result",
    "cap",
    "content_blocks",
    "footer",
    "partial_result",
    "with_spend",
]

MODEL_PREFIX = "accounts/fireworks/models/"
# Marks the block that accounts for the call (model, tokens, notes), so a client such as `fw-mcp call`
# can tell it from the answer without reading its text.
ACCOUNT_META = {"fw-mcp/part": "account"}


class UsageOut(BaseModel):
    prompt_tokens: int = Field(description="Tokens in the request.")
    completion_tokens: int = Field(description="Tokens the model wrote.")
    total_tokens: int = Field(description="prompt_tokens + completion_tokens.")
    cached_tokens: int = Field(description="Prompt tokens served from Fireworks' prompt cache (billed less).")


class CostOut(BaseModel):
    usd: float = Field(description="Estimated cost in US dollars, from the configured price table.")
    estimated: bool = Field(description="Always true: prices change; this is the table's estimate.")
    prices_as_of: str = Field(description="When the prices used were read (YYYY-MM or YYYY-MM-DD).")


class FallbackOut(BaseModel):
    requested: str = Field(description="The model asked for.")
    answered: str = Field(description="The model that answered instead.")
    reasons: list[str] = Field(description="Why each model before it could not answer.")


class SpendOut(BaseModel):
    """The fields every result that used tokens carries (filled in by `with_spend`)."""

    cost: CostOut | None = Field(
        default=None,
        description="Estimated cost of this call; absent when the model has no configured price.",
    )
    fallback: FallbackOut | None = Field(
        default=None, description="Present when another model answered because the chosen one could not."
    )


class ChatResult(SpendOut):
    text: str = Field(description="The answer, without any reasoning.")
    model: str = Field(description="The Fireworks model id that answered.")
    finish_reason: str | None = Field(
        description="stop (finished), length (cut at max_tokens), tool_calls, or incomplete (stream broke)."
    )
    usage: UsageOut
    reasoning: str | None = Field(default=None, description="The model's reasoning, when it showed any.")
    truncated: bool = Field(default=False, description="True when the text was cut to the result size limit.")


def cap(text: str, limit: int) -> tuple[str, bool]:
    """Cut to `limit` characters, saying so in the text itself."""
    if len(text) <= limit:
        return text, False
    return text[:limit] + f"\n[... cut: {len(text) - limit:,} more characters over the result limit]", True


def footer(model: str, finish_reason: str | None, usage: dict[str, int], notes: list[str]) -> str:
    """Notes, then the account line; with the running call's cost and fallback (fw_mcp.spend.meter)."""
    short = model.removeprefix(MODEL_PREFIX)
    account = current_account()
    spent = account.cost_text() if account is not None else None
    line = (
        f"[model: {short} · finish_reason: {finish_reason} · tokens: {usage['prompt_tokens']} prompt "
        f"({usage['cached_tokens']} cached) + {usage['completion_tokens']} completion = {usage['total_tokens']}"
        + (f" · cost: {spent}]" if spent else "]")
    )
    return "\n".join([*notes, *(account.notes() if account is not None else []), line])


def with_spend(result: CallToolResult, account: Account) -> CallToolResult:
    """Put the call's cost and any fallback into its structuredContent (the footer already has them)."""
    if isinstance(result.structured_content, dict):
        extra = {"cost": account.cost(), "fallback": account.fallback()}
        result.structured_content = {**result.structured_content, **{k: v for k, v in extra.items() if v}}
    return result


def content_blocks(parts: list[str], account: str) -> list[ContentBlock]:
    """The result's text blocks: the non-empty `parts`, then the account line, marked as such."""
    blocks: list[ContentBlock] = [TextContent(type="text", text=p) for p in parts if p]
    return [*blocks, TextContent(type="text", text=account, _meta=ACCOUNT_META)]


def length_note(finish_reason: str | None) -> list[str]:
    if finish_reason == "length":
        return [
            "Note: the answer was cut at max_tokens (finish_reason: length); raise max_tokens for all of it."
        ]
    return []


def chat_payload(completion: Completion, model: str, limit: int) -> tuple[dict[str, Any], list[str]]:
    """The structured result and the notes a reader must see, text and reasoning sharing the size cap."""
    text, cut_text = cap(completion.text, limit)
    payload: dict[str, Any] = {
        "text": text,
        "model": completion.model or model,
        "finish_reason": completion.finish_reason,
        "usage": completion.usage.as_dict(),
    }
    cut_reasoning = False
    if completion.reasoning:
        payload["reasoning"], cut_reasoning = cap(completion.reasoning, max(limit - len(text), 1000))
    notes = length_note(completion.finish_reason)
    if cut_text or cut_reasoning:
        payload["truncated"] = True
        notes.append(f"Note: the result was cut to {limit:,} characters ([limits] max_result_chars).")
    return payload, notes


def answer_result(completion: Completion, model: str, limit: int) -> CallToolResult:
    """chat and describe_image: answer block, reasoning block, account line."""
    payload, notes = chat_payload(completion, model, limit)
    return _result(payload, notes, is_error=False)


def partial_result(error: StreamInterrupted | DeadlineExceeded, model: str, limit: int) -> CallToolResult:
    """What arrived before the stream broke: marked incomplete and isError, so nobody mistakes it."""
    if error.partial is None:
        return CallToolResult(content=[TextContent(type="text", text=str(error))], is_error=True)
    payload, notes = chat_payload(error.partial, model, limit)
    payload["finish_reason"] = "incomplete"
    return _result(payload, [str(error), *notes], is_error=True)


def _result(payload: dict[str, Any], notes: list[str], *, is_error: bool) -> CallToolResult:
    blocks = [payload["text"]] if not is_error else [notes[0], "Partial answer:\n" + payload["text"]]
    if payload.get("reasoning"):
        blocks.append("Reasoning:\n" + payload["reasoning"])
    account = footer(payload["model"], payload["finish_reason"], payload["usage"], notes[is_error:])
    return CallToolResult(
        content=content_blocks(blocks, account),
        structured_content=payload,
        is_error=is_error,
    )
