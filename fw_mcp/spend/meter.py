"""One tool call's upstream requests, metered: budget hold, span, fallback models, settled cost.

Knows neither MCP nor HTTP: the caller hands in `send(model)`, which makes one Fireworks request
(retries included) for that model and returns its Completion. Other operations (embeddings, rerank)
use `measure`, or `reserve` then `complete` when a call holds all its requests before sending any.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any, TypeVar

import anyio

from fw_mcp.errors import DeadlineExceeded, FireworksHTTPError, StreamInterrupted
from fw_mcp.fireworks.stream import Completion
from fw_mcp.spend.account import Account, accounting, current_account
from fw_mcp.spend.budget import Hold, Spend
from fw_mcp.spend.prices import Cost, Tokens
from fw_mcp.telemetry import FireworksSpan, fireworks_span

__all__ = [
    "Account",
    "Answered",
    "Meter",
    "Request",
    "accounting",
    "current_account",
    "estimate_prompt_tokens",
    "estimate_text_tokens",
    "fallback_reason",
]

logger = logging.getLogger(__name__)
T = TypeVar("T")
_MESSAGE_OVERHEAD = 16  # tokens a chat template adds around each message, at most
_TEXT_OVERHEAD = 8  # special tokens an embeddings or rerank model adds around each text, at most


@dataclass(frozen=True, slots=True)
class Request:
    """What a request's maximum cost depends on."""

    operation: str
    model: str
    messages: list[dict[str, Any]]
    max_tokens: int | None
    tools: list[dict[str, Any]] | None = None


def estimate_prompt_tokens(request: Request, image_tokens: int) -> int:
    """An upper bound: a token is at least one byte of UTF-8 (byte-level BPE), plus the template's
    overhead per message; each image counts `image_tokens` ([budget] image_tokens)."""
    total = 0
    for message in request.messages:
        total += _MESSAGE_OVERHEAD
        content = message.get("content")
        parts = content if isinstance(content, list) else [{"type": "text", "text": content or ""}]
        for part in parts:
            if isinstance(part, dict) and part.get("type") == "image_url":
                total += image_tokens
            elif isinstance(part, dict):
                total += len(str(part.get("text", "")).encode())
        for key in ("tool_calls", "reasoning_content", "name"):
            if message.get(key):
                total += len(json.dumps(message[key]).encode())
    if request.tools:
        total += len(json.dumps(request.tools).encode())
    return total


def estimate_text_tokens(texts: Iterable[str], overhead: int = _TEXT_OVERHEAD) -> int:
    """An upper bound for texts sent to embed or rerank: their UTF-8 bytes, plus `overhead` each."""
    return sum(len(text.encode()) + overhead for text in texts)


@dataclass(frozen=True, slots=True)
class Answered:
    """What an answer says about its cost: the model it is priced and counted as, and its tokens;
    the rest is for the request's span."""

    model: str
    tokens: Tokens
    response_model: str = ""
    finish_reason: str | None = None
    text: str | None = None


def fallback_reason(error: Exception) -> str | None:
    """Why another model may answer instead: not deployed, load shed, or out of capacity; else None."""
    if not isinstance(error, FireworksHTTPError):
        return None
    if error.status_code == 404:
        return "HTTP 404: not deployed or unknown"
    if error.status_code == 503:
        return "HTTP 503: Fireworks is shedding load"
    if "capacity" in error.message.lower() and not error.is_rate_limit:
        return f"HTTP {error.status_code}: out of capacity"
    return None


