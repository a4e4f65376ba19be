"""Deterministic JSON instances for JSON Schemas: what a grammar-constrained model would emit.

The simulator answers ``response_format: json_schema`` and tool calls with an instance of the
given schema, so clients can be tested end to end on output that really validates. Recursive
schemas are cut off by a depth cap: past it only required members and minimal arrays are made,
and ``anyOf`` prefers a branch without ``$ref``.
"""

from __future__ import annotations

import math
import re
from typing import Any

from jsonschema import validators

# Past this depth the generator makes minimal instances so recursion ends.
SOFT_DEPTH = 4
# Past this depth it gives up (an unsatisfiable recursive schema) and emits null.
HARD_DEPTH = 24

STRING_FORMATS: dict[str, str] = {
    "date": "2024-01-15",
    "date-time": "2024-01-15T12:00:00Z",
    "time": "12:00:00",
    "email": "user@example.com",
    "idn-email": "user@example.com",
    "uri": "https://example.com/",
    "url": "https://example.com/",
    "iri": "https://example.com/",
    "uri-reference": "https://example.com/",
    "uuid": "00000000-0000-4000-8000-000000000000",
    "hostname": "example.com",
    "ipv4": "192.0.2.1",
    "ipv6": "2001:db8::1",
}
TYPE_ORDER = ("object", "array", "string", "integer", "number", "boolean", "null")


def instance_for(schema: Any) -> Any:
    """Return a JSON value that satisfies ``schema`` (a best effort for exotic keywords)."""
    return _Generator(schema).make(schema, depth=0, index=0, name="value")


class _Generator:
    """Walks one schema document; holds the root so ``$ref`` can be resolved inside it."""

    def __init__(self, root: Any) -> None:
        self.root = root

    def make(self, schema: Any, depth: int, index: int, name: str) -> Any:
        if depth > HARD_DEPTH or schema is False:
            return None
        if schema is True or not isinstance(schema, dict):
            return f"example {name}"
        if "$ref" in schema:
            target = self.resolve(schema["$ref"])
            rest = {k: v for k, v in schema.items() if k != "$ref"}
            schema = merge(target, rest) if rest else target
            return self.make(schema, depth + 1, index, name)
        if "const" in schema:
            return schema["const"]
        if schema.get("enum"):
            return schema["enum"][index % len(schema["enum"])]
        if "allOf" in schema:
            merged = {k: v for k, v in schema.items() if k != "allOf"}
            for part in schema["allOf"]:
                merged = merge(merged, self.resolve_shallow(part))
            return self.make(merged, depth, index, name)
        for key in ("anyOf", "oneOf"):
            if key in schema:
                return self.make_choice(schema, key, depth, index, name)
        return self.make_typed(schema, pick_type(schema, depth), depth, index, name)

    def make_choice(self, schema: dict[str, Any], key: str, depth: int, index: int, name: str) -> Any:
        """Pick a branch; near the depth cap prefer one that does not recurse."""
        base = {k: v for k, v in schema.items() if k != key}
        branches = list(schema[key])
        if depth >= SOFT_DEPTH:
            branches.sort(key=lambda b: isinstance(b, dict) and "$ref" in b)
        for branch in branches:
            value = self.make(merge(base, self.resolve_shallow(branch)), depth + 1, index, name)
            if key == "anyOf" or self.matches_exactly_one(value, schema[key]):
                return value
        return self.make(merge(base, self.resolve_shallow(branches[0])), depth + 1, index, name)

    def make_typed(self, schema: dict[str, Any], kind: str, depth: int, index: int, name: str) -> Any:
        if kind == "object":
            return self.make_object(schema, depth, name)
        if kind == "array":
            return self.make_array(schema, depth, name)
        if kind == "string":
            return make_string(schema, index, name)
        if kind in ("integer", "number"):
            return make_number(schema, index, integer=kind == "integer")
        if kind == "boolean":
            return index % 2 == 0
        return None

    def make_object(self, schema: dict[str, Any], depth: int, name: str) -> dict[str, Any]:
        props: dict[str, Any] = schema.get("properties") or {}
        required = [r for r in schema.get("required", []) if isinstance(r, str)]
        keys = list(props) if depth < SOFT_DEPTH else [k for k in props if k in required]
        keys += [r for r in required if r not in keys]
        extra = schema.get("additionalProperties", True)
        out: dict[str, Any] = {}
        for key in keys:
            sub = props.get(key, extra if isinstance(extra, dict) else {"type": "string"})
            out[key] = self.make(sub, depth + 1, 0, key)
        min_props = schema.get("minProperties", 0)
        if isinstance(extra, dict) and not props and (depth < SOFT_DEPTH or min_props):
            for i in range(max(1, min_props) - len(out)):
                out[f"key{i + 1}"] = self.make(extra, depth + 1, i, f"key{i + 1}")
        return out

    def make_array(self, schema: dict[str, Any], depth: int, name: str) -> list[Any]:
        prefix = schema.get("prefixItems")
        items = schema.get("items", {})
        if isinstance(items, list):  # the older tuple form
            prefix, items = items, schema.get("additionalItems", {})
        prefix = prefix or []
        count = max(schema.get("minItems", 0), len(prefix), 1 if depth < SOFT_DEPTH else 0)
        if "maxItems" in schema:
            count = min(count, schema["maxItems"])
        if items is False:
            count = min(count, len(prefix))
        out = []
        for i in range(count):
            sub = prefix[i] if i < len(prefix) else items
            out.append(self.make(sub, depth + 1, i, singular(name)))
        return out

    def resolve(self, ref: str) -> Any:
        """Follow an in-document JSON pointer such as ``#/$defs/Node``."""
        if not ref.startswith("#"):
            return {}  # external references are not supported upstream either
        node: Any = self.root
        for part in ref[1:].split("/"):
            if not part:
                continue
            part = part.replace("~1", "/").replace("~0", "~")
            node = node[int(part)] if isinstance(node, list) else node.get(part, {})
        return node

    def resolve_shallow(self, schema: Any) -> Any:
        """Inline a top-level ``$ref`` so branches can be merged with sibling keywords."""
        while isinstance(schema, dict) and set(schema) == {"$ref"}:
            schema = self.resolve(schema["$ref"])
        return schema

    def matches_exactly_one(self, value: Any, branches: list[Any]) -> bool:
        """``oneOf`` needs a value that no other branch accepts; check with a real validator."""
        cls = validators.validator_for(self.root if isinstance(self.root, dict) else {})
        root_validator = cls(self.root)
        hits = sum(1 for b in branches if root_validator.evolve(schema=b).is_valid(value))
        return hits == 1


