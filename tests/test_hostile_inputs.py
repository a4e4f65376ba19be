"""Random and hostile arguments at every tool, through the official MCP client.

Each call must end in a clean refusal or a valid result: never a crash (the SDK's bare
"Error executing tool X"), never a traceback, never a hang; and the server still answers afterwards.
"""

from __future__ import annotations

from typing import Any

import anyio
import mcp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from mcp.types import CallToolResult

from fw_mcp.server import build_server
from fw_mcp.simulator import SimulatorServer
from tests.conftest import make_settings

HOSTILE_TEXT = st.sampled_from(
    [
        "",
        " ",
        "null",
        "{}",
        "[]",
        '{"__proto__": 1}',
        "../../../../etc/passwd",
        "/etc/shadow",
        "file:///etc/passwd",
        "ftp://x/y.png",
        "data:image/png;base64,!!!!",
        "data:text/html;base64,PGgxPg==",
        "http://169.254.169.254/latest/meta-data",
        "\x00\x01\x02",
        "\U0001f600" * 50,
        "A" * 5000,
        "<think>",
        "${FIREWORKS_API_KEY}",
        "; rm -rf /",
    ]
)
JSON_LEAF = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=True),
    st.text(max_size=40),
    HOSTILE_TEXT,
)
JSON = st.recursive(
    JSON_LEAF,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=12,
)
MESSAGE = st.fixed_dictionaries(
    {"role": st.sampled_from(["system", "user", "assistant", "tool", "robot", ""]), "content": JSON_LEAF},
    optional={"tool_call_id": JSON_LEAF, "tool_calls": JSON},
)
TOOL_SPEC = st.one_of(
    JSON,
    st.fixed_dictionaries(
        {"name": st.one_of(st.from_regex(r"[a-zA-Z0-9_-]{1,64}", fullmatch=True), HOSTILE_TEXT)},
        optional={"description": JSON_LEAF, "parameters": JSON},
    ),
)
FIELDS: dict[str, dict[str, st.SearchStrategy[Any]]] = {
    "chat": {
        "prompt": JSON_LEAF,
        "messages": st.one_of(JSON, st.lists(MESSAGE, max_size=4)),
        "system": JSON_LEAF,
        "model": JSON_LEAF,
        "temperature": JSON_LEAF,
        "top_p": JSON_LEAF,
        "top_k": JSON_LEAF,
        "max_tokens": st.one_of(JSON_LEAF, st.integers(1, 50)),
        "stop": JSON,
        "reasoning_effort": st.one_of(JSON_LEAF, st.sampled_from(["low", "high", "none"])),
    },
    "extract_json": {
        "text": JSON_LEAF,
        "schema": st.one_of(JSON, st.just({"type": "object", "properties": {"a": {"type": "string"}}})),
        "instructions": JSON_LEAF,
        "model": JSON_LEAF,
        "max_tokens": JSON_LEAF,
    },
    "describe_image": {
        "image": st.one_of(JSON_LEAF, st.just("https://example.com/a.png")),
        "images": st.one_of(JSON, st.lists(HOSTILE_TEXT, max_size=35)),
        "prompt": JSON_LEAF,
        "model": JSON_LEAF,
        "max_tokens": JSON_LEAF,
    },
    "call_with_tools": {
        "tools": st.one_of(JSON, st.lists(TOOL_SPEC, max_size=3)),
        "prompt": JSON_LEAF,
        "messages": st.one_of(JSON, st.lists(MESSAGE, max_size=3)),
        "tool_choice": JSON_LEAF,
        "parallel_tool_calls": JSON_LEAF,
        "model": JSON_LEAF,
    },
}


PNG_1PX = "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
PROSE = st.text(min_size=1, max_size=200).filter(str.strip)
SCHEMA = st.sampled_from(
    [
        {"type": "object", "properties": {"name": {"type": "string"}}, "required": ["name"]},
        {"type": "array", "items": {"type": "integer"}},
        {"$defs": {"n": {"type": "object", "properties": {"k": {"$ref": "#/$defs/n"}}}}, "$ref": "#/$defs/n"},
        {
            "type": "object",
            "properties": {"e": {"enum": ["a", "b"]}, "x": {"anyOf": [{"type": "null"}, {"type": "number"}]}},
        },
        {"type": 12},
        {"$ref": "#/nowhere"},
    ]
)
WEATHER = {
    "name": "get_weather",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
}
# A plausible call per tool; hostile values are then mixed into some of its fields.
BASES: dict[str, st.SearchStrategy[dict[str, Any]]] = {
    "chat": st.fixed_dictionaries({"prompt": PROSE}, optional={"max_tokens": st.integers(1, 30)}),
    "extract_json": st.fixed_dictionaries({"text": PROSE, "schema": SCHEMA}),
    "describe_image": st.fixed_dictionaries(
        {"image": st.sampled_from([PNG_1PX, "https://example.com/a.png", "/etc/passwd", "missing.png"])}
    ),
    "call_with_tools": st.fixed_dictionaries(
        {"prompt": PROSE, "tools": st.just([WEATHER])},
        optional={"tool_choice": st.sampled_from(["auto", "none", "required", "get_weather"])},
    ),
}
NOTHING: st.SearchStrategy[dict[str, Any]] = st.just({})


def arguments(tool: str) -> st.SearchStrategy[dict[str, Any]]:
    hostile = st.fixed_dictionaries({}, optional=FIELDS[tool])
    extra = st.dictionaries(st.text(max_size=12), JSON, min_size=1, max_size=2)
    return st.builds(
        lambda base, bad, more: {**base, **bad, **more},
        BASES[tool],
        st.one_of(NOTHING, NOTHING, hostile),
        st.one_of(NOTHING, NOTHING, NOTHING, extra),
    )


CALLS = st.sampled_from(sorted(FIELDS)).flatmap(lambda tool: st.tuples(st.just(tool), arguments(tool)))


def assert_clean(tool: str, result: CallToolResult) -> None:
    message = "\n".join(b.text for b in result.content if b.type == "text")
    assert message.strip() != f"Error executing tool {tool}", f"crash on {tool}"
    assert "Traceback" not in message and "pydantic" not in message.lower()
    if result.is_error:
        assert len(message) < 5000, "refusals are short"
    else:
        assert isinstance(result.structured_content, dict)


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],
)
@given(batch=st.lists(CALLS, min_size=1, max_size=4))
def test_hostile_arguments_end_in_a_refusal_or_a_valid_result(
    simulator_server: SimulatorServer, tmp_path_factory: Any, batch: list[tuple[str, dict[str, Any]]]
) -> None:
    settings_ = make_settings(simulator_server.base_url, timeouts={"total": 10})

    async def run() -> None:
        with anyio.fail_after(30):
            async with mcp.Client(build_server(settings_)) as client:
                for tool, args in batch:
                    assert_clean(tool, await client.call_tool(tool, args))
                after = await client.call_tool("chat", {"prompt": "still alive?"})
                assert not after.is_error

    anyio.run(run)
