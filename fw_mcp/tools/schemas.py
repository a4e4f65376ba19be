"""JSON Schemas from callers: checked once, compiled once (hosts resend the same schema), never fetched."""

from __future__ import annotations

import functools
import json
import re
from typing import Any

from fw_mcp.errors import InvalidArgument

# jsonschema (with referencing and attrs) is slow to import: loaded on first use, not at start-up.

__all__ = ["schema_problems", "validator_for_schema"]


@functools.lru_cache(maxsize=256)
def _cached_validator(schema_json: str) -> Any:
    from jsonschema import validators

    schema = json.loads(schema_json)
    cls = validators.validator_for(schema)
    cls.check_schema(schema)
    _resolve_refs(schema)
    return cls(schema)


_ROOT = "urn:fw-mcp:schema"


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
    for ref in _refs(schema):
        try:
            resolver.lookup(ref)
        except Unresolvable:
            raise SchemaError(f"$ref {ref[:80]!r} points to nothing in the schema") from None


def _refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        own = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
        return own + [r for v in node.values() for r in _refs(v)]
    if isinstance(node, list):
        return [r for v in node for r in _refs(v)]
    return []


def validator_for_schema(schema: dict[str, Any], argument: str) -> Any:
    """A compiled validator (cached: hosts resend the same schema), or InvalidArgument naming the problem."""
    from jsonschema.exceptions import SchemaError

    _refuse_external_refs(schema, argument)
    try:
        return _cached_validator(json.dumps(schema, sort_keys=True))
    except SchemaError as exc:
        where = "/".join(str(p) for p in exc.path) or "the top level"
        raise InvalidArgument(argument, f"is not a valid JSON Schema: {exc.message} (at {where}).") from None
    except (TypeError, ValueError, RecursionError) as exc:
        raise InvalidArgument(argument, f"is not a valid JSON Schema ({type(exc).__name__}).") from None


def _refuse_external_refs(node: Any, argument: str, depth: int = 0) -> None:
    """Only in-document `$ref`s: we never fetch a schema from a URL or a file."""
    if depth > 64:
        raise InvalidArgument(argument, "is nested more than 64 levels deep.")
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and not ref.startswith("#"):
            raise InvalidArgument(argument, f"has an external $ref {ref[:80]!r}; inline it under $defs.")
        for value in node.values():
            _refuse_external_refs(value, argument, depth + 1)
    elif isinstance(node, list):
        for value in node:
            _refuse_external_refs(value, argument, depth + 1)


def schema_problems(validator: Any, value: Any, limit: int = 3) -> str | None:
    """None when `value` validates; else the first problems with their JSON paths."""
    from referencing.exceptions import Unresolvable

    try:
        errors = sorted(validator.iter_errors(value), key=lambda e: list(e.absolute_path))[:limit]
    except (Unresolvable, re.error, RecursionError) as exc:
        raise InvalidArgument("schema", f"cannot be applied ({type(exc).__name__}); simplify it.") from None
    if not errors:
        return None
    return "; ".join(f"at {e.json_path}: {e.message[:300]}" for e in errors)
