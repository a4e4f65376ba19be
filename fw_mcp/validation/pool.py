"""Worker processes for schema work too costly for the event loop's process.

Validation is pure Python: in a thread it holds the GIL, and the event loop serving every other
call waits for it (under attack a normal call took 13 times longer). In a worker process it takes
another core, at a lower priority. The processes start on first need (`prestart`), are shared by the
whole server process, and live until it ends; a job that outruns its budget (stuck in C code) or
whose call is cancelled has its process killed, and the next job starts a fresh one.

Waiting jobs take turns by owner (the caller's identity): one token queueing a hundred costly
checks delays another token's check by at most one job per worker, not a hundred.
"""

from __future__ import annotations

import atexit
import pickle
import subprocess
import sys
import threading
from collections import Counter, deque
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager, suppress
from typing import Any, TypeVar

import anyio
import anyio.to_thread
from anyio.lowlevel import RunVar

from fw_mcp.errors import InvalidArgument
from fw_mcp.validation.budget import BudgetExceeded
from fw_mcp.validation.worker import read_frame, write_frame

__all__ = ["WorkerFailed", "prestart", "run_in_worker"]

_T = TypeVar("_T")
GRACE = 1.0  # seconds past the budget before a worker that does not answer is killed
_COMMAND = [sys.executable, "-m", "fw_mcp.validation.worker"]


class WorkerFailed(Exception):
    """The worker process ended or failed without an answer (killed, out of memory, a bug)."""


class _Process:
    """One worker process, used by one job at a time."""

    def __init__(self) -> None:
        self.popen = subprocess.Popen(_COMMAND, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        self.timed_out = False

    def call(self, frame: bytes, timeout: float) -> bytes | None:
        """Send a job and wait for its reply; None when the process ended first (or was killed at
        `timeout`). Blocking: runs in a thread."""
        assert self.popen.stdin is not None and self.popen.stdout is not None
        timer = threading.Timer(timeout, self._expire)
        timer.daemon = True
        timer.start()
        try:
            write_frame(self.popen.stdin, frame)
            return read_frame(self.popen.stdout)
        except (OSError, ValueError):
            return None
        finally:
            timer.cancel()

    def _expire(self) -> None:
        self.timed_out = True
        self.kill()

    def kill(self) -> None:
        with suppress(OSError):
            self.popen.kill()

    def reap(self) -> None:
        self.kill()
        for stream in (self.popen.stdin, self.popen.stdout):
            if stream is not None:
                stream.close()
        self.popen.wait()

    @property
    def alive(self) -> bool:
        return self.popen.poll() is None


class _Processes:
    """The server process's idle workers (thread-safe: jobs run in threads, across event loops)."""

    def __init__(self) -> None:
        self._idle: list[_Process] = []
        self._all: set[_Process] = set()
        self._lock = threading.Lock()
        self._starting = threading.Lock()

    def take(self) -> _Process:
        with self._lock:
            while self._idle:
                process = self._idle.pop()
                if process.alive:
                    return process
                self._all.discard(process)
        process = _Process()
        with self._lock:
            self._all.add(process)
        return process

    def give(self, process: _Process) -> None:
        with self._lock:
            if process.alive:
                self._idle.append(process)
            else:
                self._all.discard(process)

    def drop(self, process: _Process) -> None:
        process.reap()
        with self._lock:
            self._all.discard(process)

    @property
    def count(self) -> int:
        with self._lock:
            return len(self._all)

    def prestart(self, count: int) -> None:
        """Start idle workers until `count` exist (blocking: run it in a thread); one at a time."""
        if not self._starting.acquire(blocking=False):
            return
        try:
            for _ in range(count - self.count):
                self.give(self.take())
        finally:
            self._starting.release()

    def stop_all(self) -> None:
        with self._lock:
            everyone, self._idle = list(self._all), []
        for process in everyone:
            process.reap()


PROCESSES = _Processes()
atexit.register(PROCESSES.stop_all)


class _Job:
    """One job's run in a thread; `cancel()` (from the event loop) kills its process at once."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._process: _Process | None = None
        self._cancelled = False

    def run(self, frame: bytes, timeout: float) -> tuple[Any, ...]:
        if self._cancelled:
            return ("error", "cancelled")
        process = PROCESSES.take()
        with self._lock:
            self._process = process
            if self._cancelled:
                process.kill()
        raw = process.call(frame, timeout)
        if raw is None:
            PROCESSES.drop(process)
            return ("timeout",) if process.timed_out else ("error", "the worker process ended")
        PROCESSES.give(process)
        reply: tuple[Any, ...] = pickle.loads(raw)
        return reply

    def cancel(self) -> None:
        with self._lock:
            self._cancelled = True
            if self._process is not None:
                self._process.kill()


class _Turns:
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


_TURNS: RunVar[_Turns] = RunVar("fw_mcp.validation.turns")


def prestart(workers: int) -> None:
    """Start the worker processes in the background, before the first costly check needs one."""
    if PROCESSES.count < workers:
        threading.Thread(target=PROCESSES.prestart, args=(workers,), daemon=True).start()


async def run_in_worker(
    fn: Callable[..., _T], args: tuple[Any, ...], *, seconds: float, workers: int, owner: str
) -> _T:
    """`fn(*args)` in a worker process under a budget of `seconds`; its exceptions raised here.

    `fn` and `args` must pickle: `fn` a module-level function of `fw_mcp.validation`.

    Raises:
        BudgetExceeded: the budget ran out (or the worker did not answer within it).
        InvalidArgument: `fn` refused its input.
        WorkerFailed: the worker ended or failed unexpectedly.
    """
    try:
        turns = _TURNS.get()
    except LookupError:
        turns = _Turns(workers)
        _TURNS.set(turns)
    turns.size = workers
    frame = pickle.dumps((seconds, fn, args), protocol=pickle.HIGHEST_PROTOCOL)
    async with turns.slot(owner):
        job = _Job()
        try:
            reply = await anyio.to_thread.run_sync(job.run, frame, seconds + GRACE, abandon_on_cancel=True)
        except BaseException:
            job.cancel()
            raise
    value: _T = _outcome(reply, seconds)
    return value


def _outcome(reply: tuple[Any, ...], seconds: float) -> Any:
    kind = reply[0]
    if kind == "ok":
        return reply[1]
    if kind == "budget":
        raise BudgetExceeded(Counter(reply[1]), reply[2], cancelled=False)
    if kind == "timeout":
        raise BudgetExceeded(Counter(), seconds, cancelled=False)
    if kind == "invalid":
        raise InvalidArgument(reply[1], reply[2])
    raise WorkerFailed(str(reply[1]))
