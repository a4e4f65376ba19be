"""ProgressReporter's coalescing, ordering and shutdown, against a recording stand-in for the SDK's
Context (only `report_progress` is used). The end-to-end progress path through `python -m fw_mcp`
and the official client is covered in tests/e2e/test_stdio_tools.py.

Each test runs on an event loop whose clock is controlled (`VirtualClockLoop`): it stands still
while any task can run and jumps to the next timer when all wait, so sleeps take no wall time and
the coalescing is asserted to the instant, never against wall time."""

from __future__ import annotations

import asyncio
import functools
import gc
import itertools
import selectors
import warnings
from collections.abc import Awaitable, Callable
from typing import Any

import anyio
import anyio.lowlevel
import pytest

from fw_mcp.fireworks.stream import StreamAccumulator
from fw_mcp.tools.progress import ProgressReporter

INTERVAL = 0.05


class VirtualClockLoop(asyncio.SelectorEventLoop):
    """asyncio's own loop, with a clock that moves only when every task waits.

    When the loop would block until its next timer, the clock jumps there instead and the
    selector is only polled; so timers fire in order, at their exact times, at once.
    """

    def __init__(self) -> None:
        super().__init__()
        self._now = 0.0
        self._selector = _JumpingSelector(self._selector, self)

    def time(self) -> float:
        return self._now

    def advance(self, seconds: float) -> None:
        self._now += seconds


class _JumpingSelector(selectors.BaseSelector):
    def __init__(self, inner: selectors.BaseSelector, loop: VirtualClockLoop) -> None:
        self._inner, self._loop = inner, loop

    def select(self, timeout: float | None = None) -> list[tuple[selectors.SelectorKey, int]]:
        if timeout is not None and timeout > 0:
            self._loop.advance(timeout)
            timeout = 0
        return self._inner.select(timeout)

    def register(self, fileobj: Any, events: int, data: Any = None) -> selectors.SelectorKey:
        return self._inner.register(fileobj, events, data)

    def unregister(self, fileobj: Any) -> selectors.SelectorKey:
        return self._inner.unregister(fileobj)

    def modify(self, fileobj: Any, events: int, data: Any = None) -> selectors.SelectorKey:
        return self._inner.modify(fileobj, events, data)

    def close(self) -> None:
        self._inner.close()

    def get_map(self) -> Any:
        return self._inner.get_map()


def on_virtual_clock(test: Callable[[], Awaitable[None]]) -> Callable[[], None]:
    """Run an async test on a fresh `VirtualClockLoop`."""

    @functools.wraps(test)
    def run() -> None:
        with asyncio.Runner(loop_factory=VirtualClockLoop) as runner:
            runner.run(test())  # type: ignore[arg-type]

    return run


class RecordingContext:
    """Records every notification; `block` makes sending hang (a host that stopped reading)."""

    def __init__(self) -> None:
        self.sent: list[tuple[float, float | None, str | None, float]] = []
        self.block = False

    async def report_progress(self, progress: float, total: float | None, message: str | None) -> None:
        if self.block:
            await anyio.sleep_forever()
        self.sent.append((progress, total, message, asyncio.get_running_loop().time()))

    @property
    def values(self) -> list[float]:
        return [p for p, _, _, _ in self.sent]

    @property
    def times(self) -> list[float]:
        """When each notification went out, on the loop's clock, counted from the first."""
        return [t - self.sent[0][3] for _, _, _, t in self.sent]


def token(acc: StreamAccumulator, text: str) -> None:
    acc.apply({"choices": [{"index": 0, "delta": {"content": text}}]})


def reporter(ctx: RecordingContext, total: int | None = 100) -> ProgressReporter:
    return ProgressReporter(ctx, INTERVAL, total)  # type: ignore[arg-type]


@on_virtual_clock
async def test_a_burst_gives_one_notification_at_once_and_the_rest_before_the_result() -> None:
    ctx, acc = RecordingContext(), StreamAccumulator()
    async with reporter(ctx) as progress:
        token(acc, "w0 ")
        progress.on_delta(acc)
        await anyio.lowlevel.checkpoint()  # a turn of the loop: the first notification goes out
        await anyio.lowlevel.checkpoint()
        assert ctx.values == [1.0], "the first token is reported at once"
        for i in range(1, 50):
            token(acc, f"w{i} ")
            progress.on_delta(acc)
        await anyio.sleep(INTERVAL / 5)
        assert ctx.values == [1.0], "the rest of the burst is held back by the window"
    assert ctx.values == [1.0, 50.0], "the last notification carries every token, before exit"
    assert ctx.times == pytest.approx([0.0, INTERVAL / 5]), "the last one at exit, not at the window's end"
    assert ctx.sent[-1][2] is not None and ctx.sent[-1][2].endswith("w49 ")
    assert all(total == 100 for _, total, _, _ in ctx.sent)


