"""Callers' JSON Schemas, compiled and applied under a budget, in RE2, with bounded caching and depth."""

from __future__ import annotations

import json
import threading
from typing import Any

import anyio
import anyio.lowlevel
import anyio.to_thread
import mcp
import pytest

from fw_mcp import jsondepth
from fw_mcp.errors import InvalidArgument
from fw_mcp.server import build_server
from fw_mcp.settings import LimitsSection, load_settings
from fw_mcp.simulator import SimulatorServer
from fw_mcp.tools.schemas import bounded, compile_schema, schema_problems
from fw_mcp.validation import schemas as validation_schemas
from tests.conftest import make_settings


def limits(**values: Any) -> LimitsSection:
    return load_settings(overrides={"limits": values}).limits


async def problems(schema: dict[str, Any], value: Any, lim: LimitsSection | None = None) -> str | None:
    lim = lim or limits()
    validator = await compile_schema(schema, "schema", lim)
    return await bounded(lim, "schema", schema_problems, validator, value, "schema")


async def test_patterns_run_in_re2_and_keep_json_schema_semantics() -> None:
    schema = {
        "type": "object",
        "properties": {"s": {"pattern": "^(a+)+$"}},
        "patternProperties": {"^x_\\p{L}+$": {"type": "integer"}},
        "additionalProperties": False,
    }
    assert await problems(schema, {"s": "aaaa", "x_é": 1}) is None
    found = await problems(schema, {"s": "a" * 50_000 + "!", "x_é": "one", "other": 1})
    assert found is not None
    assert "does not match '^(a+)+$'" in found and "'one' is not of type 'integer'" in found
    assert "Additional properties are not allowed ('other' unexpected)" in found


async def test_a_pattern_re2_cannot_run_is_an_invalid_schema() -> None:
    with pytest.raises(InvalidArgument) as refused:
        await compile_schema({"type": "string", "pattern": "(?=a)b"}, "tools[2].parameters", limits())
    assert refused.value.argument == "tools[2].parameters"
    assert "not a regular expression this server can run: use RE2 syntax" in refused.value.problem


async def test_unevaluated_properties_next_to_pattern_properties_is_refused() -> None:
    schema = {"patternProperties": {"^a": {}}, "unevaluatedProperties": False}
    with pytest.raises(InvalidArgument, match="use additionalProperties instead"):
        await compile_schema(schema, "schema", limits())


async def test_unique_items_follows_json_equality() -> None:
    schema = {"uniqueItems": True}
    assert await problems(schema, [1, True, "1", [1], {"a": 1}, {"a": True}, 0, False]) is None
    assert await problems(schema, [{"a": [1, {"b": 2}]}, {"a": [1.0, {"b": 2}]}]) is not None
    assert await problems(schema, [[0], [False]]) is None


async def test_only_three_problems_are_built() -> None:
    found = await problems({"items": {"type": "string"}}, list(range(300_000)))
    assert found is not None and found.count("is not of type 'string'") == 3


def chain(leaf: dict[str, Any]) -> dict[str, Any]:
    """2**30 paths in a 2 KB schema; on a value that validates, every one of them is walked."""
    defs: dict[str, Any] = {f"d{i}": {"allOf": [{"$ref": f"#/$defs/d{i + 1}"}] * 2} for i in range(30)}
    defs["d30"] = leaf
    return {"$defs": defs, "$ref": "#/$defs/d0"}


async def test_the_budget_names_the_costly_keywords() -> None:
    schema = {**chain({"type": "integer"}), "uniqueItems": True}
    with pytest.raises(InvalidArgument) as refused:
        await problems(schema, 1, limits(validation_seconds=0.3))
    assert "validation budget of 0.3 s" in refused.value.problem
    assert "`allOf`" in refused.value.problem and "`$ref`" in refused.value.problem


async def test_a_cancelled_check_stops_its_worker() -> None:
    lim = limits(validation_seconds=600.0)
    validator = await compile_schema(chain({"type": "integer"}), "schema", lim)
    started, stopped = threading.Event(), threading.Event()

    def check() -> str | None:
        started.set()
        try:
            return schema_problems(validator, 1, "schema")
        finally:
            stopped.set()

    with anyio.move_on_after(30) as scope:
        async with anyio.create_task_group() as tg:
            tg.start_soon(bounded, lim, "schema", check)
            await anyio.to_thread.run_sync(started.wait, 10)
            tg.cancel_scope.cancel()  # as when the client cancels the call
    assert not scope.cancelled_caught
    assert await anyio.to_thread.run_sync(stopped.wait, 10), "the worker stopped at its next step"


async def test_checking_an_answer_stops_at_the_calls_deadline(simulator: SimulatorServer) -> None:
    simulator.sim.enqueue({"reply": {"content": '{"a": 1}'}})
    settings = make_settings(
        simulator.base_url, timeouts={"total": 2.0}, limits={"validation_seconds": 600.0}
    )
    async with mcp.Client(build_server(settings)) as client:
        with anyio.fail_after(60):
            result = await client.call_tool(
                "extract_json", {"text": "x", "schema": chain({"type": "object"})}
            )
    assert result.is_error and result.structured_content is not None
    assert "did not finish within 2 s" in result.content[0].text  # type: ignore[union-attr]
    assert result.structured_content["finish_reason"] == "incomplete"
    assert result.structured_content["text"] == '{"a": 1}', "the answer is kept"


async def test_the_validator_cache_is_bounded_by_schema_size() -> None:
    lim = limits(schema_cache_chars=3000)
    for i in range(20):
        schema = {"type": "object", "description": f"{i}" + "x" * 500}
        await compile_schema(schema, "schema", lim)
        assert validation_schemas.CACHE.chars <= 3000
    assert validation_schemas.CACHE.chars > 2000, "it still caches what fits"


def test_json_depth_is_counted_without_recursion() -> None:
    assert jsondepth.loads('[[1], {"a": []}]', 3) == [[1], {"a": []}]
    for text in (
        "[" * 100_000 + "]" * 100_000,
        json.dumps(json.loads("[" * 300 + "]" * 300)),
        '{"a":' * 101 + "1" + "}" * 101,
    ):
        with pytest.raises(jsondepth.TooDeep, match="nested more than 100 levels deep"):
            jsondepth.loads(text, 100)
    assert jsondepth.depth_of([1, [2, [3]], {"a": {"b": []}}]) == 4
    with pytest.raises(ValueError):
        jsondepth.loads("[1,", 100)


@pytest.mark.parametrize("workers", [1, 2])
async def test_schema_checks_run_at_most_validation_workers_at_once(workers: int) -> None:
    """Checks hold the GIL: beyond `validation_workers` they queue instead of starving the loop."""
    lim = limits(validation_workers=workers)
    lock = threading.Lock()
    running, most = [0], [0]
    release, full = threading.Event(), threading.Event()

    def check() -> None:
        with lock:
            running[0] += 1
            most[0] = max(most[0], running[0])
            if running[0] >= workers:
                full.set()
        release.wait(10)
        with lock:
            running[0] -= 1

    async with anyio.create_task_group() as tg:
        for _ in range(4):
            tg.start_soon(bounded, lim, "schema", check)
        assert await anyio.to_thread.run_sync(full.wait, 10)
        for _ in range(50):  # give a wrongly admitted extra check every chance to start
            await anyio.lowlevel.checkpoint()
        release.set()
    assert most[0] == workers
