"""Costly schema work in worker processes: where it runs, cancellation, crashes, turns, refusals cached."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from typing import Any

import anyio
import pytest

from fw_mcp.errors import InvalidArgument
from fw_mcp.settings import LimitsSection, load_settings
from fw_mcp.tools.schemas import Schema, checked, compile_schema
from fw_mcp.validation import schemas as validation_schemas
from fw_mcp.validation.answers import answer_problem
from fw_mcp.validation.pool import PROCESSES, _Process
from fw_mcp.validation.turns import Turns
from fw_mcp.validation.worker import NICENESS


def limits(**values: Any) -> LimitsSection:
    return load_settings(overrides={"limits": values}).limits


def chain(levels: int = 30) -> dict[str, Any]:
    """2**levels paths in a small schema: every one is walked on a value that validates."""
    defs: dict[str, Any] = {f"d{i}": {"allOf": [{"$ref": f"#/$defs/d{i + 1}"}] * 2} for i in range(levels)}
    defs[f"d{levels}"] = {"type": "object"}
    return {"$defs": defs, "$ref": "#/$defs/d0", "title": f"chain {time.monotonic_ns()}"}  # never cached


async def check_answer(lim: LimitsSection, schema: Schema, answer: str = '{"a": 1}') -> Any:
    return await checked(
        lim, "schema", answer_problem, answer, schema, lim.max_json_depth, size=len(answer), schemas=[schema]
    )


def busy_processes() -> list[_Process]:
    return [p for p in list(PROCESSES._all) if p not in PROCESSES._idle and p.alive]


async def wait_for(condition: Any) -> None:
    with anyio.fail_after(20):
        while not condition():  # noqa: ASYNC110 - processes and threads change it, with no event to await
            await anyio.sleep(0.02)


async def test_a_costly_check_runs_in_a_worker_process_not_in_the_server() -> None:
    lim = limits(validation_seconds=1.5)
    schema = await compile_schema(chain(), "schema", lim)
    assert schema.built and not schema.heavy, "compiling it is cheap: done here"
    cpu = time.process_time()
    with pytest.raises(InvalidArgument) as refused:
        await check_answer(lim, schema)
    spent = time.process_time() - cpu
    assert "validation budget of 1.5 s" in refused.value.problem and "`$ref`" in refused.value.problem
    assert spent < 0.75, f"this process spent {spent:.2f} s of CPU: the 1.5 s of work ran elsewhere"
    assert schema.heavy, "its next checks go to a worker at once"
    assert all(p.popen.pid != 0 and p.alive for p in PROCESSES._idle), "the worker lives on for the next job"
    assert await check_answer(lim, await compile_schema({"type": "object"}, "schema", lim)) == (
        {"a": 1},
        None,
    )


async def test_a_large_answer_is_checked_in_a_worker_with_the_same_answer() -> None:
    lim = limits(validation_inline_chars=100)
    schema = await compile_schema({"type": "array", "items": {"type": "string"}}, "schema", lim)
    data, problem = await check_answer(lim, schema, "[" + ",".join(["0"] * 300) + "]")
    assert data is None and problem is not None and problem.count("is not of type 'string'") == 3
    assert await check_answer(lim, schema, '["x"]') == (["x"], None)


async def test_a_cancelled_check_kills_its_worker_process() -> None:
    lim = limits(validation_seconds=600.0)
    schema = await compile_schema(chain(), "schema", lim)
    schema.heavy = True
    async with anyio.create_task_group() as tg:
        tg.start_soon(check_answer, lim, schema)
        await wait_for(lambda: busy_processes())
        (worker,) = busy_processes()
        tg.cancel_scope.cancel()  # as when the client cancels the call
    await wait_for(lambda: not worker.alive)
    assert await check_answer(lim, await compile_schema({"type": "object"}, "schema", lim)) == (
        {"a": 1},
        None,
    )


async def test_a_worker_that_dies_mid_check_is_a_refusal_and_is_replaced() -> None:
    lim = limits(validation_seconds=600.0)
    schema = await compile_schema(chain(), "schema", lim)
    schema.heavy = True
    async with anyio.create_task_group() as tg:

        async def check() -> None:
            with pytest.raises(InvalidArgument, match=r"could not be checked \(the worker process ended\)"):
                await check_answer(lim, schema)

        tg.start_soon(check)
        await wait_for(lambda: busy_processes())
        busy_processes()[0].kill()  # as the kernel's OOM killer would
    heavy_again = await compile_schema({"type": "object", "title": "after"}, "schema", lim)
    heavy_again.heavy = True
    assert await check_answer(lim, heavy_again) == ({"a": 1}, None), "a new worker took its place"


def last_is(order: list[str], name: str) -> Callable[[], bool]:
    return lambda: order[-1:] == [name]


async def test_waiting_checks_take_turns_by_owner() -> None:
    turns = Turns(1)
    order: list[str] = []
    release = {name: anyio.Event() for name in ("a1", "a2", "a3", "a4", "b1")}

    async def job(name: str) -> None:
        async with turns.slot(name[0]):
            order.append(name)
            await release[name].wait()

    async with anyio.create_task_group() as tg:
        for name in ("a1", "a2", "a3", "a4", "b1"):  # one token queues four checks, then another one
            tg.start_soon(job, name)
            await anyio.wait_all_tasks_blocked()
        for name in ("a1", "a2", "b1", "a3", "a4"):
            await wait_for(last_is(order, name))
            release[name].set()
    assert order == ["a1", "a2", "b1", "a3", "a4"], "b waits for one of a's checks, not for all three"


async def test_with_no_worker_processes_checks_run_in_threads() -> None:
    lim = limits(validation_workers=0, validation_seconds=0.3)
    before = set(PROCESSES._all)
    schema = await compile_schema(chain(), "schema", lim)
    with pytest.raises(InvalidArgument, match=r"validation budget of 0\.3 s"):
        await check_answer(lim, schema)
    assert set(PROCESSES._all) <= before, "no process was started"


async def test_a_refused_schema_is_refused_again_from_the_cache() -> None:
    lim = limits()
    schema = {"type": ["string", "number"] * 2500}
    messages = []
    for _ in range(2):
        with pytest.raises(InvalidArgument) as refused:
            await compile_schema(schema, "tools[1].parameters", lim)
        messages.append(str(refused.value))
    key = validation_schemas.canonical(schema)
    assert key is not None and isinstance(validation_schemas.CACHE.get(key), validation_schemas.Refused)
    assert messages[0] == messages[1] and "is not a valid JSON Schema" in messages[0]
    assert "Invalid argument `tools[1].parameters`" in messages[1]


async def test_a_worker_runs_below_the_servers_priority() -> None:
    lim = limits()
    schema = await compile_schema({"type": "object", "title": "priority"}, "schema", lim)
    schema.heavy = True
    assert await check_answer(lim, schema) == ({"a": 1}, None), "a worker has started and answered"
    process = PROCESSES.take()
    try:
        worker = os.getpriority(os.PRIO_PROCESS, process.popen.pid)
    finally:
        PROCESSES.give(process)
    assert worker == min(19, os.getpriority(os.PRIO_PROCESS, 0) + NICENESS)
