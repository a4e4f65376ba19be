"""Callers' JSON Schemas, checked once and compiled once (hosts resend the same schema), never fetched.

Synchronous work, to run under a `Budget` (`fw_mcp.validation.budget`), in a thread of the server
or in a worker process: `fw_mcp.tools.schemas` decides where. A `Schema` travels to a worker as its
canonical JSON (`__reduce__`), and each process builds and caches its own validator. Refusals are
cached too: a schema resent after a refusal costs one dictionary lookup.
"""

from __future__ import annotations

import itertools
import json
import threading
from collections import OrderedDict
from typing import Any

from fw_mcp.errors import InvalidArgument
from fw_mcp.validation.budget import metered_class, regex_format_checker

# jsonschema (with referencing and attrs) is slow to import: loaded on first use, not at start-up.

__all__ = ["CACHE", "Refused", "Schema", "canonical", "check_schema", "schema_for_key", "schema_problems"]

_ROOT = "urn:fw-mcp:schema"
_MAX_SCHEMA_DEPTH = 64


class Schema:
    """A checked schema: its canonical JSON (the cache key) and its validator, built on first use.

    `heavy` marks a schema whose work outran the inline slice once: its checks go straight to a
    worker process from then on.
    """

    __slots__ = ("_validator", "heavy", "key")

    def __init__(self, key: str, validator: Any = None) -> None:
        self.key = key
        self.heavy = False
        self._validator = validator

    def validator(self) -> Any:
        """The compiled validator; built here (under the active budget) if this process has none yet."""
        if self._validator is None:
            self._validator = _build(json.loads(self.key))
        return self._validator

    @property
    def built(self) -> bool:
        """Whether this process has compiled the validator (a schema checked in a worker has not)."""
        return self._validator is not None

    def __reduce__(self) -> tuple[Any, tuple[str]]:
        return schema_for_key, (self.key,)


class Refused:
    """A cached refusal: what was wrong with the schema, to repeat without checking it again."""

    __slots__ = ("problem",)

    def __init__(self, problem: str) -> None:
        self.problem = problem


def schema_for_key(key: str) -> Schema:
    """This process's Schema for a canonical JSON key: the cached one, or one built on first use."""
    cached = CACHE.get(key)
    return cached if isinstance(cached, Schema) else Schema(key)


def canonical(schema: Any) -> str | None:
    """The cache key of a schema (its JSON with sorted keys), or None when it cannot be dumped."""
    try:
        return json.dumps(schema, sort_keys=True)
    except (TypeError, ValueError, RecursionError):
        return None


def check_schema(schema: dict[str, Any], argument: str, cache_chars: int) -> Schema:
    """The compiled Schema (cached), or InvalidArgument naming what is wrong with it. Under a budget."""
    from jsonschema.exceptions import SchemaError

    _check_shape(schema, argument)
    key = canonical(schema)
    if key is None:
        raise InvalidArgument(argument, "is not a valid JSON Schema (it cannot be written as JSON).")
    cached = CACHE.get(key)
    if isinstance(cached, Schema):
        return cached
    try:
        compiled = Schema(key, _build(schema, check=True))
    except SchemaError as exc:
        raise InvalidArgument(argument, f"is not a valid JSON Schema: {_schema_error(exc)}") from None
    except RecursionError:
        raise InvalidArgument(argument, "is nested too deeply to be checked; flatten it.") from None
    CACHE.put(key, compiled, cache_chars)
    return compiled


def _build(schema: dict[str, Any], *, check: bool = False) -> Any:
    from jsonschema import validators
    from jsonschema.exceptions import SchemaError

    cls = validators.validator_for(schema)
    if check:
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


def schema_problems(schema: Schema, value: Any, argument: str, limit: int = 3) -> str | None:
    """None when `value` validates; else its first few problems with their JSON paths.

    Errors are produced lazily and only `limit` of them are built. Run it under a budget; a schema
    that cannot be applied is InvalidArgument naming `argument`.
    """
    from referencing.exceptions import Unresolvable

    try:
        errors = list(itertools.islice(schema.validator().iter_errors(value), limit))
    except (Unresolvable, RecursionError) as exc:
        raise InvalidArgument(argument, f"cannot be applied ({type(exc).__name__}); simplify it.") from None
    if not errors:
        return None
    errors.sort(key=lambda e: [str(p) for p in e.absolute_path])
    return "; ".join(f"at {e.json_path}: {e.message[:300]}" for e in errors)


class _SizedCache:
    """LRU of compiled schemas and refusals, bounded by the total characters of their schemas' JSON."""

    def __init__(self) -> None:
        self._items: OrderedDict[str, Schema | Refused] = OrderedDict()
        self._chars = 0
        self._lock = threading.Lock()  # workers compile in parallel

    def get(self, key: str) -> Schema | Refused | None:
        with self._lock:
            value = self._items.get(key)
            if value is not None:
                self._items.move_to_end(key)
            return value

    def put(self, key: str, value: Schema | Refused, capacity: int) -> None:
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


CACHE = _SizedCache()
