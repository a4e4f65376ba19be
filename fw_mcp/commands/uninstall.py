"""`fw-mcp uninstall HOST`: remove the fw-mcp entry that `install` added, after a backup.

Only that entry goes (and VS Code's key prompt, when no other entry uses it); every other byte of
the file stays. Claude Code is asked through `claude mcp remove`.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from fw_mcp.commands._common import EXIT_OK, describe
from fw_mcp.hosts import CLAUDE_CODE, HOSTS, KEY_INPUT, default_config_path
from fw_mcp.hosts.edit import check_result, removed_text
from fw_mcp.hosts.jsonc import parse
from fw_mcp.hosts.jsonfile import backup, check_writable, read_config, write_atomic

__all__ = ["add_arguments", "run"]

EXAMPLES = """\
  fw-mcp uninstall claude-desktop                remove the "fireworks" entry (a backup first)
  fw-mcp uninstall vscode --dry-run              say what would be removed; write nothing
  fw-mcp uninstall cursor --name fw              the entry installed with --name fw
  fw-mcp uninstall claude-code                   runs `claude mcp remove --scope user fireworks`
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    describe(
        parser,
        description="Remove the fw-mcp entry from a host's MCP config. A timestamped backup is written "
        "first and every other entry, comment and line is kept.",
        examples=EXAMPLES,
    )
    parser.add_argument("host", choices=[*sorted(HOSTS), CLAUDE_CODE], metavar="HOST")
    parser.add_argument("--dry-run", action="store_true", help="print what would change; write nothing")
    parser.add_argument("--name", default="fireworks", help="the entry's name (default fireworks)")
    parser.add_argument(
        "--config-path", metavar="PATH", help="the host's config file (default: its usual place)"
    )


def run(args: argparse.Namespace) -> int:
    if args.host == CLAUDE_CODE:
        from fw_mcp.hosts.claude_code import uninstall

        return uninstall(args.name, dry_run=args.dry_run)
    host = HOSTS[args.host]
    path = Path(args.config_path).expanduser() if args.config_path else default_config_path(host)
    config = read_config(path, host.comments)
    servers = config.data.get(host.servers_key)
    if not isinstance(servers, dict) or args.name not in servers:
        print(f'No "{args.name}" in {host.title}\'s config {path}; nothing to remove.')
        return EXIT_OK
    input_id = KEY_INPUT["id"] if host.key_by_input else None
    text = removed_text(config, host.servers_key, args.name, input_id)
    expected = {**config.data, host.servers_key: {k: v for k, v in servers.items() if k != args.name}}
    if "inputs" in config.data:
        expected["inputs"] = parse(text).value.get("inputs")
    check_result(text, expected)
    if args.dry_run:
        print(f'Would remove "{args.name}" from {host.title}\'s config {path}. Dry run: nothing was written.')
        return EXIT_OK
    check_writable(path)
    saved = backup(path)
    write_atomic(config, text)
    print(f'Removed "{args.name}" from {host.title}\'s config {path}.')
    print(f"Backup of the previous file: {saved}")
    print(f"Next: {host.after}")
    return EXIT_OK
