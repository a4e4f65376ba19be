"""Spend counters in one SQLite file, shared by every fw-mcp process on the machine.

WAL mode lets readers run beside the one writer; every change is one `BEGIN IMMEDIATE` transaction,
so a reservation's check and its hold are atomic across processes. The work runs in a worker thread,
one at a time per process, never on the event loop; settlements that arrive while a write is running
are written together in the next one.

A settlement with no hold (no limit applies to the call, so nothing waits for the count) is queued
and written in the background within `_QUEUE_SECONDS` of the call's answer, with whatever else is
queued by then: one transaction (and one hop to the worker thread) for many calls, none before the
answer. A settlement with a hold is written at once, also in the background: until it lands, the
hold (the call's maximum cost, never less than what it settles) keeps counting against the limits in
every process, so no budget can be overspent meanwhile and the answer does not wait for the write.
Reads and reservations in this process (`rows`, `spent`, `reserve`, through any store open on the
same file, such as the usage resource's) write the queues first, and `aclose` writes what is left.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sqlite3
import time
import weakref
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar

import anyio
import anyio.to_thread

from fw_mcp.spend.ledger import (
    BatchOwner,
    Check,
    Refusal,
    Scope,
    StoreError,
    UsageRecord,
    UsageRow,
    scopes_for,
)

__all__ = ["SQLiteStore", "default_path"]

logger = logging.getLogger(__name__)
T = TypeVar("T")
_BUSY_SECONDS = 10.0
_QUEUE_SECONDS = 0.5
"""How long a count with no hold may wait to be written, gathering others into the same transaction."""
_PREPARE_RETRY_SECONDS = 0.005  # between tries to switch a new file to WAL
_SCHEMA = """
CREATE TABLE IF NOT EXISTS counters (scope TEXT PRIMARY KEY, spent INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS holds (
    rid TEXT NOT NULL, scope TEXT NOT NULL, nanos INTEGER NOT NULL, expires REAL NOT NULL,
    PRIMARY KEY (rid, scope));
CREATE INDEX IF NOT EXISTS holds_scope ON holds (scope);
CREATE TABLE IF NOT EXISTS usage (
    day TEXT NOT NULL, user TEXT NOT NULL, tool TEXT NOT NULL, model TEXT NOT NULL,
    calls INTEGER NOT NULL, prompt INTEGER NOT NULL, cached INTEGER NOT NULL, completion INTEGER NOT NULL,
    cost INTEGER NOT NULL, unpriced INTEGER NOT NULL, PRIMARY KEY (day, user, tool, model));
CREATE TABLE IF NOT EXISTS rate_limits (name TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS batches (job TEXT PRIMARY KEY, user TEXT NOT NULL, rid TEXT, submitted REAL NOT NULL);
CREATE TABLE IF NOT EXISTS settled (key TEXT PRIMARY KEY);
"""


def default_path() -> Path:
    """`$XDG_STATE_HOME/fw-mcp/usage.db` (XDG_STATE_HOME defaults to ~/.local/state)."""
    base = os.environ.get("XDG_STATE_HOME", "").strip() or str(Path.home() / ".local" / "state")
    return Path(base).expanduser() / "fw-mcp" / "usage.db"


class SQLiteStore:
    def __init__(self, path: Path, busy_timeout: float = _BUSY_SECONDS) -> None:
        self.path = path
        self.busy_timeout = busy_timeout
        self.where = f"the SQLite file {path}"
        self._db: sqlite3.Connection | None = None
        self._lock = anyio.Lock()
        self._flushing = anyio.Lock()
        self._pending: list[tuple[str | None, UsageRecord]] = []
        self._writer: asyncio.Task[None] | None = None
        self._now: set[asyncio.Task[None]] = set()  # settlements with a hold, being written
        self._closing = anyio.Event()
        _OPEN.add(self)

    def _connect(self) -> sqlite3.Connection:
        if self._db is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            db = sqlite3.connect(
                self.path, timeout=self.busy_timeout, isolation_level=None, check_same_thread=False
            )
            try:
                self._prepare(db)
            except BaseException:
                db.close()
                raise
            self._db = db
        return self._db

    def _prepare(self, db: sqlite3.Connection) -> None:
        """WAL mode and the tables. Switching a new file to WAL takes an exclusive lock for which SQLite
        does not wait (two processes opening a new file at once: "database is locked" at once), so
        that step is retried within the busy timeout. Blocking: runs in the worker thread."""
        deadline = time.monotonic() + self.busy_timeout
        while True:
            try:
                if db.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
                    db.execute("PRAGMA journal_mode=WAL")
                db.execute("PRAGMA synchronous=NORMAL")
                db.executescript(_SCHEMA)
                return
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or time.monotonic() > deadline:
                    raise
                time.sleep(_PREPARE_RETRY_SECONDS)

    async def _run(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """One transaction in a worker thread; one at a time per process (the lock), BEGIN IMMEDIATE
        across processes (SQLite's busy timeout waits for another process's writer)."""

        def work() -> T:
            try:
                db = self._connect()
                db.execute("BEGIN IMMEDIATE")
                try:
                    result = fn(db)
                except BaseException:
                    db.execute("ROLLBACK")
                    raise
                db.execute("COMMIT")
                return result
            except (sqlite3.Error, OSError) as exc:
                raise StoreError(_describe(exc, self.path, self.busy_timeout)) from None

        async with self._lock:
            return await anyio.to_thread.run_sync(work)

    async def reserve(
        self, rid: str, scopes: list[Scope], checks: list[Check], nanos: int, ttl: float
    ) -> Refusal | None:
        await self._flush_queues()

        def work(db: sqlite3.Connection) -> Refusal | None:
            now = time.time()
            db.execute("DELETE FROM holds WHERE expires < ?", (now,))
            for check in checks:
                spent = _spent(db, check.scope.key)
                if spent + nanos > check.limit_nanos:
                    return Refusal(check, spent)
            db.executemany(
                "INSERT OR REPLACE INTO holds VALUES (?, ?, ?, ?)",
                [(rid, s.key, nanos, now + ttl) for s in scopes],
            )
            return None

        return await self._run(work)

    async def settle(self, rid: str | None, record: UsageRecord) -> None:
        """Queue the settlement; whoever writes next writes every queued one in its transaction.

        With a hold (`rid`), the write starts now (the hold counts against the limits until it lands);
        without one, it waits up to `_QUEUE_SECONDS` for others (see the module docstring).
        """
        self._pending.append((rid, record))
        loop = asyncio.get_running_loop()
        if rid is not None:
            task = loop.create_task(self._write_now())
            self._now.add(task)
            task.add_done_callback(self._now.discard)
        elif self._writer is None:
            self._writer = loop.create_task(self._write_queued())

    async def _write_now(self) -> None:
        """A settlement with a hold: written at once; a failure leaves it queued for the next write."""
        try:
            await self._flush()
        except StoreError as exc:
            logger.error("A call's cost was not recorded yet (its hold still counts): %s", exc)

    async def _write_queued(self) -> None:
        """The background writer: until the queue is empty; a failure leaves it for the next write."""
        try:
            with anyio.move_on_after(_QUEUE_SECONDS):
                await self._closing.wait()  # gathering the counts of the calls that end meanwhile
            while self._pending:
                await self._flush()
        except StoreError as exc:
            logger.error(
                "Usage of %d calls was not recorded yet (tried again with the next write): %s",
                len(self._pending),
                exc,
            )
        finally:
            self._writer = None

    async def _flush_queues(self) -> None:
        """Before a read: the counts queued in this process, by this store or another on the same file."""
        for store in [s for s in _OPEN if s._pending and s.path == self.path]:
            await store._flush()

    async def _flush(self) -> None:
        async with self._flushing:
            if not self._pending:
                return  # an earlier flush wrote ours too
            batch, self._pending = self._pending, []
            try:
                await self._run(lambda db: _write_all(db, batch))
            except StoreError:
                self._pending = batch + self._pending  # rolled back: the next write tries them again
                raise

    async def settle_once(self, key: str, rid: str | None, record: UsageRecord) -> bool:
        def work(db: sqlite3.Connection) -> bool:
            if db.execute("INSERT OR IGNORE INTO settled VALUES (?)", (key,)).rowcount == 0:
                return False  # counted already, by this process or another
            _write(db, rid, record)
            return True

        return await self._run(work)

    async def note_batch(self, job_id: str, owner: BatchOwner) -> None:
        row = (job_id, owner.user, owner.rid, owner.submitted.timestamp())
        await self._run(lambda db: db.execute("INSERT OR REPLACE INTO batches VALUES (?, ?, ?, ?)", row))

    async def batch_owner(self, job_id: str) -> BatchOwner | None:
        def work(db: sqlite3.Connection) -> BatchOwner | None:
            row = db.execute("SELECT user, rid, submitted FROM batches WHERE job = ?", (job_id,)).fetchone()
            return None if row is None else BatchOwner(row[0], row[1], datetime.fromtimestamp(row[2], UTC))

        return await self._run(work)

    async def release(self, rid: str, scopes: list[Scope]) -> None:
        await self._run(lambda db: db.execute("DELETE FROM holds WHERE rid = ?", (rid,)))

    async def spent(self, scopes: list[Scope]) -> dict[Scope, int]:
        await self._flush_queues()

        def work(db: sqlite3.Connection) -> dict[Scope, int]:
            db.execute("DELETE FROM holds WHERE expires < ?", (time.time(),))
            return {s: _spent(db, s.key) for s in scopes}

        return await self._run(work)

    async def rows(self, since_day: str) -> list[UsageRow]:
        await self._flush_queues()

        def work(db: sqlite3.Connection) -> list[UsageRow]:
            cursor = db.execute(
                "SELECT * FROM usage WHERE day >= ? ORDER BY day, user, tool, model", (since_day,)
            )
            return [UsageRow(*row) for row in cursor.fetchall()]

        return await self._run(work)

    async def note_rate_limits(self, limits: dict[str, str]) -> None:
        await self._run(
            lambda db: db.executemany("INSERT OR REPLACE INTO rate_limits VALUES (?, ?)", limits.items())
        )

    async def rate_limits(self) -> dict[str, str]:
        return await self._run(lambda db: dict(db.execute("SELECT name, value FROM rate_limits").fetchall()))

    async def aclose(self) -> None:
        try:
            self._closing.set()
            writes = [*self._now, *([self._writer] if self._writer is not None else [])]
            if writes:
                await asyncio.wait(writes)  # the background writes, now without waiting
            await self._flush()
        except StoreError as exc:
            logger.error("%d calls were not recorded at shutdown: %s", len(self._pending), exc)
        finally:
            if self._db is not None:
                db, self._db = self._db, None
                db.close()


_OPEN: weakref.WeakSet[SQLiteStore] = weakref.WeakSet()  # this process's stores, for _flush_queues


def _spent(db: sqlite3.Connection, key: str) -> int:
    row = db.execute(
        "SELECT (SELECT coalesce(sum(spent), 0) FROM counters WHERE scope = ?)"
        " + (SELECT coalesce(sum(nanos), 0) FROM holds WHERE scope = ?)",
        (key, key),
    ).fetchone()
    return int(row[0])


def _write_all(db: sqlite3.Connection, batch: list[tuple[str | None, UsageRecord]]) -> None:
    for rid, record in batch:
        _write(db, rid, record)


def _write(db: sqlite3.Connection, rid: str | None, record: UsageRecord) -> None:
    if rid is not None:
        db.execute("DELETE FROM holds WHERE rid = ?", (rid,))
    db.executemany(
        "INSERT INTO counters VALUES (?, ?) ON CONFLICT (scope) DO UPDATE SET spent = spent + excluded.spent",
        [(s.key, record.cost_nanos) for s in scopes_for(record.when, record.user)],
    )
    db.execute(
        "INSERT INTO usage VALUES (?, ?, ?, ?, 1, ?, ?, ?, ?, ?) ON CONFLICT (day, user, tool, model) DO UPDATE SET"
        " calls = calls + 1, prompt = prompt + excluded.prompt, cached = cached + excluded.cached,"
        " completion = completion + excluded.completion, cost = cost + excluded.cost,"
        " unpriced = unpriced + excluded.unpriced",
        (
            record.day,
            record.user,
            record.tool,
            record.model,
            record.prompt_tokens,
            record.cached_tokens,
            record.completion_tokens,
            record.cost_nanos,
            0 if record.priced else 1,
        ),
    )


def _describe(exc: BaseException, path: Path, busy: float) -> str:
    text = str(exc)
    if isinstance(exc, sqlite3.DatabaseError) and ("not a database" in text or "malformed" in text):
        advice = (
            "it is corrupt: move it aside (the counters start again) or set [budget] store to another file"
        )
    elif "locked" in text or "busy" in text:
        advice = f"another process held it locked for over {busy:g} s; retry, or find that process"
    elif isinstance(exc, OSError) or "unable to open" in text or "readonly" in text:
        advice = "check that its folder exists and is writable, or set [budget] store to another file"
    else:
        advice = "check the file, or set [budget] store to another file"
    return f"The spend store {path} could not be used ({text}); {advice}."