def merge(a: Any, b: Any) -> Any:
    """Combine two schemas for ``allOf``: properties and required lists are joined."""
    if not isinstance(a, dict) or not isinstance(b, dict):
        return b if isinstance(b, dict) else a
    out = {**a, **b}
    if "properties" in a and "properties" in b:
        out["properties"] = {**a["properties"], **b["properties"]}
    if "required" in a and "required" in b:
        out["required"] = list(dict.fromkeys([*a["required"], *b["required"]]))
    return out


def pick_type(schema: dict[str, Any], depth: int) -> str:
    """Choose one type: the first listed, except null near the depth cap (it ends recursion)."""
    kind = schema.get("type")
    if isinstance(kind, list):
        kinds: list[str] = [k for k in kind if k in TYPE_ORDER] or ["string"]
        if depth >= SOFT_DEPTH and "null" in kinds:
            return "null"
        return next((k for k in kinds if k != "null"), kinds[0])
    if isinstance(kind, str):
        return kind
    if "properties" in schema or "additionalProperties" in schema or "required" in schema:
        return "object"
    if "items" in schema or "prefixItems" in schema:
        return "array"
    if any(k in schema for k in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum")):
        return "number"
    return "string"


def make_string(schema: dict[str, Any], index: int, name: str) -> str:
    """A readable string named after its property, shaped by format and length limits."""
    fmt = schema.get("format")
    text = STRING_FORMATS.get(
        fmt if isinstance(fmt, str) else "", f"example {name}" + (f" {index + 1}" if index else "")
    )
    if isinstance(schema.get("pattern"), str):
        text = matching_candidate(schema["pattern"], text)
    min_len, max_len = schema.get("minLength", 0), schema.get("maxLength")
    if len(text) < min_len:
        text += "x" * (min_len - len(text))
    if max_len is not None and len(text) > max_len:
        text = text[:max_len]
    return text


def make_number(schema: dict[str, Any], index: int, integer: bool) -> int | float:
    """A small number inside the bounds (exclusive bounds as numbers, draft 6 and later)."""
    lo, hi = schema.get("minimum"), schema.get("maximum")
    step = schema.get("multipleOf")
    x_lo, x_hi = schema.get("exclusiveMinimum"), schema.get("exclusiveMaximum")
    nudge = 1 if integer else 0.5
    if isinstance(x_lo, int | float) and not isinstance(x_lo, bool):
        lo = max(lo, x_lo + nudge) if lo is not None else x_lo + nudge
    if isinstance(x_hi, int | float) and not isinstance(x_hi, bool):
        hi = min(hi, x_hi - nudge) if hi is not None else x_hi - nudge
    value: float = (index + 1) * (1 if integer else 1.5)
    if lo is not None and value < lo:
        value = lo
    if hi is not None and value > hi:
        value = hi if lo is None or hi >= lo else lo
    if isinstance(step, int | float) and step > 0:
        value = math.ceil(value / step) * step
        if hi is not None and value > hi:
            value -= step
    if integer:
        rounded = math.ceil(value)
        return int(math.floor(value) if hi is not None and rounded > hi else rounded)
    return float(value)


def matching_candidate(pattern: str, default: str) -> str:
    """A few common shapes for a ``pattern``; full regex inversion is out of scope (as upstream)."""
    candidates = (default, "example", "abc", "ABC", "123", "abc123", "a-b", "2024-01-15", "user@example.com")
    try:
        return next((c for c in candidates if re.search(pattern, c)), default)
    except re.error:
        return default


def singular(name: str) -> str:
    """Name an array's items after the array ("tags" -> "tag"), for readable example strings."""
    return name[:-1] if name.endswith("s") and len(name) > 1 else f"{name} item"
