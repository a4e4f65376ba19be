"""One tool call's upstream requests, metered: budget hold, span, fallback models, settled cost.

Knows neither MCP nor HTTP: the caller hands in `send(model)`, which makes one Fireworks request
(retries included) for that model and returns its Completion.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

import anyio

from fw_mcp.errors import DeadlineExceeded, FireworksHTTPError, StreamInterrupted
from fw_mcp.fireworks.stream import Completion
from fw_mcp.spend.budget import Hold, Spend
from fw_mcp.spend.prices import Cost, Tokens, format_usd, no_price_note
from fw_mcp.telemetry import FireworksSpan, fireworks_span

__all__ = [
    "Account",
    "Meter",
    "Request",
    "accounting",
    "current_account",
    "estimate_prompt_tokens",
    "fallback_reason",
]

logger = logging.getLogger(__name__)
_MESSAGE_OVERHEAD = 16  # tokens a chat template adds around each message, at most


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


@dataclass
class Account:
    """What one tool call spent across its upstream requests, and which model answered and why."""

    tool: str = ""
    nanos: int = 0
    as_of: str | None = None
    unpriced: list[str] = field(default_factory=list)
    requested: str | None = None
    answered: str | None = None
    fallbacks: list[str] = field(default_factory=list)
    calls: int = 0

    def add(self, model: str, cost: Cost | None) -> None:
        self.calls += 1
        if cost is None:
            if model not in self.unpriced:
                self.unpriced.append(model)
            return
        self.nanos += cost.nanos
        self.as_of = min(self.as_of or cost.prices_as_of, cost.prices_as_of)

    def cost(self) -> dict[str, Any] | None:
        """`{usd, estimated, prices_as_of}`; None when any request was unpriced (no partial sums)."""
        if self.unpriced or self.as_of is None:
            return None
        return Cost(self.nanos, self.as_of).as_dict()

    def cost_text(self) -> str | None:
        return None if self.cost() is None else f"~{format_usd(self.nanos)} (est.)"

    def notes(self) -> list[str]:
        notes = [no_price_note(m) for m in self.unpriced]
        if self.fallbacks and self.answered:
            notes.append(
                f"Note: {self.answered} answered instead of {self.requested} ({'; '.join(self.fallbacks)})."
            )
        return notes

    def fallback(self) -> dict[str, Any] | None:
        if not self.fallbacks:
            return None
        return {"requested": self.requested, "answered": self.answered, "reasons": list(self.fallbacks)}


_current: ContextVar[Account | None] = ContextVar("fw_mcp_account", default=None)


@contextmanager
def accounting(tool: str) -> Iterator[Account]:
    """The account of the tool call running in this block: meters add to it, results read it."""
    account = Account(tool=tool)
    token = _current.set(account)
    try:
        yield account
    finally:
        _current.reset(token)


def current_account() -> Account | None:
    return _current.get()


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
        hold = await self.spend.reserve(
            tool=self.tool,
            user=self.user,
            model=model,
            prompt_tokens=prompt,
            max_tokens=request.max_tokens,
            ttl=self.ttl(),
        )
        with fireworks_span(
            request.operation,
            model=model,
            base_url=self.base_url,
            max_tokens=request.max_tokens,
            messages=request.messages,
        ) as span:
            try:
                completion = await send(model)
            except (StreamInterrupted, DeadlineExceeded) as exc:
                with anyio.CancelScope(shield=True):
                    await self._settle_partial(hold, model, exc.partial, span)
                raise
            except BaseException:
                with anyio.CancelScope(shield=True):
                    await self.spend.release(hold)
                raise
            answered = completion.model or model
            with anyio.CancelScope(shield=True):
                cost = await self.spend.settle(hold, answered, _tokens(completion))
            self.account.add(answered, cost)
            _annotate(span, completion, cost, attempts())
            return completion

    async def _settle_partial(
        self, hold: Hold, model: str, partial: Completion | None, span: FireworksSpan
    ) -> None:
        """A broken stream still cost what Fireworks counted; without a usage report, release the hold."""
        if partial is None or partial.usage.total_tokens == 0:
            await self.spend.release(hold)
            return
        answered = partial.model or model
        cost = await self.spend.settle(hold, answered, _tokens(partial))
        self.account.add(answered, cost)
        _annotate(span, partial, cost, None)


def _tokens(completion: Completion) -> Tokens:
    u = completion.usage
    return Tokens(prompt=u.prompt_tokens, cached=u.cached_tokens, completion=u.completion_tokens)


def _annotate(span: FireworksSpan, completion: Completion, cost: Cost | None, attempts: int | None) -> None:
    u = completion.usage
    span.answered(
        model=completion.model,
        finish_reason=completion.finish_reason,
        input_tokens=u.prompt_tokens,
        output_tokens=u.completion_tokens,
        cached_tokens=u.cached_tokens,
        attempts=attempts,
        cost_usd=None if cost is None else cost.usd,
        output_text=completion.text,
    )
