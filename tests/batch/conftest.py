"""Batch tests share one simulator on loopback; each test starts with an empty control plane."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from fw_mcp.simulator import SimulatorServer
from fw_mcp.simulator.batch_store import BatchStore

ACCOUNT = "acct-test"
BATCH_TOOLS = frozenset({"batch_submit", "batch_status", "batch_results", "batch_cancel", "batch_list"})


@pytest.fixture
def batch_sim(simulator: SimulatorServer) -> Iterator[SimulatorServer]:
    """The session's simulator with its batch store emptied and fast jobs, before and after the test."""
    store: BatchStore = simulator.app.batch
    store.reset()
    store.configure(step_seconds=0.02, request_seconds=0.0001)
    yield simulator
    store.reset()