class Meter:
    """Per tool call: `await meter.run(request, send)` for each upstream request it makes."""

    def __init__(
        self,
        spend: Spend,
        *,
        tool: str,
        user: str,
        fallbacks: list[str],
        base_url: str,
        ttl: Callable[[], float],
        account: Account | None = None,
    ) -> None:
        self.spend = spend
        self.tool = tool
        self.user = user
        self.fallbacks = fallbacks
        self.base_url = base_url
        self.ttl = ttl
        self.account = account if account is not None else Account()

    async def run(
        self,
        request: Request,
        send: Callable[[str], Awaitable[Completion]],
        attempts: Callable[[], int | None] = lambda: None,
    ) -> Completion:
        """The chosen model, then each fallback in turn while the failure allows one (before any token)."""
        self.account.requested = self.account.requested or request.model
        models = [request.model, *(m for m in self.fallbacks if m != request.model)]
        for i, model in enumerate(models):
            try:
                completion = await self._one(request, model, send, attempts)
            except FireworksHTTPError as exc:
                reason = fallback_reason(exc)
                if reason is None or i == len(models) - 1:
                    raise
                logger.warning("%s answered %s; falling back to %s", model, reason, models[i + 1])
                self.account.fallbacks.append(f"{model}: {reason}")
                continue
            self.account.answered = completion.model or model
            return completion
        raise AssertionError("unreachable")  # pragma: no cover

    async def _one(
        self,
        request: Request,
        model: str,
        send: Callable[[str], Awaitable[Completion]],
        attempts: Callable[[], int | None],
    ) -> Completion:
        prompt = estimate_prompt_tokens(request, self.spend.budget.image_tokens)
        return await self.measure(
            request.operation,
            model,
            prompt,
            lambda: send(model),
            lambda completion: _answered(completion, model),
            max_tokens=request.max_tokens,
            messages=request.messages,
            attempts=attempts,
        )

    async def measure(
        self,
        operation: str,
        model: str,
        prompt_tokens: int,
        send: Callable[[], Awaitable[T]],
        answered: Callable[[T], Answered],
        *,
        max_tokens: int | None = 0,
        messages: list[dict[str, Any]] | None = None,
        attempts: Callable[[], int | None] = lambda: None,
    ) -> T:
        """One upstream request of any operation, metered: `reserve`, then `complete`."""
        hold = await self.reserve(model, prompt_tokens, max_tokens)
        return await self.complete(
            hold,
            operation,
            model,
            send,
            answered,
            max_tokens=max_tokens,
            messages=messages,
            attempts=attempts,
        )

    async def reserve(self, model: str, prompt_tokens: int, max_tokens: int | None = 0) -> Hold:
        """Hold a request's maximum cost: `prompt_tokens` plus `max_tokens` of output (0 for embeddings
        and rerank, None for the API's default). A call of several requests reserves them all before
        sending any, so a refusal comes before anything is sent.

        Raises:
            BudgetExceeded, SpendStoreUnavailable: as `Spend.reserve`.
        """
        return await self.spend.reserve(
            tool=self.tool,
            user=self.user,
            model=model,
            prompt_tokens=prompt_tokens,
            max_tokens=max_tokens,
            ttl=self.ttl(),
        )

    async def release(self, hold: Hold) -> None:
        """Drop a hold whose request will not be sent."""
        with anyio.CancelScope(shield=True):
            await self.spend.release(hold)

    async def complete(
        self,
        hold: Hold,
        operation: str,
        model: str,
        send: Callable[[], Awaitable[T]],
        answered: Callable[[T], Answered],
        *,
        max_tokens: int | None = 0,
        messages: list[dict[str, Any]] | None = None,
        attempts: Callable[[], int | None] = lambda: None,
    ) -> T:
        """Send a held request inside its span, then settle what `answered` reads from the answer into
        the call's account; on failure or cancellation the hold is released."""
        with fireworks_span(
            operation, model=model, base_url=self.base_url, max_tokens=max_tokens or None, messages=messages
        ) as span:
            try:
                result = await send()
            except (StreamInterrupted, DeadlineExceeded) as exc:
                with anyio.CancelScope(shield=True):
                    await self._settle_partial(hold, model, exc.partial, span)
                raise
            except BaseException:
                await self.release(hold)
                raise
            got = answered(result)
            with anyio.CancelScope(shield=True):
                cost = await self.spend.settle(hold, got.model, got.tokens)
            self.account.add(got.model, cost)
            _annotate(span, got, cost, attempts())
            return result

    async def _settle_partial(
        self, hold: Hold, model: str, partial: Completion | None, span: FireworksSpan
    ) -> None:
        """A broken stream still cost what Fireworks counted; without a usage report, release the hold."""
        if partial is None or partial.usage.total_tokens == 0:
            await self.spend.release(hold)
            return
        got = _answered(partial, model)
        cost = await self.spend.settle(hold, got.model, got.tokens)
        self.account.add(got.model, cost)
        _annotate(span, got, cost, None)


def _answered(completion: Completion, model: str) -> Answered:
    u = completion.usage
    return Answered(
        model=completion.model or model,
        tokens=Tokens(prompt=u.prompt_tokens, cached=u.cached_tokens, completion=u.completion_tokens),
        response_model=completion.model,
        finish_reason=completion.finish_reason,
        text=completion.text,
    )


def _annotate(span: FireworksSpan, got: Answered, cost: Cost | None, attempts: int | None) -> None:
    span.answered(
        model=got.response_model,
        finish_reason=got.finish_reason,
        input_tokens=got.tokens.prompt,
        output_tokens=got.tokens.completion,
        cached_tokens=got.tokens.cached,
        attempts=attempts,
        cost_usd=None if cost is None else cost.usd,
        output_text=got.text,
    )
