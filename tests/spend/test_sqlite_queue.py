"""Counts are written after the call's answer, in the background, and none is lost; a hold counts until then."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import anyio
import mcp
from mcp.types import TextResourceContents

from fw_mcp.resources import USAGE_URI
from fw_mcp.server import build_server
from fw_mcp.simulator import SimulatorServer
from fw_mcp.spend.ledger import Check, Scope, UsageRecord, UsageRow
from fw_mcp.spend.sqlite_store import SQLiteStore
from tests.conftest import make_settings

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


def record(cost: int) -> UsageRecord:
    return UsageRecord("alice", "chat", "m", 100, 40, 20, cost, priced=True, when=NOW)


async def rows_seen_by_another_process(path: Path) -> list[UsageRow]:
    other = SQLiteStore(path)  # its own connection, as `fw-mcp usage` in another process would have
    try:
        return await other.rows("2000-01-01")
    finally:
        await other.aclose()


async def test_a_count_without_a_hold_is_written_in_the_background(tmp_path: Path) -> None:
    path = tmp_path / "usage.db"
    store = SQLiteStore(path)
    try:
        await store.rate_limits()  # opens the file, so the other connection reads a database
        await store.settle(None, record(300))  # returns at once: the write follows
        with anyio.fail_after(10):
            while not (rows := await rows_seen_by_another_process(path)):  # noqa: ASYNC110 - no event
                await anyio.sleep(
                    0.01
                )  # to await: the write is in a worker thread, read by another connection
        assert [(r.calls, r.cost_nanos) for r in rows] == [(1, 300)]
    finally:
        await store.aclose()


async def test_closing_writes_every_queued_count(tmp_path: Path) -> None:
    path = tmp_path / "usage.db"
    store = SQLiteStore(path)
    for cost in (100, 200, 300):
        await store.settle(None, record(cost))
    await store.aclose()
    [row] = await rows_seen_by_another_process(path)
    assert (row.calls, row.cost_nanos) == (3, 600)


async def test_a_count_with_a_hold_is_written_at_once_and_its_hold_counts_until_then(tmp_path: Path) -> None:
    """The answer does not wait for the write, but no process ever sees less than the call's cost."""
    path = tmp_path / "usage.db"
    store = SQLiteStore(path)
    scope = Scope("day", "2026-11-30")
    try:
        assert await store.reserve("r1", [scope], [Check(scope, 10_000)], 1_000, ttl=60) is None
        await store.settle("r1", record(500))
        other = SQLiteStore(path)
        try:
            with anyio.fail_after(10):
                while (
                    seen := (await other.spent([scope]))[scope]
                ) != 500:  # another connection: no event to await
                    assert seen == 1_000  # the hold, until the settlement lands
                    await anyio.sleep(0.01)
        finally:
            await other.aclose()
        [row] = await rows_seen_by_another_process(path)
        assert (row.calls, row.cost_nanos) == (1, 500)
    finally:
        await store.aclose()


async def test_closing_right_after_a_settlement_with_a_hold_writes_it(tmp_path: Path) -> None:
    path = tmp_path / "usage.db"
    store = SQLiteStore(path)
    await store.settle("r1", record(700))
    await store.aclose()
    [row] = await rows_seen_by_another_process(path)
    assert (row.calls, row.cost_nanos) == (1, 700)


async def test_the_usage_resource_counts_the_call_just_answered(
    simulator: SimulatorServer, tmp_path: Path
) -> None:
    """The resource opens its own store on the same file: it writes the server's queued counts first."""
    settings = make_settings(simulator.base_url, budget={"store": str(tmp_path / "usage.db")})
    async with mcp.Client(build_server(settings)) as client:
        result = await client.call_tool("chat", {"prompt": "hi"})
        assert not result.is_error
        [content] = (await client.read_resource(USAGE_URI)).contents
    assert isinstance(content, TextResourceContents)
    assert json.loads(content.text)["totals"]["calls"] == 1
