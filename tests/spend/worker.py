"""`python -m tests.spend.worker STORE CALLS SEED LIMIT_NANOS`: CALLS concurrent reserve+settle cycles
on one store, as one fw-mcp process would make them; prints the costs it settled and its refusals."""

from __future__ import annotations

import json
import random
import sys
import uuid
from datetime import UTC, datetime

import anyio
import anyio.lowlevel

from fw_mcp.spend.budget import open_store
from fw_mcp.spend.config import BudgetSection
from fw_mcp.spend.ledger import Check, UsageRecord, scopes_for

CEILING = 50_000


async def main(store_url: str, calls: int, seed: int, limit: int) -> None:
    store = open_store(BudgetSection(store=store_url))
    assert store is not None
    rng = random.Random(seed)
    settled: list[int] = []
    refused = 0

    async def one(cost: int) -> None:
        nonlocal refused
        now = datetime.now(UTC)
        scopes = scopes_for(now, "alice")
        checks = [Check(scopes[0], limit)] if limit else []
        rid = uuid.uuid4().hex
        if await store.reserve(rid, scopes, checks, CEILING, 60.0) is not None:
            refused += 1
            return
        await anyio.lowlevel.checkpoint()
        await store.settle(rid, UsageRecord("alice", "chat", "m", 10, 2, 5, cost, True, when=now))
        settled.append(cost)

    async with anyio.create_task_group() as tg:
        for _ in range(calls):
            tg.start_soon(one, rng.randint(CEILING * 7 // 10, CEILING))
    await store.aclose()
    print(json.dumps({"settled": settled, "refused": refused}))


if __name__ == "__main__":
    anyio.run(main, sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]))
