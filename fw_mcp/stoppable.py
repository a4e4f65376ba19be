"""Blocking work in a worker thread that stops when the call that wanted it is cancelled.

anyio's `run_sync` either makes a cancelled call wait for its thread (a 1 GiB file checked to the
end) or abandons the thread, which then works on for nobody. Here the call returns at once and the
thread sees `stop` set at its next step (a line of a file), and gives up.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator
from typing import TypeVar

import anyio.to_thread

__all__ = ["Stopped", "run_stoppable", "until_stopped"]

T = TypeVar("T")


class Stopped(Exception):
    """The call that wanted this work is gone."""


async def run_stoppable(work: Callable[[threading.Event], T]) -> T:
    """`work(stop)` in a worker thread; cancelling the caller sets `stop` and returns at once."""
    stop = threading.Event()
    try:
        return await anyio.to_thread.run_sync(work, stop, abandon_on_cancel=True)
    finally:
        stop.set()


def until_stopped(items: Iterable[T], stop: threading.Event | None) -> Iterator[T]:
    """`items`, raising Stopped before the next one once `stop` is set."""
    for item in items:
        if stop is not None and stop.is_set():
            raise Stopped
        yield item
