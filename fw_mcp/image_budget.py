"""A process-wide budget of decoded pixels, so hostile images cannot decode without bound at once.

An image a few hundred KB on the wire can decode to hundreds of MB (just under Pillow's bomb
limit); thirty of them in parallel calls would take gigabytes. Each decode holds its pixel count
from this budget while it runs, in the worker thread that decodes; an image larger than the whole
budget is refused. A waiting worker gives up when its call is cancelled (`Ticket.stop`), and a
decode under way stops at its next block (`Ticket.check`, called by the stream Pillow reads).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from fw_mcp.errors import InvalidArgument

__all__ = ["PIXELS", "PixelBudget", "Stopped", "Ticket"]


class Stopped(Exception):
    """The call that wanted the pixels was cancelled (while it waited for them, or decoded)."""


class Ticket:
    """One call's claim on the budget: `stop()` (from any thread) makes its waiting worker give up."""

    def __init__(self, budget: PixelBudget, total: int) -> None:
        self.budget = budget
        self.total = total
        self.stopped = False
        self.blocks = 0  # blocks of image data read by its decodes: how far the work got

    def stop(self) -> None:
        self.stopped = True
        self.budget.wake()

    def check(self) -> None:
        """Raise Stopped once the call is gone: its worker thread must not go on decoding."""
        if self.stopped:
            raise Stopped


class PixelBudget:
    """Pixels being decoded right now, across the process, against a limit given per claim."""

    def __init__(self) -> None:
        self._used = 0
        self._waiting = 0
        self._cond = threading.Condition()

    @contextmanager
    def hold(self, ticket: Ticket, pixels: int, name: str) -> Iterator[None]:
        """Block (in a worker thread) until `pixels` fit, hold them for the block, then give them back.

        Raises:
            InvalidArgument: the image alone is larger than the whole budget.
            Stopped: the ticket was stopped while waiting.
        """
        if pixels > ticket.total:
            raise InvalidArgument(
                name,
                f"the image decodes to {pixels:,} pixels, more than this server decodes at once "
                f"({ticket.total:,}, [limits] max_decoded_pixels); send a smaller image.",
            )
        with self._cond:
            self._waiting += 1
            try:
                while self._used + pixels > ticket.total:
                    if ticket.stopped:
                        raise Stopped
                    self._cond.wait()
            finally:
                self._waiting -= 1
            self._used += pixels
        try:
            yield
        finally:
            with self._cond:
                self._used -= pixels
                self._cond.notify_all()

    def wake(self) -> None:
        with self._cond:
            self._cond.notify_all()

    @property
    def used(self) -> int:
        with self._cond:
            return self._used

    @property
    def waiting(self) -> int:
        with self._cond:
            return self._waiting


PIXELS = PixelBudget()
