"""The JSONC reader and the spliced edits behind `install`/`uninstall`: other bytes never move."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fw_mcp.hosts import jsonc, splice

ENTRY = {"command": "/x/fw-mcp", "args": [], "env": {"K": "v"}}


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ('{"a": 1}', {"a": 1}),
        ('{\n  // c\n  "a": [1, 2,], /* b */\n}', {"a": [1, 2]}),
        ('\ufeff{"a": "x//not a comment", "b": "/*"}', {"a": "x//not a comment", "b": "/*"}),
        ('{"a": 1, "a": 2}', {"a": 2}),
        ("[true, false, null, -1.5e3]", [True, False, None, -1500.0]),
    ],
)
def test_parse(text: str, value: Any) -> None:
    assert jsonc.parse(text).value == value


@pytest.mark.parametrize(
    ("text", "where"),
    [
        ('{"a": }', "line 1 column 7"),
        ('{"a": 1', "line 1"),
        ("{\n  /* open", "line 2 column 3"),
        ("[1,,2]", "column 4"),
    ],
)
def test_parse_errors_say_where(text: str, where: str) -> None:
    with pytest.raises(jsonc.JsoncError, match=where):
        jsonc.parse(text)


def test_strictness_is_reported() -> None:
    assert jsonc.parse('{"a": [1]}').comments is False
    assert jsonc.parse('{"a": [1,]}').comments is True
    assert jsonc.parse('{"a": 1} // x').comments is True


LAYOUTS = [
    '{"servers": {}}',
    '{\n  "servers": {}\n}\n',
    '{\n  "servers": {\n    "a": {"x": [1, 2]}, // keep\n    "b": 2,\n  },\n}\n',
    '{\r\n\t"servers": {\r\n\t\t"a": 1 /* one */\r\n\t}\r\n}\r\n',
    '{"servers": {"a": 1, "b": {"c": [1,\n  2]}}}',
]


@pytest.mark.parametrize("text", LAYOUTS)
def test_insert_then_remove_gives_back_the_same_bytes(text: str) -> None:
    root = jsonc.parse(text)
    servers = root.member("servers")
    assert servers is not None
    newline = "\r\n" if "\r\n" in text else "\n"
    indent = None if "\n" not in text.strip() else ("\t" if "\t" in text else "  ")
    added = splice.insert_member(text, servers.value, "fireworks", ENTRY, indent, newline)
    after = jsonc.parse(added).value
    assert after["servers"]["fireworks"] == ENTRY
    assert {k: v for k, v in after["servers"].items() if k != "fireworks"} == root.value["servers"]
    removed = splice.remove_member(added, jsonc.parse(added).member("servers").value, "fireworks")  # type: ignore[union-attr]
    assert removed == text


keys = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=8)
values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(keys, inner, max_size=3),
    max_leaves=8,
)


@settings(max_examples=150, deadline=None)
@given(
    other=st.dictionaries(keys.filter(lambda k: k != "fw"), values, max_size=4),
    indent=st.sampled_from([None, 2, 4]),
)
def test_splicing_into_any_json_object_means_what_json_would(
    other: dict[str, Any], indent: int | None
) -> None:
    text = json.dumps({"servers": other}, indent=indent)
    servers = jsonc.parse(text).member("servers")
    assert servers is not None
    unit = None if indent is None else " " * indent
    added = splice.insert_member(text, servers.value, "fw", ENTRY, unit, "\n")
    assert json.loads(added) == {"servers": {**other, "fw": ENTRY}}
    again = jsonc.parse(added).member("servers")
    assert again is not None
    assert splice.remove_member(added, again.value, "fw") == text
