"""Every tool's schema survives the agent frameworks' own converters, run on the live `tools/list`.

The converters are the libraries themselves (the `interop` extra): OpenAI strict mode (openai-agents,
langchain-core, pydantic-ai), Google (google-genai, langchain-google-genai, pydantic-ai). Each
converted schema must still carry every argument, nested ones included, with its JSON type, its
enum values and its required flag; and the arguments such a framework sends back (explicit nulls for
strict mode, JSON text for free-form JSON) must be accepted by the server.
"""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import mcp
import pytest

from fw_mcp.server import build_server
from fw_mcp.settings import Settings
from fw_mcp.simulator import SimulatorServer
from tests.conftest import TEST_KEY

Schema = dict[str, Any]
Tool = dict[str, Any]


@pytest.fixture
async def live_tools(settings: Settings) -> list[Tool]:
    """`tools/list` as a client sees it, through the official MCP client."""
    async with mcp.Client(build_server(settings)) as client:
        listed = await client.list_tools()
    return [t.model_dump(mode="json", by_alias=True, exclude_none=True) for t in listed.tools]


# -- the converters ---------------------------------------------------------------------------------------


def openai_agents_strict(tool: Tool) -> Schema:
    from agents.strict_schema import ensure_strict_json_schema

    return ensure_strict_json_schema(copy.deepcopy(tool["inputSchema"]))


def langchain_openai_strict(tool: Tool) -> Schema:
    from langchain_core.utils.function_calling import convert_to_openai_tool

    spec = {"name": tool["name"], "description": tool["description"], "parameters": tool["inputSchema"]}
    converted = convert_to_openai_tool(copy.deepcopy(spec), strict=True)
    assert converted["function"]["strict"] is True
    parameters: Schema = converted["function"]["parameters"]
    return parameters


def pydantic_ai_openai(tool: Tool) -> Schema:
    from pydantic_ai.profiles.openai import OpenAIJsonSchemaTransformer

    return OpenAIJsonSchemaTransformer(copy.deepcopy(tool["inputSchema"]), strict=True).walk()


def pydantic_ai_google(tool: Tool) -> Schema:
    from pydantic_ai.profiles.google import GoogleJsonSchemaTransformer

    return GoogleJsonSchemaTransformer(copy.deepcopy(tool["inputSchema"])).walk()


def genai_function_declaration(tool: Tool) -> Schema:
    from google.genai import types

    declaration = types.FunctionDeclaration(
        name=tool["name"], description=tool["description"], parameters=copy.deepcopy(tool["inputSchema"])
    )
    assert declaration.parameters is not None
    return _genai(declaration.parameters)


def genai_from_json_schema(tool: Tool) -> Schema:
    from google.genai import types

    json_schema = types.JSONSchema.model_validate(copy.deepcopy(tool["inputSchema"]))
    return _genai(types.Schema.from_json_schema(json_schema=json_schema))


def genai_mcp_tool(tool: Tool) -> Schema:
    """google-genai's own path for MCP tools (an MCP session given as a tool)."""
    from types import SimpleNamespace

    from google.genai._mcp_utils import mcp_to_gemini_tool

    mcp_tool = SimpleNamespace(
        name=tool["name"], description=tool["description"], inputSchema=copy.deepcopy(tool["inputSchema"])
    )
    [declaration] = mcp_to_gemini_tool(mcp_tool).function_declarations or []  # type: ignore[arg-type]
    assert declaration.parameters is not None
    return _genai(declaration.parameters)


def langchain_google_genai(tool: Tool) -> Schema:
    from langchain_google_genai._function_utils import convert_to_genai_function_declarations

    spec = {"name": tool["name"], "description": tool["description"], "parameters": tool["inputSchema"]}
    converted = convert_to_genai_function_declarations(
        [{"type": "function", "function": copy.deepcopy(spec)}]
    )
    [declaration] = [d for t in converted for d in t.function_declarations or []]
    assert declaration.parameters is not None
    return _genai(declaration.parameters)


def _genai(schema: Any) -> Schema:
    """google-genai's Schema object as JSON Schema words: `any_of` -> anyOf, `STRING` -> string."""
    return _rename(schema.model_dump(mode="json", exclude_none=True))


