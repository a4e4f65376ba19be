"""What one tool call spent across its upstream requests: the account its meters add to and its result reads."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from fw_mcp.spend.prices import Cost, format_usd, no_price_note

__all__ = ["Account", "accounting", "current_account"]


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
