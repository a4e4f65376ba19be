"""Usage you can read: calls, tokens, cached tokens, cost and budget left, from the spend store.

One report for `fw-mcp usage` and the `fireworks://usage` resource. The resource leaves user names
out (any caller can read it); the command, run by whoever can read the store, shows them.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from fw_mcp.errors import ConfigError
from fw_mcp.settings import Settings
from fw_mcp.spend.budget import open_store
from fw_mcp.spend.ledger import SERVER, Scope, SpendStore, UsageRow, resets_at
from fw_mcp.spend.prices import NANOS_PER_USD

__all__ = ["By", "read_usage", "usage_report"]

By = Literal["model", "user", "day", "tool"]
_METRICS = ("calls", "prompt_tokens", "cached_tokens", "completion_tokens", "cost_nanos", "unpriced_calls")


def _usd(nanos: int) -> float:
    return round(nanos / NANOS_PER_USD, 9)


def _group(rows: Iterable[UsageRow], by: By) -> list[dict[str, Any]]:
    groups: dict[str, dict[str, int]] = {}
    for row in rows:
        key = getattr(row, by) or ("(server)" if by == "user" else "")
        totals = groups.setdefault(key, dict.fromkeys(_METRICS, 0))
        for metric in _METRICS:
            totals[metric] += getattr(row, metric)
    return [{by: key, **_shown(totals)} for key, totals in sorted(groups.items())]


def _shown(totals: dict[str, int]) -> dict[str, Any]:
    out: dict[str, Any] = {k: v for k, v in totals.items() if k != "cost_nanos"}
    out["cost_usd"] = _usd(totals["cost_nanos"])
    return out


def _budget_lines(settings: Settings, spent: dict[Scope, int]) -> list[dict[str, Any]]:
    lines = []
    for scope, used in spent.items():
        limits = settings.budget if scope.user == SERVER else settings.budget.user_limits(scope.user)
        usd = limits.daily_usd if scope.period == "day" else limits.monthly_usd
        line: dict[str, Any] = {"scope": "server" if scope.user == SERVER else f"user {scope.user}"}
        line |= {"period": scope.period, "limit_usd": usd, "spent_or_held_usd": _usd(used)}
        line |= {
            "left_usd": round(max(usd - used / NANOS_PER_USD, 0), 9),
            "resets_at": resets_at(scope).isoformat(),
        }
        lines.append(line)
    return lines


async def usage_report(
    settings: Settings, store: SpendStore, *, by: By = "model", days: int = 31, with_users: bool = True
) -> dict[str, Any]:
    """The report as JSON-able data: totals, rows grouped `by`, budgets and rate limits seen last."""
    now = datetime.now(UTC)
    since = (now - timedelta(days=days - 1)).strftime("%Y-%m-%d")
    rows = await store.rows(since)
    if not with_users and by == "user":
        by = "model"
    day, month = now.strftime("%Y-%m-%d"), now.strftime("%Y-%m")
    scopes = [Scope("day", day), Scope("month", month)]
    if with_users:
        users = sorted({r.user for r in rows if r.user} | set(settings.budget.users))
        scopes += [s for u in users for s in (Scope("day", day, u), Scope("month", month, u))]
    limited = [s for s in scopes if _limit_of(settings, s) > 0]
    spent = await store.spent(limited) if limited else {}
    totals = _group(rows, "tool")
    grand = {m: sum(t[m] for t in totals) for m in _METRICS if m != "cost_nanos"}
    grand["cost_usd"] = round(sum(t["cost_usd"] for t in totals), 9)
    return {
        "since": since,
        "store": store.where,
        "estimated": True,
        "totals": grand,
        "by": by,
        "rows": _group(rows, by),
        "budgets": _budget_lines(settings, spent),
        "rate_limits": await store.rate_limits(),
        "note": "Costs are estimates from the [prices] table; calls to models without a price count as "
        "unpriced_calls and add nothing to cost_usd.",
    }


def _limit_of(settings: Settings, scope: Scope) -> float:
    limits = settings.budget if scope.user == SERVER else settings.budget.user_limits(scope.user)
    return limits.daily_usd if scope.period == "day" else limits.monthly_usd


async def read_usage(
    settings: Settings, *, by: By = "model", days: int = 31, with_users: bool = True
) -> dict[str, Any]:
    """Open the configured store, read the report, close it.

    Raises:
        StoreError: the store could not be read; ConfigError: `[budget] store = "off"`.
    """
    store = open_store(settings.budget)
    if store is None:
        raise ConfigError(
            'Usage is not recorded: [budget] store = "off". Set it to "" (the default) to count calls.'
        )
    try:
        return await usage_report(settings, store, by=by, days=days, with_users=with_users)
    finally:
        await store.aclose()
