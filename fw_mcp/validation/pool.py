"""Worker processes for schema work too costly for the event loop's process.

Validation is pure Python: in a thread it holds the GIL, and the event loop serving every other
call waits for it (under attack a normal call took 13 times longer). In a worker process it takes
another core, at a lower priority. The processes start on first need (`prestart`), are shared by the
whole server process, and live until it ends; a job that outruns its budget (stuck in C code) or
whose call is cancelled has its process killed, and the next job starts a fresh one.

Waiting jobs take turns by owner (`turns.py`).
"""

from __future__ import annotations

import atexit
import os
import pickle
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from contextlib import suppress
from typing import Any, TypeVar

import anyio
import anyio.to_thread
from anyio.lowlevel import RunVar

from fw_mcp.errors import InvalidArgument
from fw_mcp.validation.budget import BudgetExceeded
from fw_mcp.validation.turns import Turns
from fw_mcp.validation.worker import read_frame, write_frame

__all__ = ["WorkerFailed", "prestart", "run_in_worker"]

_T = TypeVar("_T")
GRACE = 1.0  # CPU seconds past its budget before a worker that does not answer is killed as stuck
STARVED = 4  # where a process's CPU time cannot be read: wall time, in budgets, before it is killed
_COMMAND = [sys.executable, "-m", "fw_mcp.validation.worker"]


class WorkerFailed(Exception):
    """The worker process ended or failed without an answer (killed, out of memory, a bug)."""


class _Process:
    """One worker process, used by one job at a time."""

    def __init__(self) -> None:
        self.popen = subprocess.Popen(_COMMAND, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        self.timed_out = False
        self._timer: threading.Timer | None = None
        self._lock = threading.Lock()

    def call(self, frame: bytes, seconds: float) -> bytes | None:
        """Send a job with a budget of `seconds` and wait for its reply; None when the process ended
        first (or was killed as stuck: see `_watch`). Blocking: runs in a thread."""
        assert self.popen.stdin is not None and self.popen.stdout is not None
        self._arm(seconds + GRACE, seconds, _cpu_seconds(self.popen.pid), time.monotonic())
        try:
            write_frame(self.popen.stdin, frame)
            return read_frame(self.popen.stdout)
        except (OSError, ValueError):
            return None
        finally:
            with self._lock:
                if self._timer is not None:
                    self._timer.cancel()
                    self._timer = None

    def _arm(self, delay: float, seconds: float, cpu: float | None, began: float) -> None:
        timer = threading.Timer(delay, self._watch, (seconds, cpu, began))
        timer.daemon = True
        with self._lock:
            self._timer = timer
        timer.start()

    def _watch(self, seconds: float, cpu: float | None, began: float) -> None:
        """Kill a worker that used more CPU than its budget (plus GRACE) on this job: it is stuck in
        work the budget cannot see. One starved of CPU is only looked at again; where CPU time
        cannot be read, one silent for STARVED times its budget (in wall time) is killed."""
        used = _cpu_seconds(self.popen.pid)
        if cpu is not None and used is not None:
            stuck = used - cpu > seconds + GRACE
        else:
            stuck = time.monotonic() - began > seconds * STARVED + GRACE
        if stuck:
            self._expire()
        else:
            with self._lock:
                waiting = self._timer is not None
            if waiting:
                self._arm(GRACE, seconds, cpu, began)

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


def _cpu_seconds(pid: int) -> float | None:
    """CPU time a process has used (Linux: /proc), or None where it cannot be read."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError, AttributeError):
        return None


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

    def run(self, frame: bytes, seconds: float) -> tuple[Any, ...]:
        if self._cancelled:
            return ("error", "cancelled")
        process = PROCESSES.take()
        with self._lock:
            self._process = process
            if self._cancelled:
                process.kill()
        raw = process.call(frame, seconds)
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


_TURNS: RunVar[Turns] = RunVar("fw_mcp.validation.turns")


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
        turns = Turns(workers)
        _TURNS.set(turns)
    turns.size = workers
    frame = pickle.dumps((seconds, fn, args), protocol=pickle.HIGHEST_PROTOCOL)
    async with turns.slot(owner):
        job = _Job()
        try:
            reply = await anyio.to_thread.run_sync(job.run, frame, seconds, abandon_on_cancel=True)
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
