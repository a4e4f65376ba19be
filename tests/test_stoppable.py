"""A cancelled call stops its worker thread's blocking work instead of leaving it to run on."""

from __future__ import annotations

import io
import threading

import anyio
import pytest

from fw_mcp.stoppable import Stopped, run_stoppable, until_stopped
from fw_mcp.tools.batch_input import check_lines

LINE = b'{"custom_id": "a", "body": {"messages": [{"role": "user", "content": "hi"}]}}\n'


async def test_cancelling_the_caller_returns_at_once_and_sets_the_workers_stop() -> None:
    started, saw_stop = threading.Event(), threading.Event()

    def work(stop: threading.Event) -> None:
        started.set()
        if stop.wait(30):  # the worker's next step: it sees the call is gone
            saw_stop.set()

    with anyio.CancelScope() as scope:
        async with anyio.create_task_group() as tg:

            async def cancel_when_started() -> None:
                await anyio.to_thread.run_sync(started.wait, 30)
                scope.cancel()

            tg.start_soon(cancel_when_started)
            await run_stoppable(work)
    assert scope.cancelled_caught
    assert await anyio.to_thread.run_sync(saw_stop.wait, 30)


def test_checking_a_batch_file_stops_at_the_next_line_once_stopped() -> None:
    stop = threading.Event()
    read: list[bytes] = []

    class Counting(io.BytesIO):
        def readline(self, size: int | None = -1) -> bytes:
            line = super().readline(size)
            read.append(line)
            if len(read) == 3:
                stop.set()  # the call is cancelled while line 3 is checked
            return line

    with pytest.raises(Stopped):
        check_lines(Counting(LINE * 1000), "m", 1 << 20, "input_path", stop=stop)
    assert len(read) == 3


def test_until_stopped_yields_until_the_stop_is_set() -> None:
    stop = threading.Event()
    seen = []
    with pytest.raises(Stopped):
        for n in until_stopped(range(10), stop):
            seen.append(n)
            if n == 4:
                stop.set()
    assert seen == [0, 1, 2, 3, 4]