def _rename(node: Any) -> Any:
    if isinstance(node, list):
        return [_rename(v) for v in node]
    if not isinstance(node, dict):
        return node
    out = {("anyOf" if k == "any_of" else k): _rename(v) for k, v in node.items()}
    if isinstance(out.get("type"), str):
        out["type"] = out["type"].lower()
    if out.get("properties"):  # property names are data, not schema words
        out["properties"] = {k: _rename(v) for k, v in node["properties"].items()}
    return out


CONVERTERS: dict[str, Callable[[Tool], Schema]] = {
    "openai-agents ensure_strict_json_schema": openai_agents_strict,
    "langchain-core convert_to_openai_tool(strict=True)": langchain_openai_strict,
    "pydantic-ai OpenAIJsonSchemaTransformer(strict=True)": pydantic_ai_openai,
    "pydantic-ai GoogleJsonSchemaTransformer": pydantic_ai_google,
    "google-genai FunctionDeclaration(parameters=...)": genai_function_declaration,
    "google-genai Schema.from_json_schema": genai_from_json_schema,
    "google-genai mcp_to_gemini_tool": genai_mcp_tool,
    "langchain-google-genai convert_to_genai_function_declarations": langchain_google_genai,
}


# -- what a converted schema must keep --------------------------------------------------------------------


def shape(node: Schema) -> dict[str, Any]:
    """What a model may send at this node: its JSON types (null aside), enum, and its parts' shapes."""
    types: set[str] = set()
    enums: set[str] = set()
    properties: dict[str, Any] = {}
    required: set[str] = set()
    items: list[Any] = []
    for branch in [node, *node.get("anyOf", [])]:
        kind = branch.get("type")
        types.update([kind] if isinstance(kind, str) else kind or [])
        enums.update(json.dumps(v) for v in branch.get("enum") or [] if v is not None)
        for name, sub in (branch.get("properties") or {}).items():
            properties[name] = shape(sub)
        required.update(branch.get("required") or [])
        if isinstance(branch.get("items"), dict):
            items.append(shape(branch["items"]))
    types.discard("null")
    return {
        "types": sorted(types),
        "enum": sorted(enums),
        "properties": properties,
        "items": items,
        "required": required,
    }


def assert_kept(original: dict[str, Any], converted: dict[str, Any], where: str) -> None:
    assert converted["types"] == original["types"], (
        f"{where}: types {converted['types']} != {original['types']}"
    )
    assert converted["enum"] == original["enum"], f"{where}: enum {converted['enum']} != {original['enum']}"
    assert converted["properties"].keys() == original["properties"].keys(), f"{where}: properties differ"
    missing = original["required"] - converted["required"]
    assert not missing, f"{where}: no longer required: {sorted(missing)}"
    for name, sub in original["properties"].items():
        assert_kept(sub, converted["properties"][name], f"{where}.{name}")
    assert len(converted["items"]) == len(original["items"]), f"{where}: array items differ"
    for a, b in zip(original["items"], converted["items"], strict=True):
        assert_kept(a, b, f"{where}[]")


def test_advertised_schemas_have_no_refs_consts_or_open_objects(live_tools: list[Tool]) -> None:
    def walk(node: Any, where: str) -> None:
        if isinstance(node, dict):
            assert not {"$ref", "$defs", "definitions", "const"} & node.keys(), where
            assert node.get("additionalProperties") is not True, f"{where}: a free-form object"
            if node.get("type") == "object":
                assert node.get("properties"), f"{where}: an object with no declared properties"
            for key, value in node.items():
                walk(value, f"{where}/{key}")
        elif isinstance(node, list):
            for i, value in enumerate(node):
                walk(value, f"{where}[{i}]")

    for tool in live_tools:
        walk(tool["inputSchema"], tool["name"])


@pytest.mark.parametrize("converter", CONVERTERS)
def test_every_argument_survives_the_conversion(live_tools: list[Tool], converter: str) -> None:
    assert {t["name"] for t in live_tools} >= {"chat", "extract_json", "describe_image", "call_with_tools"}
    for tool in live_tools:
        converted = CONVERTERS[converter](tool)
        original = shape(tool["inputSchema"])
        assert original["properties"], tool["name"]
        assert_kept(original, shape(converted), tool["name"])


