"""Where schema work runs: inline for what is cheap, in a worker process for what is not.

A schema and the values checked against it are both untrusted. The work itself (metered keywords,
RE2, lazily built errors) is in `fw_mcp.validation`; this module decides where it runs so that no
caller can take the event loop's CPU from the others:

* small work (values up to `[limits] validation_inline_chars`) runs in a thread of this process
  under a short slice of the budget (`validation_inline_seconds`): the common case costs no IPC;
* work that outruns its slice, larger values, and schemas that outran a slice before ("heavy")
  run in a worker process (`fw_mcp.validation.pool`) under the whole budget
  (`validation_seconds`), `validation_workers` at a time, waiting callers taking turns;
* with `validation_workers = 0` everything runs in threads here, under the whole budget.

A budget that runs out becomes InvalidArgument naming the costly keywords; a cancelled call returns
at once, its thread stops at its next keyword step and its worker process is killed.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import anyio.to_thread

from fw_mcp.errors import InvalidArgument
from fw_mcp.settings import LimitsSection
from fw_mcp.validation import pool
from fw_mcp.validation.budget import Budget, BudgetExceeded, Escalate, budget
from fw_mcp.validation.schemas import CACHE, Refused, Schema, canonical, check_schema, schema_problems

__all__ = ["BudgetExceeded", "Schema", "bounded", "checked", "compile_schema", "schema_problems"]

_T = TypeVar("_T")


class _OverBudget(InvalidArgument):
    """A refusal because the budget ran out: it depends on the load, so it is not cached."""


async def bounded(limits: LimitsSection, argument: str, fn: Callable[..., _T], *args: Any) -> _T:
    """Run `fn(*args)` in a thread of this process under the whole validation budget.

    For work that cannot go to a worker process (`fn` not picklable); see `checked` for the rest.
    """
    return await _in_thread(limits, argument, fn, args, limits.validation_seconds, inline=False)


async def _in_thread(
    limits: LimitsSection,
    argument: str,
    fn: Callable[..., _T],
    args: tuple[Any, ...],
    seconds: float,
    *,
    inline: bool,
) -> _T:
    cancelled = threading.Event()

    def run() -> _T:
        with budget(Budget(seconds, cancelled, inline=inline)):
            return fn(*args)

    try:
        return await anyio.to_thread.run_sync(run, abandon_on_cancel=True, limiter=_threads(limits))
    except BudgetExceeded as exc:
        raise _OverBudget(argument, exc.describe()) from None
    finally:
        cancelled.set()


def _threads(limits: LimitsSection) -> anyio.CapacityLimiter:
    """The process-wide limiter of schema threads. Validation holds the GIL, so every extra thread
    takes CPU from the event loop that serves every other call; past the limit, checks queue."""
    global _THREADS
    count = max(1, limits.validation_workers)
    if _THREADS is None:
        _THREADS = anyio.CapacityLimiter(count)
    _THREADS.total_tokens = count
    return _THREADS


_THREADS: anyio.CapacityLimiter | None = None


async def checked(
    limits: LimitsSection,
    argument: str,
    fn: Callable[..., _T],
    *args: Any,
    size: int,
    schemas: Sequence[Schema] = (),
    owner: str = "",
) -> _T:
    """`fn(*args)` under the validation budget, inline or in a worker process (see the module doc).

    `fn` is a module-level function of `fw_mcp.validation` and `args` pickle; `size` is the size of
    the value to check, in characters; `schemas` are the schemas it applies (a heavy one sends the
    work to a worker); `owner` is who asks (waiting work takes turns by owner).
    """
    if limits.validation_workers == 0:
        return await bounded(limits, argument, fn, *args)
    if size <= limits.validation_inline_chars and not any(s.heavy for s in schemas):
        slice_ = min(limits.validation_inline_seconds, limits.validation_seconds)
        try:
            return await _in_thread(limits, argument, fn, args, slice_, inline=True)
        except Escalate:
            for schema in schemas:
                schema.heavy = True
    try:
        return await pool.run_in_worker(
            fn, args, seconds=limits.validation_seconds, workers=limits.validation_workers, owner=owner
        )
    except BudgetExceeded as exc:
        raise _OverBudget(argument, exc.describe()) from None
    except pool.WorkerFailed as exc:
        raise InvalidArgument(argument, f"could not be checked ({exc}); simplify it.") from None


async def compile_schema(
    schema: dict[str, Any], argument: str, limits: LimitsSection, *, owner: str = ""
) -> Schema:
    """The checked, compiled Schema (cached), or InvalidArgument naming what is wrong with it.

    A schema seen before (accepted or refused) is answered from the cache, without a thread.
    """
    key = canonical(schema)
    cached = CACHE.get(key) if key is not None else None
    if isinstance(cached, Schema):
        return cached
    if isinstance(cached, Refused):
        raise InvalidArgument(argument, cached.problem)
    if limits.validation_workers > 0:
        pool.prestart(limits.validation_workers)
    try:
        compiled = await checked(
            limits,
            argument,
            check_schema,
            schema,
            argument,
            limits.schema_cache_chars,
            size=len(key or ""),
            owner=owner,
        )
    except InvalidArgument as exc:
        if key is not None and not isinstance(exc, _OverBudget):
            CACHE.put(key, Refused(exc.problem), limits.schema_cache_chars)
        raise
    if not compiled.built:  # compiled in a worker: this process has no validator for it
        compiled.heavy = True
        CACHE.put(compiled.key, compiled, limits.schema_cache_chars)
    return compiled
