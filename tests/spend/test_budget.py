"""Budgets: refusals before anything is sent, with the limit, the spend and the reset; fail closed."""

from __future__ import annotations

import logging
import socket
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from fw_mcp.errors import ConfigError
from fw_mcp.settings import load_settings
from fw_mcp.spend.budget import BudgetExceeded, Spend, SpendStoreUnavailable, open_store
from fw_mcp.spend.ledger import StoreError
from fw_mcp.spend.prices import Tokens
from fw_mcp.spend.sqlite_store import SQLiteStore

GPT = "accounts/fireworks/models/gpt-oss-120b"  # 0.15 / 0.015 / 0.60 per million in default.toml


def spend_for(tmp_path: Path, **budget: Any) -> Spend:
    settings = load_settings(overrides={"budget": {"store": str(tmp_path / "usage.db"), **budget}})
    return Spend(settings.budget, settings.prices, open_store(settings.budget))


@pytest.fixture
async def spend(tmp_path: Path) -> AsyncIterator[Spend]:
    # $0.001 a day: room for one call of 1000 prompt + 1000 output tokens (0.00015 + 0.0006 = $0.00075).
    s = spend_for(tmp_path, daily_usd=0.001)
    yield s
    await s.aclose()


async def reserve(spend: Spend, user: str = "", max_tokens: int | None = 1000, model: str = GPT) -> Any:
    return await spend.reserve(
        tool="chat", user=user, model=model, prompt_tokens=1000, max_tokens=max_tokens, ttl=60
    )


async def test_a_call_that_could_cross_the_daily_limit_is_refused_with_limit_spend_and_reset(
    spend: Spend,
) -> None:
    hold = await reserve(spend)
    cost = await spend.settle(hold, GPT, Tokens(prompt=1000, cached=0, completion=500))
    assert cost is not None and cost.nanos == 450_000  # 1000 * 0.15 + 500 * 0.60, in nano-USD
    with pytest.raises(BudgetExceeded) as refused:
        await reserve(spend)
    message = str(refused.value)
    assert "daily budget of $0.001" in message
    assert "$0.00045 spent" in message
    assert "up to $0.00075" in message
    assert "resets at" in message and "00:00 UTC" in message
    assert "[budget] daily_usd" in message


async def test_a_smaller_max_tokens_fits_where_a_larger_one_does_not(spend: Spend) -> None:
    await spend.settle(await reserve(spend), GPT, Tokens(prompt=1000, completion=500))
    with pytest.raises(BudgetExceeded):
        await reserve(spend, max_tokens=1000)
    await reserve(spend, max_tokens=500)  # 0.00015 + 0.0003 = 0.00045: exactly the room left


async def test_holds_count_until_settled_so_concurrent_calls_cannot_overspend(spend: Spend) -> None:
    await reserve(spend)
    with pytest.raises(BudgetExceeded, match="spent or held"):
        await reserve(spend)


async def test_a_released_hold_frees_its_room(spend: Spend) -> None:
    hold = await reserve(spend)
    await spend.release(hold)
    await reserve(spend)


async def test_each_user_has_their_own_limit_and_the_default(tmp_path: Path) -> None:
    spend = spend_for(tmp_path, user_default={"daily_usd": 0.001}, users={"alice": {"daily_usd": 0.002}})
    try:
        for user in ("alice", "bob"):
            await spend.settle(await reserve(spend, user), GPT, Tokens(prompt=1000, completion=500))
        await reserve(spend, "alice")  # 0.00045 + 0.00075 <= 0.002
        with pytest.raises(BudgetExceeded) as refused:
            await reserve(spend, "bob")
        assert "user bob's daily budget of $0.001" in str(refused.value)
        assert '[budget.users."bob"]' in str(refused.value)
    finally:
        await spend.aclose()


async def test_a_monthly_limit_names_the_first_of_next_month(tmp_path: Path) -> None:
    spend = spend_for(tmp_path, monthly_usd=0.0005)
    try:
        with pytest.raises(
            BudgetExceeded, match=r"monthly budget of \$0.0005 .* resets at \d{4}-\d{2}-01 00:00 UTC"
        ):
            await reserve(spend)
    finally:
        await spend.aclose()