def test_free_form_json_travels_as_text(live_tools: list[Tool]) -> None:
    """The JSON Schema, tool parameters and call arguments are strings in every converted schema."""
    by_name = {t["name"]: t for t in live_tools}
    paths = {
        "extract_json": [["schema"]],
        "call_with_tools": [
            ["tools", "[]", "parameters"],
            ["tools", "[]", "function", "parameters"],
            ["messages", "[]", "tool_calls", "[]", "function", "arguments"],
        ],
        "chat": [["messages", "[]", "tool_calls", "[]", "function", "arguments"]],
    }
    for converter in CONVERTERS.values():
        for name, wanted in paths.items():
            root = shape(converter(by_name[name]))
            for path in wanted:
                node = root
                for step in path:
                    node = node["items"][0] if step == "[]" else node["properties"][step]
                assert node["types"] == ["string"], f"{name}: {'.'.join(path)} is {node['types']}"


def test_descriptions_are_dedented(live_tools: list[Tool]) -> None:
    for tool in live_tools:
        assert "\n    " not in tool["description"], tool["name"]
        assert tool["description"] == tool["description"].strip()


def test_output_schemas_type_every_field(live_tools: list[Tool]) -> None:
    def walk(node: Any, where: str) -> None:
        if isinstance(node, dict) and "properties" in node:
            for name, sub in node["properties"].items():
                typed = "type" in sub or "$ref" in sub or any("type" in b for b in sub.get("anyOf", []))
                assert typed, f"{where}.{name} has no type"
                walk(sub, f"{where}.{name}")
        if isinstance(node, dict):
            for key in ("items", "$defs"):
                sub = node.get(key)
                for part in sub.values() if key == "$defs" and isinstance(sub, dict) else [sub]:
                    walk(part, f"{where}/{key}")

    for tool in live_tools:
        assert tool.get("outputSchema"), tool["name"]
        walk(tool["outputSchema"], tool["name"])


# -- what such a framework then sends ---------------------------------------------------------------------


async def test_strict_mode_arguments_are_accepted(settings: Settings, simulator: SimulatorServer) -> None:
    """Every optional argument as an explicit null, every free-form object as JSON text."""
    parameters = {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}
    arguments = {
        "tools": [
            {
                "type": None,
                "function": None,
                "name": "get_weather",
                "description": None,
                "parameters": json.dumps(parameters),
            },
        ],
        "prompt": None,
        "messages": [
            {"role": "user", "content": "Weather in Paris?", "tool_calls": None, "tool_call_id": None},
            {
                "role": "assistant",
                "content": None,
                "tool_call_id": None,
                "tool_calls": [
                    {
                        "id": "call_1",
                        "type": "function",
                        "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'},
                    }
                ],
            },
            {"role": "tool", "content": "18 C", "tool_calls": None, "tool_call_id": "call_1"},
            {"role": "user", "content": "And in Rome?", "tool_calls": None, "tool_call_id": None},
        ],
        "system": None,
        "tool_choice": "required",
        "parallel_tool_calls": None,
        "model": None,
        "temperature": None,
        "max_tokens": None,
    }
    async with mcp.Client(build_server(settings)) as client:
        result = await client.call_tool("call_with_tools", arguments)
        extracted = await client.call_tool(
            "extract_json",
            {
                "text": "Ann is 30.",
                "schema": json.dumps(parameters),
                "instructions": None,
                "model": None,
                "max_tokens": None,
            },
        )
    assert result.is_error is not True, result.content
    [call] = result.structured_content["tool_calls"]
    assert call["name"] == "get_weather" and set(call["arguments"]) == {"city"} and "error" not in call
    assert extracted.is_error is not True, extracted.content
    assert set(extracted.structured_content["data"]) == {"city"}
    sent = simulator.sim.requests[0]["body"]
    assert sent["tools"][0]["function"]["parameters"] == parameters
    assert sent["messages"][1]["tool_calls"][0]["function"]["arguments"] == '{"city": "Paris"}'


