"""JSON Schemas from callers: checked once, compiled once (hosts resend the same schema), never fetched.

A schema and the values checked against it are both untrusted, so all of that work runs in a worker
thread under a `Budget` (see `schema_budget`): the event loop keeps serving other calls, a
cancelled call stops its worker, and a schema that needs too much work is refused with the keywords
to blame. Compiled validators are cached, bounded by the total size of their schemas.
"""

from __future__ import annotations

import itertools
import json
import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Any, TypeVar

import anyio.to_thread

from fw_mcp.errors import InvalidArgument
from fw_mcp.settings import LimitsSection
from fw_mcp.tools.schema_budget import Budget, BudgetExceeded, budget, metered_class, regex_format_checker

# jsonschema (with referencing and attrs) is slow to import: loaded on first use, not at start-up.

__all__ = ["BudgetExceeded", "bounded", "compile_schema", "schema_problems"]

_T = TypeVar("_T")
_ROOT = "urn:fw-mcp:schema"
_MAX_SCHEMA_DEPTH = 64


async def bounded(limits: LimitsSection, argument: str, fn: Callable[..., _T], *args: Any) -> _T:
    """Run `fn(*args)` in a worker thread under a fresh validation budget.

    A budget that runs out becomes InvalidArgument naming `argument` and the costly keywords; a
    cancelled call returns at once and its worker stops at its next keyword step.
    """
    cancelled = threading.Event()

    def run() -> _T:
        with budget(Budget(limits.validation_seconds, cancelled)):
            return fn(*args)

    try:
        return await anyio.to_thread.run_sync(run, abandon_on_cancel=True, limiter=_workers(limits))
    except BudgetExceeded as exc:
        raise InvalidArgument(argument, exc.describe()) from None
    finally:
        cancelled.set()


def _workers(limits: LimitsSection) -> anyio.CapacityLimiter:
    """The process-wide limiter of schema workers. Validation holds the GIL, so every extra worker
    takes CPU from the event loop that serves every other call; past the limit, checks queue."""
    global _WORKERS
    if _WORKERS is None:
        _WORKERS = anyio.CapacityLimiter(limits.validation_workers)
    _WORKERS.total_tokens = limits.validation_workers
    return _WORKERS


_WORKERS: anyio.CapacityLimiter | None = None


async def compile_schema(schema: dict[str, Any], argument: str, limits: LimitsSection) -> Any:
    """A compiled validator for `schema` (cached), or InvalidArgument naming what is wrong with it."""
    return await bounded(limits, argument, _compile, schema, argument, limits.schema_cache_chars)


def _compile(schema: dict[str, Any], argument: str, cache_chars: int) -> Any:
    from jsonschema.exceptions import SchemaError

    _check_shape(schema, argument)
    try:
        key = json.dumps(schema, sort_keys=True)
    except (TypeError, ValueError, RecursionError) as exc:
        raise InvalidArgument(argument, f"is not a valid JSON Schema ({type(exc).__name__}).") from None
    if (cached := _CACHE.get(key)) is not None:
        return cached
    try:
        validator = _build(schema)
    except SchemaError as exc:
        raise InvalidArgument(argument, f"is not a valid JSON Schema: {_schema_error(exc)}") from None
    except RecursionError:
        raise InvalidArgument(argument, "is nested too deeply to be checked; flatten it.") from None
    _CACHE.put(key, validator, cache_chars)
    return validator


def _build(schema: dict[str, Any]) -> Any:
    from jsonschema import validators
    from jsonschema.exceptions import SchemaError

    cls = validators.validator_for(schema)
    meta = metered_class(validators.validator_for(cls.META_SCHEMA, default=cls))
    for error in meta(cls.META_SCHEMA, format_checker=regex_format_checker()).iter_errors(schema):
        raise SchemaError.create_from(error)
    _resolve_refs(schema)
    return metered_class(cls)(schema)


def _schema_error(exc: Any) -> str:
    where = "/".join(str(p) for p in exc.path) or "the top level"
    if exc.validator == "format" and exc.validator_value == "regex":
        return (
            f"{str(exc.instance)[:80]!r} (at {where}) is not a regular expression this server can run: "
            "use RE2 syntax (no lookahead, lookbehind or backreferences) and keep it small."
        )
    return f"{exc.message[:300]} (at {where})."


