"""What the spend stores share: the counters' scopes, a call's usage record, and the store interface.

A call is counted in four scopes: the server's day and month, and its user's day and month. A
reservation holds the call's maximum cost in each scope until it is settled with the real cost, or
until it expires (so a process that dies mid-call does not hold budget for ever).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Literal, Protocol

from fw_mcp.errors import FwMcpError

__all__ = [
    "BatchOwner",
    "Check",
    "Refusal",
    "Scope",
    "SpendStore",
    "StoreError",
    "UsageRecord",
    "UsageRow",
    "period_stamps",
    "resets_at",
    "scopes_for",
]

Period = Literal["day", "month"]
SERVER = ""  # the user name of the server-wide scopes


class StoreError(FwMcpError):
    """The store could not be used (unreachable, locked, corrupt, full); the message says which and how."""


@dataclass(frozen=True, slots=True)
class Scope:
    """A counter: one period (`2026-11-30` or `2026-11`) for the whole server (user "") or one user."""

    period: Period
    stamp: str
    user: str = SERVER

    @property
    def key(self) -> str:
        return f"{self.period}:{self.stamp}:{self.user}"


@dataclass(frozen=True, slots=True)
class Check:
    """A limit to enforce atomically with a reservation."""

    scope: Scope
    limit_nanos: int


@dataclass(frozen=True, slots=True)
class Refusal:
    """The first limit a reservation would have crossed, with what was spent (and held) there."""

    check: Check
    spent_nanos: int


@dataclass(frozen=True, slots=True)
class UsageRecord:
    """One finished upstream call, as counted."""

    user: str
    tool: str
    model: str
    prompt_tokens: int
    cached_tokens: int
    completion_tokens: int
    cost_nanos: int
    priced: bool
    when: datetime = field(default_factory=lambda: datetime.now(UTC))

    @property
    def day(self) -> str:
        return self.when.strftime("%Y-%m-%d")

    @property
    def month(self) -> str:
        return self.when.strftime("%Y-%m")


@dataclass(frozen=True, slots=True)
class UsageRow:
    """Totals for one (day, user, tool, model)."""

    day: str
    user: str
    tool: str
    model: str
    calls: int
    prompt_tokens: int
    cached_tokens: int
    completion_tokens: int
    cost_nanos: int
    unpriced_calls: int


@dataclass(frozen=True, slots=True)
class BatchOwner:
    """Who submitted a batch job through fw-mcp, when, and the hold its maximum cost was reserved under."""

    user: str
    rid: str | None
    submitted: datetime


class SpendStore(Protocol):
    """Counters shared by every process using the same store. All methods raise StoreError."""

    where: str

    async def reserve(
        self, rid: str, scopes: list[Scope], checks: list[Check], nanos: int, ttl: float
    ) -> Refusal | None:
        """Hold `nanos` in every scope unless a check would be crossed (atomically, across processes)."""
        ...

    async def settle(self, rid: str | None, record: UsageRecord) -> None:
        """Drop the reservation `rid` (if any) and count the record, in one step."""
        ...

    async def release(self, rid: str, scopes: list[Scope]) -> None:
        """Drop a reservation without counting anything (the call failed before any token)."""
        ...

    async def spent(self, scopes: list[Scope]) -> dict[Scope, int]:
        """Spent plus live reservations, per scope."""
        ...

    async def rows(self, since_day: str) -> list[UsageRow]: ...

    async def settle_once(self, key: str, rid: str | None, record: UsageRecord) -> bool:
        """`settle`, unless a settlement with this key was already counted (by any process): idempotent.
        Returns whether this one counted it."""
        ...

    async def note_batch(self, job_id: str, owner: BatchOwner) -> None:
        """Remember who submitted a batch job (kept as long as usage rows are)."""
        ...

    async def batch_owner(self, job_id: str) -> BatchOwner | None: ...

    async def note_rate_limits(self, limits: dict[str, str]) -> None: ...

    async def rate_limits(self) -> dict[str, str]: ...

    async def aclose(self) -> None: ...


def period_stamps(when: datetime) -> tuple[str, str]:
    return when.strftime("%Y-%m-%d"), when.strftime("%Y-%m")


def scopes_for(when: datetime, user: str) -> list[Scope]:
    day, month = period_stamps(when)
    scopes = [Scope("day", day), Scope("month", month)]
    if user != SERVER:
        scopes += [Scope("day", day, user), Scope("month", month, user)]
    return scopes


def resets_at(scope: Scope) -> datetime:
    """When a scope's counter starts again from zero (UTC midnight; the first of the next month)."""
    if scope.period == "day":
        return datetime.strptime(scope.stamp, "%Y-%m-%d").replace(tzinfo=UTC) + timedelta(days=1)
    start = datetime.strptime(scope.stamp, "%Y-%m").replace(tzinfo=UTC)
    return (start + timedelta(days=32)).replace(day=1)
