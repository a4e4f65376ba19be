"""The new text of a host's config file after adding, updating or removing our entry.

Each change is spliced into the file's text (fw_mcp.hosts.jsonc): the other servers, the user's
comments and the layout stay byte for byte; only our entry (and VS Code's key prompt) is new text,
laid out in the file's indent and line endings. The result is parsed again and must equal the data
the change was planned on, so a splicing mistake can never reach the host.
"""

from __future__ import annotations

from typing import Any

from fw_mcp.hosts import jsonc, splice
from fw_mcp.hosts.jsonfile import ConfigFile

__all__ = ["removed_text", "updated_text"]


def updated_text(
    config: ConfigFile, servers_key: str, name: str, entry: dict[str, Any], new_input: dict[str, Any] | None
) -> str:
    """The file with `servers_key.name` set to `entry` and, if given, `new_input` added to `inputs`."""
    root = config.root()
    if root is None:
        data: dict[str, Any] = {servers_key: {name: entry}}
        if new_input is not None:
            data["inputs"] = [new_input]
        return config.render(data)
    text = config.text
    indent, newline = config.indent, config.newline
    servers = root.member(servers_key)
    if servers is None:
        text = splice.insert_member(text, root, servers_key, {name: entry}, indent, newline)
    else:
        existing = servers.value.member(name)
        if existing is None:
            text = splice.insert_member(text, servers.value, name, entry, indent, newline)
        elif existing.value.value != entry:
            text = splice.replace_value(text, existing.value, entry, indent, newline)
    if new_input is not None:
        root = jsonc.parse(text)
        inputs = root.member("inputs")
        if inputs is None:
            text = splice.insert_member(text, root, "inputs", [new_input], indent, newline)
        else:
            text = splice.append_item(text, inputs.value, new_input, indent, newline)
    return text


def removed_text(config: ConfigFile, servers_key: str, name: str, input_id: str | None) -> str:
    """The file without `servers_key.name` and, if given and no longer used, the input `input_id`."""
    root = config.root()
    assert root is not None
    servers = root.member(servers_key)
    assert servers is not None
    text = splice.remove_member(config.text, servers.value, name)
    if input_id is None:
        return text
    root = jsonc.parse(text)
    inputs = root.member("inputs")
    reference = "${input:" + input_id + "}"
    if inputs is None or reference in text:
        return text  # still used by another entry, or never there
    ours = [n for n, i in enumerate(inputs.value.value) if isinstance(i, dict) and i.get("id") == input_id]
    for index in reversed(ours):
        text = splice.remove_item(text, jsonc.parse(text).member("inputs").value, index)  # type: ignore[union-attr]
    return text


def check_result(text: str, expected: dict[str, Any]) -> None:
    """The spliced text must mean exactly the planned data."""
    if jsonc.parse(text).value != expected:
        raise AssertionError("the edited config does not match the planned change")