@on_virtual_clock
async def test_tokens_then_silence_are_reported_during_the_silence() -> None:
    """A model that emits a burst and then thinks for a while: the burst's tail must not wait
    for the next token or the end of the call."""
    ctx, acc = RecordingContext(), StreamAccumulator()
    async with reporter(ctx) as progress:
        token(acc, "a")
        progress.on_delta(acc)
        await anyio.sleep(0.001)
        token(acc, "b")
        progress.on_delta(acc)  # inside the window: held back
        assert ctx.values == [1.0]
        await anyio.sleep(INTERVAL * 4)  # silence
        assert ctx.values == [1.0, 2.0], "the held-back token went out once the window ended"
        assert ctx.times == pytest.approx([0.0, INTERVAL]), "exactly when the window ended, not later"
    assert ctx.values == [1.0, 2.0], "nothing new at exit: no duplicate notification"


@on_virtual_clock
async def test_steady_stream_is_coalesced_to_about_one_per_interval() -> None:
    ctx, acc = RecordingContext(), StreamAccumulator()
    async with reporter(ctx) as progress:
        for i in range(60):
            token(acc, f"{i} ")
            progress.on_delta(acc)
            await anyio.sleep(INTERVAL / 10)
    # A token every INTERVAL/10 for 6 intervals: one notification at once, then one per interval.
    assert ctx.times == pytest.approx([n * INTERVAL for n in range(7)]), ctx.times
    assert ctx.values == sorted(set(ctx.values)) and ctx.values[-1] == 60.0
    assert all(b - a >= 9 for a, b in itertools.pairwise(ctx.values)), "each carries an interval's tokens"


@on_virtual_clock
async def test_status_messages_keep_progress_strictly_increasing() -> None:
    ctx, acc = RecordingContext(), StreamAccumulator()
    async with reporter(ctx, total=None) as progress:
        await progress.status("Waiting for a free upstream slot")
        token(acc, "x")
        progress.on_delta(acc)
        await anyio.sleep(INTERVAL * 2)
        await progress.status("retrying")
        progress.restart()  # a second round counts on from what was sent
        acc2 = StreamAccumulator()
        token(acc2, "y")
        progress.on_delta(acc2)
    assert ctx.values == sorted(set(ctx.values)), ctx.values
    assert ctx.sent[0][2] == "Waiting for a free upstream slot"
    assert all(total is None for _, total, _, _ in ctx.sent)


@on_virtual_clock
async def test_an_error_exit_sends_nothing_more_and_leaves_no_task() -> None:
    ctx, acc = RecordingContext(), StreamAccumulator()
    with pytest.raises(RuntimeError):
        async with reporter(ctx) as progress:
            token(acc, "a")
            progress.on_delta(acc)
            await anyio.sleep(0.01)
            token(acc, "b")
            progress.on_delta(acc)  # held back by the window when the error comes
            raise RuntimeError("upstream failed")
    await anyio.sleep(INTERVAL * 2)
    assert ctx.values == [1.0], "no notification after an error exit, not even a late timer"
    assert progress._timer is None and progress._sending is None


@on_virtual_clock
async def test_cancelling_the_call_while_a_notification_hangs_is_prompt_and_clean() -> None:
    """The host cancels the call while its pipe is full: the call must end at once, and the
    hung send task must not be left pending (no 'Task was destroyed' at shutdown)."""
    ctx, acc = RecordingContext(), StreamAccumulator()
    ctx.block = True
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with anyio.move_on_after(0.2) as scope:
            async with reporter(ctx) as progress:
                token(acc, "a")
                progress.on_delta(acc)
                await anyio.sleep_forever()
        assert scope.cancelled_caught
        assert progress._sending is None
        gc.collect()


@on_virtual_clock
async def test_a_call_that_finished_while_a_notification_hangs_can_still_be_cancelled() -> None:
    """The host stopped reading (its pipe is full) and then cancels: the wait for the notification
    in flight must give way to the cancellation, not hold the call open forever."""
    ctx, acc = RecordingContext(), StreamAccumulator()
    ctx.block = True
    start = anyio.current_time()
    with anyio.move_on_after(0.3) as scope:
        async with reporter(ctx) as progress:
            token(acc, "a")
            progress.on_delta(acc)
            await anyio.sleep(0.05)  # the notification is going out, and hangs
    assert scope.cancelled_caught and anyio.current_time() - start < 2
    await anyio.lowlevel.checkpoint()
    assert progress._sending is None, "the hung send was stopped too"


@on_virtual_clock
async def test_without_tokens_nothing_is_sent() -> None:
    ctx = RecordingContext()
    async with reporter(ctx):
        await anyio.sleep(INTERVAL * 2)
    assert ctx.sent == []


def test_hook_signature_is_sync() -> None:
    """The client calls `on_delta` synchronously for every chunk; it must not return a coroutine."""
    ctx, acc = RecordingContext(), StreamAccumulator()

    async def main() -> Any:
        async with reporter(ctx) as progress:
            token(acc, "a")
            return progress.on_delta(acc)

    assert anyio.run(main) is None
