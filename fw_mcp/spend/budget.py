"""Spend for one process: prices, the budget check before going upstream, and the usage ledger.

A call reserves its maximum cost (its prompt, every prompt token uncached, plus `max_tokens` at the
output price) before a byte goes to Fireworks, and settles the real cost after. The store is opened
on the first call (not at start-up, which hosts wait for), and every write runs off the event loop.
"""

from __future__ import annotations

import importlib.util
import logging
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

from fw_mcp.errors import ConfigError, FwMcpError
from fw_mcp.spend.config import BudgetSection, Limits, PriceEntry
from fw_mcp.spend.ledger import (
    SERVER,
    Check,
    Refusal,
    Scope,
    SpendStore,
    StoreError,
    UsageRecord,
    resets_at,
    scopes_for,
)
from fw_mcp.spend.prices import MODEL_PREFIX, NANOS_PER_USD, Cost, PriceTable, Tokens, format_usd

__all__ = ["DEFAULT_MAX_TOKENS", "BudgetExceeded", "Hold", "Spend", "SpendStoreUnavailable", "open_store"]

logger = logging.getLogger(__name__)
DEFAULT_MAX_TOKENS = 2000  # what Fireworks generates at most when a request sends no max_tokens


class BudgetExceeded(FwMcpError):
    """A call was refused before anything was sent: it could cross a spend limit."""


class SpendStoreUnavailable(FwMcpError):
    """Budgets are set but their store cannot be used, so calls are refused (fail closed)."""


@dataclass(frozen=True, slots=True)
class Hold:
    """A call's reservation: `rid` is None when nothing was reserved (no limits, or the store is down)."""

    rid: str | None
    user: str
    tool: str
    scopes: tuple[Scope, ...] = ()


def open_store(budget: BudgetSection) -> SpendStore | None:
    """The configured store, or None for `store = "off"`. Opening does no I/O."""
    where = budget.store
    if where == "off":
        return None
    if where.startswith(("redis://", "rediss://", "unix://")):
        from fw_mcp.spend.redis_store import RedisStore

        return RedisStore(where)
    from fw_mcp.spend.sqlite_store import SQLiteStore, default_path

    path = where.removeprefix("sqlite://") if where else ""
    return SQLiteStore(Path(path).expanduser() if path else default_path())


