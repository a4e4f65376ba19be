"""What the spend tests of tools share: settings with a store in tmp_path, an in-process MCP client,
and the ledger as another process would read it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import mcp

from fw_mcp.server import build_server
from fw_mcp.settings import Settings
from fw_mcp.simulator import SimulatorServer
from fw_mcp.spend.budget import open_store
from fw_mcp.spend.ledger import UsageRow, scopes_for
from tests.conftest import make_settings


def settings_for(simulator: SimulatorServer, tmp_path: Path, **sections: Any) -> Settings:
    budget = {"store": str(tmp_path / "usage.db"), **sections.pop("budget", {})}
    return make_settings(simulator.base_url, budget=budget, **sections)


@asynccontextmanager
async def connect(settings: Settings) -> AsyncIterator[mcp.Client]:
    async with mcp.Client(build_server(settings)) as client:
        yield client


async def ledger(settings: Settings) -> tuple[list[UsageRow], int]:
    """Today's usage rows, and what is spent or held in the server's day scope."""
    store = open_store(settings.budget)
    assert store is not None
    try:
        now = datetime.now(UTC)
        day = scopes_for(now, "")[0]
        return await store.rows(now.strftime("%Y-%m-%d")), (await store.spent([day]))[day]
    finally:
        await store.aclose()
