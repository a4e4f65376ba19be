"""Argument types whose JSON Schema survives every agent framework's conversion of MCP tools.

Frameworks turn a tool's `inputSchema` into a model's function definition: OpenAI strict mode (the
Agents SDK, langchain-core, pydantic-ai) closes every object, so a free-form object can only stay
empty; Google's converters (google-genai, langchain-google-genai) refuse `$defs`/`$ref` and `const`.
So the schemas fw-mcp advertises have no `$ref` (nested models are inlined), spell a constant as a
one-value `enum`, and carry free-form JSON (a JSON Schema, tool-call arguments) as a JSON-encoded
string. The server still takes the object form that hosts such as Claude send.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

from pydantic import BeforeValidator, GetJsonSchemaHandler, WithJsonSchema
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema

from fw_mcp import jsondepth

__all__ = ["ANY_JSON_SCHEMA", "PORTABLE", "JsonObject", "JsonText", "Portable"]

_MAX_DEPTH = 200  # the most [limits] max_json_depth allows; a schema is refused past 64 levels anyway

ANY_JSON_SCHEMA: dict[str, Any] = {"type": ["object", "array", "string", "number", "boolean", "null"]}
"""Any JSON value, with a type a schema reader can show (an empty schema has none)."""


class Portable:
    """Annotation: this field's schema with every `$ref` inlined, every `const` as an `enum`, and
    no `additionalProperties: false`.

    Pydantic then drops the `$defs` nobody refers to. Only for non-recursive models.
    """

    def __get_pydantic_json_schema__(
        self, core_schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        schema: JsonSchemaValue = _portable(handler(core_schema), handler)
        return schema


PORTABLE = Portable()


def _portable(node: Any, handler: GetJsonSchemaHandler) -> Any:
    if isinstance(node, list):
        return [_portable(item, handler) for item in node]
    if not isinstance(node, dict):
        return node
    if "$ref" in node:
        target = handler.resolve_ref_schema({"$ref": node["$ref"]})
        rest = {k: v for k, v in node.items() if k != "$ref"}
        return {**_portable(target, handler), **_portable(rest, handler)}
    # `additionalProperties: false` goes too: google-genai's MCP path crashes on a boolean there. The
    # server still refuses unknown keys, by name; OpenAI strict mode adds it back where it wants it.
    dropped = {"const"} | ({"additionalProperties"} if node.get("additionalProperties") is False else set())
    out = {k: _portable(v, handler) for k, v in node.items() if k not in dropped}
    if "const" in node:
        out["enum"] = [node["const"]]
    return out


def _object_from_json(value: Any) -> Any:
    """A JSON object given as text becomes the object; an object passes as it is."""
    if not isinstance(value, str):
        return value
    try:
        decoded = jsondepth.loads(value, _MAX_DEPTH)  # TooDeep is a ValueError: refused, never a crash
    except ValueError as exc:
        raise ValueError(f"is not valid JSON ({exc})") from None
    if not isinstance(decoded, dict):
        raise ValueError("must be a JSON object (or that object as a JSON string)")
    return decoded


def _text_from_json(value: Any) -> Any:
    """An object becomes its JSON text; text passes as it is (the API carries arguments as text)."""
    return json.dumps(value, ensure_ascii=False) if isinstance(value, dict) else value


JsonObject = Annotated[
    dict[str, Any],
    BeforeValidator(_object_from_json),
    WithJsonSchema({"type": "string"}),
]
"""A JSON object, advertised as a JSON-encoded string (which every converter keeps); both accepted."""

JsonText = Annotated[
    str,
    BeforeValidator(_text_from_json),
    WithJsonSchema({"type": "string"}),
]
"""JSON text (tool-call arguments); an object is accepted and encoded."""