def _resolve_refs(schema: Any) -> None:
    """A dangling in-document `$ref` passes check_schema but fails at validation: find it now."""
    from jsonschema.exceptions import SchemaError
    from referencing import Registry, Resource
    from referencing.exceptions import Unresolvable
    from referencing.jsonschema import DRAFT202012

    if not isinstance(schema, dict):
        return
    resource = Resource.from_contents(schema, default_specification=DRAFT202012)
    resolver = Registry().with_resource(_ROOT, resource).resolver(_ROOT)
    for ref in _keys(schema, "$ref"):
        if not isinstance(ref, str):
            continue
        try:
            resolver.lookup(ref)
        except Unresolvable:
            raise SchemaError(f"$ref {ref[:80]!r} points to nothing in the schema") from None


def _keys(node: Any, name: str) -> list[Any]:
    """Every value stored under the key `name`, anywhere in `node`."""
    if isinstance(node, dict):
        own = [node[name]] if name in node else []
        return own + [r for v in node.values() for r in _keys(v, name)]
    if isinstance(node, list):
        return [r for v in node for r in _keys(v, name)]
    return []


def _check_shape(schema: Any, argument: str) -> None:
    """Refuse, before any compiling: deep nesting, external `$ref`s, and Python regexes on answers."""
    _refuse_external_refs(schema, argument)
    if _keys(schema, "unevaluatedProperties") and _keys(schema, "patternProperties"):
        raise InvalidArgument(
            argument,
            "uses unevaluatedProperties together with patternProperties, which this server cannot check "
            "safely; use additionalProperties instead of unevaluatedProperties.",
        )


def _refuse_external_refs(node: Any, argument: str, depth: int = 0) -> None:
    """Only in-document `$ref`s: we never fetch a schema from a URL or a file."""
    if depth > _MAX_SCHEMA_DEPTH:
        raise InvalidArgument(argument, f"is nested more than {_MAX_SCHEMA_DEPTH} levels deep.")
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and not ref.startswith("#"):
            raise InvalidArgument(argument, f"has an external $ref {ref[:80]!r}; inline it under $defs.")
        for value in node.values():
            _refuse_external_refs(value, argument, depth + 1)
    elif isinstance(node, list):
        for value in node:
            _refuse_external_refs(value, argument, depth + 1)


def schema_problems(validator: Any, value: Any, argument: str, limit: int = 3) -> str | None:
    """None when `value` validates; else its first few problems with their JSON paths.

    Errors are produced lazily and only `limit` of them are built. Call it inside `bounded`; a
    schema that cannot be applied is InvalidArgument naming `argument`.
    """
    from referencing.exceptions import Unresolvable

    try:
        errors = list(itertools.islice(validator.iter_errors(value), limit))
    except (Unresolvable, RecursionError) as exc:
        raise InvalidArgument(argument, f"cannot be applied ({type(exc).__name__}); simplify it.") from None
    if not errors:
        return None
    errors.sort(key=lambda e: [str(p) for p in e.absolute_path])
    return "; ".join(f"at {e.json_path}: {e.message[:300]}" for e in errors)


class _SizedCache:
    """LRU of compiled validators, bounded by the total characters of their schemas' JSON."""

    def __init__(self) -> None:
        self._items: OrderedDict[str, Any] = OrderedDict()
        self._chars = 0
        self._lock = threading.Lock()  # workers compile in parallel

    def get(self, key: str) -> Any:
        with self._lock:
            value = self._items.get(key)
            if value is not None:
                self._items.move_to_end(key)
            return value

    def put(self, key: str, value: Any, capacity: int) -> None:
        if len(key) > capacity:
            return
        with self._lock:
            if key not in self._items:
                self._chars += len(key)
            self._items[key] = value
            while self._chars > capacity:
                old, _ = self._items.popitem(last=False)
                self._chars -= len(old)

    @property
    def chars(self) -> int:
        with self._lock:
            return self._chars


_CACHE = _SizedCache()
