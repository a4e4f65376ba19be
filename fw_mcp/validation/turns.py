"""Turns for the schema worker processes: at most `size` jobs at once, waiting jobs by owner.

Owners (the callers' identities) take turns: one token queueing a hundred costly checks delays
another token's check by at most one job per worker, not a hundred.
"""

from __future__ import annotations

from collections import deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio

__all__ = ["Turns"]


class Turns:
    """At most `size` jobs at once per event loop; waiting jobs take turns by owner."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._busy = 0
        self._queues: dict[str, deque[anyio.Event]] = {}
        self._order: deque[str] = deque()

    @asynccontextmanager
    async def slot(self, owner: str) -> AsyncIterator[None]:
        if self._busy < self.size and not self._order:
            self._busy += 1
        else:
            await self._wait(owner)
        try:
            yield
        finally:
            self._release()

    async def _wait(self, owner: str) -> None:
        granted = anyio.Event()
        queue = self._queues.setdefault(owner, deque())
        queue.append(granted)
        if owner not in self._order:
            self._order.append(owner)
        try:
            await granted.wait()
        except BaseException:
            if granted.is_set():  # the slot came as the call was cancelled: pass it on
                self._release()
            else:
                queue.remove(granted)
                if not queue:
                    del self._queues[owner]
                    self._order.remove(owner)
            raise

    def _release(self) -> None:
        if not self._order:
            self._busy -= 1
            return
        owner = self._order.popleft()
        queue = self._queues[owner]
        granted = queue.popleft()
        if queue:
            self._order.append(owner)  # its next job waits for everyone else's turn
        else:
            del self._queues[owner]
        granted.set()
