"""Counts with no hold are written after the call's answer, in the background, and none is lost."""

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
from fw_mcp.spend.ledger import UsageRecord, UsageRow
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


async def test_a_count_with_a_hold_is_written_before_settle_returns(tmp_path: Path) -> None:
    path = tmp_path / "usage.db"
    store = SQLiteStore(path)
    try:
        await store.settle("r1", record(500))
        [row] = await rows_seen_by_another_process(path)
        assert (row.calls, row.cost_nanos) == (1, 500)
    finally:
        await store.aclose()


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
