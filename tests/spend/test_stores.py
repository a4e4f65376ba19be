"""The SQLite and Redis stores behave alike: atomic reservations, exact totals, across processes."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import anyio
import pytest

from fw_mcp.spend.budget import open_store
from fw_mcp.spend.config import BudgetSection
from fw_mcp.spend.ledger import Check, Scope, SpendStore, UsageRecord, scopes_for
from tests.spend.worker import CEILING

ROOT = Path(__file__).resolve().parents[2]
NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


@pytest.fixture(params=["sqlite", "redis"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return str(tmp_path / "usage.db")
    return str(request.getfixturevalue("fresh_redis"))


@pytest.fixture
async def store(store_url: str) -> AsyncIterator[SpendStore]:
    opened = open_store(BudgetSection(store=store_url))
    assert opened is not None
    yield opened
    await opened.aclose()


def record(cost: int, user: str = "alice", model: str = "m", when: datetime = NOW) -> UsageRecord:
    return UsageRecord(user, "chat", model, 100, 40, 20, cost, priced=True, when=when)


async def test_a_settled_call_replaces_its_hold_with_its_real_cost(store: SpendStore) -> None:
    scopes = scopes_for(NOW, "alice")
    assert await store.reserve("r1", scopes, [], 1000, 60) is None
    assert (await store.spent(scopes))[scopes[0]] == 1000
    await store.settle("r1", record(300))
    spent = await store.spent([*scopes, Scope("day", "2026-11-30", "bob")])
    assert [spent[s] for s in scopes] == [300, 300, 300, 300]
    assert spent[Scope("day", "2026-11-30", "bob")] == 0


async def test_a_reservation_over_a_limit_is_refused_and_names_what_was_spent(store: SpendStore) -> None:
    scopes = scopes_for(NOW, "alice")
    await store.settle(None, record(700))
    user_day = Check(scopes[2], 1000)
    refusal = await store.reserve("r1", scopes, [Check(scopes[0], 10_000), user_day], 400, 60)
    assert refusal is not None and refusal.check == user_day and refusal.spent_nanos == 700
    assert (await store.spent(scopes))[scopes[0]] == 700  # nothing held by the refused call
    assert await store.reserve("r2", scopes, [user_day], 300, 60) is None  # exactly up to the limit


async def test_released_and_expired_holds_stop_counting(store: SpendStore) -> None:
    scopes = scopes_for(NOW, "alice")
    assert await store.reserve("gone", scopes, [], 500, -1) is None  # already expired
    assert await store.reserve("kept", scopes, [], 200, 60) is None
    assert (await store.spent(scopes))[scopes[0]] == 200
    await store.release("kept", scopes)
    assert (await store.spent(scopes))[scopes[0]] == 0


async def test_fifty_concurrent_reservations_never_exceed_the_limit(store: SpendStore) -> None:
    scopes = scopes_for(NOW, "alice")
    limit = Check(scopes[0], 10 * 1000 + 999)  # room for exactly ten holds of 1000
    results: list[bool] = []

    async def one(i: int) -> None:
        results.append(await store.reserve(f"r{i}", scopes, [limit], 1000, 60) is None)

    async with anyio.create_task_group() as tg:
        for i in range(50):
            tg.start_soon(one, i)
    assert results.count(True) == 10
    assert (await store.spent(scopes))[scopes[0]] == 10_000


async def test_usage_rows_add_up_per_day_user_tool_and_model(store: SpendStore) -> None:
    yesterday = NOW - timedelta(days=1)
    for cost, user, model, when in [
        (5, "alice", "a", NOW),
        (7, "alice", "a", NOW),
        (11, "bob", "b", yesterday),
    ]:
        await store.settle(None, record(cost, user, model, when))
    await store.settle(None, UsageRecord("bob", "chat", "unpriced", 3, 0, 1, 0, priced=False, when=NOW))
    rows = await store.rows("2026-11-29")
    summary = [
        (r.day, r.user, r.model, r.calls, r.prompt_tokens, r.cached_tokens, r.cost_nanos, r.unpriced_calls)
        for r in rows
    ]
    assert summary == [
        ("2026-11-29", "bob", "b", 1, 100, 40, 11, 0),
        ("2026-11-30", "alice", "a", 2, 200, 80, 12, 0),
        ("2026-11-30", "bob", "unpriced", 1, 3, 0, 0, 1),
    ]
    assert [r.day for r in await store.rows("2026-11-30")] == ["2026-11-30", "2026-11-30"]


async def test_rate_limits_seen_last_are_kept(store: SpendStore) -> None:
    await store.note_rate_limits({"x-ratelimit-limit-requests": "600"})
    await store.note_rate_limits(
        {"x-ratelimit-limit-requests": "300", "x-ratelimit-limit-tokens-generated": "36000"}
    )
    assert await store.rate_limits() == {
        "x-ratelimit-limit-requests": "300",
        "x-ratelimit-limit-tokens-generated": "36000",
    }


def test_two_processes_with_fifty_calls_each_total_exactly_the_sum(store_url: str) -> None:
    limit = 60 * CEILING  # room for 60 of the 100 calls' maximum cost
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "tests.spend.worker", store_url, "50", str(seed), str(limit)],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            text=True,
        )
        for seed in (1, 2)
    ]
    outputs = [json.loads(p.communicate(timeout=60)[0]) for p in procs]
    assert all(p.returncode == 0 for p in procs)
    settled = [c for out in outputs for c in out["settled"]]
    assert len(settled) + sum(out["refused"] for out in outputs) == 100
    # The first 60 always fit; all 100 cannot (each costs at least 0.7 of the most it may).
    assert 60 <= len(settled) < 100

    async def totals() -> dict[Scope, int]:
        store = open_store(BudgetSection(store=store_url))
        assert store is not None
        try:
            return await store.spent(scopes_for(datetime.now(UTC), "alice"))
        finally:
            await store.aclose()

    spent = anyio.run(totals)
    assert set(spent.values()) == {sum(settled)}
    assert sum(settled) <= limit
