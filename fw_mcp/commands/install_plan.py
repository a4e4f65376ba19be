"""What `fw-mcp install` would change in a host's config file, and the report a person reads.

The plan is computed in full (new text, changes, notes) before anything is written, so that a
dry run and a real run print the same thing.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from fw_mcp.commands._common import mask_key
from fw_mcp.hosts import KEY_INPUT, KEY_VAR, Host, Launch, desired_entry
from fw_mcp.hosts.edit import check_result, updated_text
from fw_mcp.hosts.jsonfile import ConfigFile, InvalidConfigFile

__all__ = ["Plan", "plan_install", "report"]


@dataclass(frozen=True)
class Plan:
    """What install would do to one file: the new content and the changes, for the person to read."""

    config: ConfigFile
    data: dict[str, Any]
    changes: list[str]
    existed: bool
    others: list[str]
    text: str = ""  # the file's new text

    @property
    def changed(self) -> bool:
        return self.text != self.config.text or not self.config.exists


def plan_install(host: Host, config: ConfigFile, name: str, launch: Launch, env: dict[str, str]) -> Plan:
    """The file's content with our entry added or updated; nothing else in it changes.

    Raises:
        InvalidConfigFile: the server list, our entry or VS Code's `inputs` has an unexpected shape.
    """
    servers = config.data.get(host.servers_key, {})
    if not isinstance(servers, dict):
        raise InvalidConfigFile(f'In {config.path}, "{host.servers_key}" is not an object')
    existing = servers.get(name)
    if existing is not None and not isinstance(existing, dict):
        raise InvalidConfigFile(f'In {config.path}, the entry "{name}" is not an object')
    entry = desired_entry(host, launch, env, existing or {})
    data = {**config.data, host.servers_key: {**servers, name: entry}}
    changes = _changes(existing or {}, entry)
    if host.key_by_input and entry.get("env", {}).get(KEY_VAR) == _input_ref():
        inputs = data.get("inputs", [])
        if not isinstance(inputs, list):
            raise InvalidConfigFile(f'In {config.path}, "inputs" is not a list')
        if not any(isinstance(i, dict) and i.get("id") == KEY_INPUT["id"] for i in inputs):
            data["inputs"] = [*inputs, KEY_INPUT]
            changes.append(f'+ inputs: "{KEY_INPUT["id"]}" (a password prompt for the key)')
    others = [n for n in servers if n != name]
    new_input = KEY_INPUT if "inputs" in data and data["inputs"] != config.data.get("inputs", []) else None
    text = updated_text(config, host.servers_key, name, entry, new_input)
    check_result(text, data)
    return Plan(config, data, changes, existing is not None, others, text)


def _input_ref() -> str:
    return f"${{input:{KEY_INPUT['id']}}}"


def _changes(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    before, after = _flatten(old), _flatten(new)
    lines = []
    for key, value in after.items():
        if key not in before:
            lines.append(f"+ {key}: {_show(key, value)}")
        elif before[key] != value:
            lines.append(f"~ {key}: {_show(key, before[key])} -> {_show(key, value)}")
    lines += [f"- {key}" for key in before if key not in after]
    return lines


def _flatten(entry: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in entry.items():
        if isinstance(value, dict) and value:
            flat |= _flatten(value, f"{prefix}{key}.")
        else:
            flat[f"{prefix}{key}"] = value
    return flat


def _show(key: str, value: Any) -> str:
    """JSON for a value; a key's value masked (a `${input:...}` reference is not a secret)."""
    if key.endswith(KEY_VAR) and isinstance(value, str) and not value.startswith("${input:"):
        return mask_key(value)
    return json.dumps(value, ensure_ascii=False)


def report(plan: Plan, host: Host, name: str, *, dry_run: bool) -> str:
    where = f"{host.title}'s config {plan.config.path}"
    if not plan.changed:
        return f'"{name}" in {where} is already up to date; nothing written.'
    if plan.existed:
        head = f'{"Would update" if dry_run else "Updated"} "{name}" in {where}:'
    else:
        head = f'{"Would add" if dry_run else "Added"} "{name}" to {where}:'
    lines = [head, *(f"  {c}" for c in plan.changes)]
    if plan.others:
        count = len(plan.others)
        lines.append(f"Kept {count} other server{'s' * (count != 1)}: {', '.join(plan.others)}.")
    lines += _key_notes(plan, host, name)
    if dry_run:
        lines.append("Dry run: nothing was written.")
    return "\n".join(lines)


def _key_notes(plan: Plan, host: Host, name: str) -> list[str]:
    """A missing key, or a key in a file other users can read: say so, with the fix."""
    env = plan.data[host.servers_key][name].get("env", {})
    if KEY_VAR not in env:
        return [
            f"Note: the entry has no {KEY_VAR}, so each call will say it is missing. Run again with "
            "--with-key (copies it from this shell), or add it to the entry's env yourself."
        ]
    mode = plan.config.mode
    if not host.key_by_input and mode is not None and mode & 0o077:
        path = plan.config.path
        return [
            f"Note: other users can read {path} (mode {mode:o}) and it holds your key: `chmod 600 {path}`."
        ]
    return []