class Spend:
    """`store="lazy"` opens the configured store on first use (so start-up does no I/O)."""

    def __init__(
        self, budget: BudgetSection, prices: dict[str, PriceEntry], store: SpendStore | Literal["lazy"] | None
    ) -> None:
        self.budget = budget
        self.prices = PriceTable(prices)
        self._store = store
        self._noted: dict[str, str] = {}
        self.settled_jobs: set[str] = set()  # batch jobs this process has counted (fw_mcp.spend.batch)
        redis = budget.store.startswith(("redis://", "rediss://", "unix://"))
        if store == "lazy" and redis and importlib.util.find_spec("redis") is None:
            raise ConfigError(
                '[budget] store is a Redis URL, but the redis client is not installed: pip install "fw-mcp[redis]".'
            )

    @property
    def store(self) -> SpendStore | None:
        if self._store == "lazy":
            self._store = open_store(self.budget)
        return self._store

    def ceiling(
        self, model: str, prompt_tokens: int, max_tokens: int | None, *, batch: bool = False
    ) -> Cost | None:
        """The most a request can cost; `max_tokens` None is the API's default, 0 is no output at all."""
        out = DEFAULT_MAX_TOKENS if max_tokens is None else max_tokens
        return self.prices.ceiling(model, prompt_tokens, out, batch=batch)

    def _checks(self, user: str, now: datetime) -> tuple[list[Scope], list[Check]]:
        scopes = scopes_for(now, user)
        checks: list[Check] = []
        for scope in scopes:
            limits: Limits = self.budget if scope.user == SERVER else self.budget.user_limits(user)
            usd = limits.daily_usd if scope.period == "day" else limits.monthly_usd
            if usd > 0:
                checks.append(Check(scope, round(usd * NANOS_PER_USD)))
        return scopes, checks

    async def reserve(
        self,
        *,
        tool: str,
        user: str,
        model: str,
        prompt_tokens: int,
        max_tokens: int | None,
        ttl: float,
        batch: bool = False,
    ) -> Hold:
        """Hold the call's maximum cost under every limit that applies to it (`batch`: at batch prices).

        Raises:
            BudgetExceeded: a limit would be crossed, or the model has no price while a limit is set.
            SpendStoreUnavailable: the store failed and `[budget] on_store_error` is "refuse".
        """
        scopes, checks = self._checks(user, datetime.now(UTC))
        if not checks or self.store is None:
            return Hold(None, user, tool)
        ceiling = self.ceiling(model, prompt_tokens, max_tokens, batch=batch)
        if ceiling is None:
            short = model.removeprefix(MODEL_PREFIX).partition("#")[0]
            raise BudgetExceeded(
                f"Refused: a spend limit is set ([budget]) but {model} has no price, so its cost cannot be "
                f'checked. Add [prices."{short}"] to the config file, or choose a priced model.'
            )
        rid = os.urandom(16).hex()
        try:
            refusal = await self.store.reserve(rid, scopes, checks, ceiling.nanos, ttl)
        except StoreError as exc:
            if self.budget.on_store_error == "allow":
                logger.warning("%s The call goes ahead unchecked ([budget] on_store_error = allow).", exc)
                return Hold(None, user, tool)
            raise SpendStoreUnavailable(
                f"{exc} Calls are refused while a budget is set and its store is down "
                '([budget] on_store_error = "refuse"; "allow" lets them through unchecked).'
            ) from None
        if refusal is not None:
            raise BudgetExceeded(_refusal_message(refusal, ceiling.nanos))
        return Hold(rid, user, tool, tuple(scopes))

    async def settle(self, hold: Hold, model: str, tokens: Tokens, *, batch: bool = False) -> Cost | None:
        """Count the call (releasing its hold) and return its estimated cost; None when unpriced.

        A store failure is logged, never raised: the call already happened and its answer matters more.
        """
        cost = self.prices.cost(model, tokens, batch=batch)
        if self.store is None:
            return cost
        record = UsageRecord(
            user=hold.user,
            tool=hold.tool,
            model=model,
            prompt_tokens=tokens.prompt,
            cached_tokens=tokens.cached,
            completion_tokens=tokens.completion,
            cost_nanos=cost.nanos if cost else 0,
            priced=cost is not None,
        )
        try:
            await self.store.settle(hold.rid, record)
        except StoreError as exc:
            logger.error("Usage of a %s call was not recorded: %s", hold.tool, exc)
        return cost

    async def release(self, hold: Hold) -> None:
        """A call that failed before any token: drop its hold now rather than at its expiry."""
        if hold.rid is None or self.store is None:
            return
        try:
            await self.store.release(hold.rid, list(hold.scopes))
        except StoreError as exc:
            logger.warning("A hold was not released (it expires on its own): %s", exc)

    async def note_rate_limits(self, limits: dict[str, str]) -> None:
        """Keep the rate limits Fireworks sent last (for `usage` and `doctor`); written only when they change."""
        if not limits or limits == self._noted or self.store is None:
            return
        self._noted = dict(limits)
        try:
            await self.store.note_rate_limits(self._noted)
        except StoreError as exc:
            logger.warning("Rate limits were not recorded: %s", exc)

    async def aclose(self) -> None:
        if self._store is not None and self._store != "lazy":
            await self._store.aclose()


def _refusal_message(refusal: Refusal, needed: int) -> str:
    scope = refusal.check.scope
    whose = "the server's" if scope.user == SERVER else f"user {scope.user}'s"
    period = "daily" if scope.period == "day" else "monthly"
    name = "daily_usd" if scope.period == "day" else "monthly_usd"
    setting = (
        f"[budget] {name}"
        if scope.user == SERVER
        else f'{name} in [budget.users."{scope.user}"] or [budget.user_default]'
    )
    when = resets_at(scope).strftime("%Y-%m-%d %H:%M UTC")
    return (
        f"Refused before anything was sent: {whose} {period} budget of {format_usd(refusal.check.limit_nanos)} "
        f"has {format_usd(refusal.spent_nanos)} spent or held, and this call may cost up to "
        f"{format_usd(needed)}. It resets at {when}. Lower max_tokens, wait, or raise {setting}."
    )