async def test_an_unpriced_model_under_a_budget_is_refused_with_how_to_price_it(spend: Spend) -> None:
    with pytest.raises(BudgetExceeded, match=r'no price.*\[prices\."mystery"\]'):
        await reserve(spend, model="accounts/fireworks/models/mystery")


async def test_without_limits_nothing_is_reserved_but_the_call_is_counted(tmp_path: Path) -> None:
    spend = spend_for(tmp_path)
    try:
        hold = await reserve(spend, model="accounts/fireworks/models/mystery")
        assert hold.rid is None
        assert (
            await spend.settle(hold, "accounts/fireworks/models/mystery", Tokens(prompt=5, completion=1))
            is None
        )
        assert spend.store is not None
        [row] = await spend.store.rows("2000-01-01")
        assert (row.calls, row.unpriced_calls, row.cost_nanos) == (1, 1, 0)
    finally:
        await spend.aclose()


def corrupt(path: Path) -> Path:
    path.write_bytes(b"this is not a database" * 200)
    return path


async def test_a_corrupt_store_refuses_calls_while_a_budget_is_set(tmp_path: Path) -> None:
    corrupt(tmp_path / "usage.db")
    spend = spend_for(tmp_path, daily_usd=1)
    with pytest.raises(SpendStoreUnavailable) as refused:
        await reserve(spend)
    message = str(refused.value)
    assert str(tmp_path / "usage.db") in message and "corrupt" in message and "move it aside" in message
    assert 'on_store_error = "refuse"' in message
    await spend.aclose()


async def test_on_store_error_allow_lets_calls_through_unchecked(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    corrupt(tmp_path / "usage.db")
    spend = spend_for(tmp_path, daily_usd=1, on_store_error="allow")
    with caplog.at_level(logging.WARNING):
        hold = await reserve(spend)
        assert await spend.settle(hold, GPT, Tokens(prompt=10, completion=10)) is not None
        await spend.aclose()  # nothing was held, so the count is written after the call: it fails then
    assert "goes ahead unchecked" in caplog.text and "was not recorded" in caplog.text


async def test_a_locked_sqlite_file_is_named_after_the_busy_timeout(tmp_path: Path) -> None:
    path = tmp_path / "usage.db"
    store = SQLiteStore(path, busy_timeout=0.05)
    await store.rate_limits()  # creates the file
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN EXCLUSIVE")
    try:
        with pytest.raises(StoreError, match=r"locked .* over 0\.05 s"):
            await store.note_rate_limits({"a": "1"})
    finally:
        other.execute("ROLLBACK")
        other.close()
        await store.aclose()


async def test_an_unreachable_redis_refuses_calls_and_hides_the_password(tmp_path: Path) -> None:
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    settings = load_settings(
        overrides={"budget": {"store": f"redis://:hunter2@127.0.0.1:{port}/0", "daily_usd": 1}}
    )
    spend = Spend(settings.budget, settings.prices, open_store(settings.budget))
    with pytest.raises(SpendStoreUnavailable) as refused:
        await reserve(spend)
    assert f"Redis at redis://:***@127.0.0.1:{port}/0" in str(refused.value)
    assert "hunter2" not in str(refused.value)
    await spend.aclose()


@pytest.mark.parametrize(
    ("section", "values", "named"),
    [
        ("budget", {"daily_usd": -1}, "budget.daily_usd"),
        ("budget", {"user_default": {"monthly_usd": -5}}, "budget.user_default.monthly_usd"),
        ("budget", {"store": "postgres://db"}, "budget.store"),
        ("budget", {"on_store_error": "ignore"}, "budget.on_store_error"),
        (
            "prices",
            {"gpt-oss-120b": {"input": 0.1, "ouput": 0.2, "as_of": "2026-11"}},
            "[prices.gpt-oss-120b] ouput: unknown setting",
        ),
        ("prices", {"x": {"input": -0.1, "output": 0.2, "as_of": "2026-11"}}, "prices.x.input"),
        ("prices", {"x": {"input": 0.1, "output": 0.2, "as_of": "last week"}}, "prices.x.as_of"),
        ("fallback", {"chta": ["x"]}, "unknown tool chta"),
    ],
)
def test_bad_spend_settings_fail_at_start_naming_the_setting(section: str, values: Any, named: str) -> None:
    with pytest.raises(ConfigError) as refused:
        load_settings(overrides={section: values})
    assert named in str(refused.value)