async def test_object_forms_are_accepted_too(settings: Settings, simulator: SimulatorServer) -> None:
    """Hosts such as Claude send objects where the schema says JSON text: both work."""
    parameters = {"type": "object", "properties": {"city": {"type": "string"}}}
    async with mcp.Client(build_server(settings)) as client:
        result = await client.call_tool(
            "call_with_tools",
            {
                "tools": [
                    {"type": "function", "function": {"name": "get_weather", "parameters": parameters}}
                ],
                "messages": [
                    {"role": "user", "content": "Weather?"},
                    {
                        "role": "assistant",
                        "content": None,
                        "tool_calls": [
                            {"id": "c1", "function": {"name": "get_weather", "arguments": {"city": "Oslo"}}}
                        ],
                    },
                    {"role": "tool", "content": "3 C", "tool_call_id": "c1"},
                ],
            },
        )
    assert result.is_error is not True, result.content
    sent = simulator.sim.requests[0]["body"]
    assert sent["tools"][0]["function"]["parameters"] == parameters
    assert json.loads(sent["messages"][1]["tool_calls"][0]["function"]["arguments"]) == {"city": "Oslo"}


@pytest.mark.parametrize(
    ("tool", "arguments", "where"),
    [
        (
            "call_with_tools",
            {"prompt": "x", "tools": [{"name": "f", "parameters": "{not json"}]},
            "tools[0].parameters",
        ),
        (
            "call_with_tools",
            {"prompt": "x", "tools": [{"name": "f", "parameters": "[1, 2]"}]},
            "tools[0].parameters",
        ),
        ("extract_json", {"text": "x", "schema": "[1]"}, "schema"),
    ],
)
async def test_json_text_that_is_not_an_object_is_refused(
    settings: Settings, simulator: SimulatorServer, tool: str, arguments: dict[str, Any], where: str
) -> None:
    async with mcp.Client(build_server(settings)) as client:
        result = await client.call_tool(tool, arguments)
    assert result.is_error is True
    assert f"`{where}`" in result.content[0].text
    assert simulator.sim.requests == []


# -- the README's agent-framework snippet, run as written -------------------------------------------------


def readme_snippet() -> str:
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Using fw-mcp from agent frameworks", 1)[1]
    return section.split("```python\n", 1)[1].split("```", 1)[0]


def test_the_readme_openai_agents_snippet_runs(simulator: SimulatorServer) -> None:
    """The agent's model (the simulator) calls fw-mcp's `chat` with strict-mode arguments, then answers."""
    strict_call = {
        "prompt": "Is 2**31 - 1 prime?",
        "messages": None,
        "system": None,
        "model": "deepseek-v3p1",
        "temperature": None,
        "top_p": None,
        "top_k": None,
        "max_tokens": None,
        "stop": None,
        "reasoning_effort": None,
    }
    simulator.sim.enqueue(
        {"match": '"tools"', "reply": {"tool_calls": [{"name": "chat", "arguments": strict_call}]}}
    )
    bin_dir = str(Path(sys.executable).parent)
    env = {
        "PATH": os.pathsep.join([bin_dir, os.environ.get("PATH", "")]),
        "FIREWORKS_API_KEY": TEST_KEY,
        "FIREWORKS_BASE_URL": simulator.base_url,
        "FW_MCP_LOG_LEVEL": "WARNING",
        "HOME": os.environ.get("HOME", "/"),
    }
    ran = subprocess.run(
        [sys.executable, "-c", readme_snippet()], env=env, capture_output=True, text=True, timeout=120
    )
    assert ran.returncode == 0, ran.stderr[-3000:]
    assert "using the tool result" in ran.stdout and "deepseek-v3p1" in ran.stdout, ran.stdout
    bodies = [r["body"] for r in simulator.sim.requests]
    assert [b["model"].rsplit("/", 1)[-1] for b in bodies] == [
        "kimi-k2-instruct-0905",
        "deepseek-v3p1",
        "kimi-k2-instruct-0905",
    ]
    [chat] = [t for t in bodies[0]["tools"] if t["function"]["name"] == "chat"]
    assert chat["function"]["strict"] is True
