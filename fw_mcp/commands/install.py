"""`fw-mcp install HOST`: add or update the fw-mcp entry in a host's config file, in one command.

Every other entry, the user's comments and the file's layout are kept byte for byte; a file that
cannot be written is refused before anything is printed; a timestamped backup comes first; a second
run changes nothing; the key is written only with `--with-key`, and never a placeholder; a file
that does not parse is refused. Claude Code is installed through its own `claude mcp` command.
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path
from typing import Any

from fw_mcp.commands._common import EXIT_OK, UsageError, add_config_flag, describe, key_problem, mask_key
from fw_mcp.commands.install_plan import Plan, plan_install, report
from fw_mcp.hosts import (
    CLAUDE_CODE,
    HOSTS,
    KEY_INPUT,
    KEY_VAR,
    Host,
    Launch,
    default_config_path,
    desired_entry,
    launch_command,
)
from fw_mcp.hosts.jsonfile import (
    InvalidConfigFile,
    backup,
    check_writable,
    read_config,
    write_atomic,
)

__all__ = ["Plan", "add_arguments", "plan_install", "run"]

DEFAULT_NAME = "fireworks"
ENV_CONFIG = "FW_MCP_CONFIG"  # as in fw_mcp.settings, which is too slow to import for `--help`
ENV_ALLOWED_DIRS = "FW_MCP_ALLOWED_DIRS"

EXAMPLES = """\
  fw-mcp install claude-desktop --dry-run        show what would change; write nothing
  fw-mcp install claude-desktop --with-key       also copy FIREWORKS_API_KEY from this shell
  fw-mcp install cursor --allow-dir ~/Pictures   let describe_image read local files there
  fw-mcp install vscode                          VS Code asks for the key, keeps it in its secret storage
  fw-mcp install vscode --config-path .vscode/mcp.json   a workspace instead of your user profile
  fw-mcp install cursor --config ~/fw-mcp.toml   the entry uses that settings file (FW_MCP_CONFIG)
  fw-mcp install claude-code --with-key          runs `claude mcp add-json --scope user ...`
  fw-mcp install --print-link                    one-click install links for Cursor and VS Code

Config files: Claude Desktop claude_desktop_config.json (macOS ~/Library/Application Support/Claude,
Windows %APPDATA%\\Claude, Linux ~/.config/Claude); Cursor ~/.cursor/mcp.json; VS Code mcp.json in
the user profile (Code/User; comments are kept). Claude Code: its user scope (every folder), through
`claude mcp add-json`, or the command printed when `claude` is not on PATH.
Undo with `fw-mcp uninstall HOST`.
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    describe(
        parser,
        description="Add (or update) the fw-mcp entry in a host's MCP config file. Other servers and "
        "the file's formatting are kept, a timestamped backup is written first, and running it again "
        "changes nothing. The API key is not written unless you pass --with-key.",
        examples=EXAMPLES,
    )
    parser.add_argument(
        "host",
        nargs="?",
        choices=[*sorted(HOSTS), CLAUDE_CODE],
        metavar="HOST",
        help="claude-desktop, claude-code, cursor or vscode",
    )
    parser.add_argument("--dry-run", action="store_true", help="print what would change; write nothing")
    parser.add_argument(
        "--print-link",
        action="store_true",
        help="print one-click install links for Cursor and VS Code (no key in them); write nothing",
    )
    parser.add_argument(
        "--with-key", action="store_true", help=f"write {KEY_VAR} from this shell into the entry's env"
    )
    parser.add_argument("--name", default=DEFAULT_NAME, help=f"the entry's name (default {DEFAULT_NAME})")
    parser.add_argument(
        "--config-path", metavar="PATH", help="the host's config file (default: its usual place)"
    )
    parser.add_argument(
        "--allow-dir",
        metavar="DIR",
        action="append",
        default=[],
        help=f"a folder describe_image may read (repeatable; sets {ENV_ALLOWED_DIRS})",
    )
    add_config_flag(parser, help="a TOML settings file for the entry to use (sets FW_MCP_CONFIG)")


def run(args: argparse.Namespace) -> int:
    if args.print_link:
        from fw_mcp.hosts.links import install_links

        print(install_links(args.name, launch_command(), _entry_env(args, None)))
        return EXIT_OK
    if args.host is None:
        raise UsageError("Name the host: fw-mcp install claude-desktop (or claude-code, cursor, vscode).")
    launch = launch_command()
    if args.host == CLAUDE_CODE:
        from fw_mcp.hosts.claude_code import install

        return install(args.name, launch, _entry_env(args, None), dry_run=args.dry_run)
    host = HOSTS[args.host]
    path = Path(args.config_path).expanduser() if args.config_path else default_config_path(host)
    env = _entry_env(args, host)
    try:
        plan = plan_install(host, read_config(path, host.comments), args.name, launch, env)
    except InvalidConfigFile as exc:
        raise InvalidConfigFile(_refusal(exc, host, args.name, launch, env)) from None
    if plan.changed and not args.dry_run:
        check_writable(path)  # before a word is printed or a backup made
    print(report(plan, host, args.name, dry_run=args.dry_run))
    if launch.note:
        print(launch.note)
    if plan.changed and not args.dry_run:
        saved = backup(path) if plan.config.exists else None
        write_atomic(plan.config, plan.text)
        read_config(path, host.comments)  # what the host will parse must parse
        print(f"Backup of the previous file: {saved}" if saved else f"Created {path}.")
        print(f"Next: {host.after}")
    return EXIT_OK


def _entry_env(args: argparse.Namespace, host: Host | None) -> dict[str, str]:
    """The env our entry sets: the key (only with --with-key), a config file, allowed folders.

    `host` None: Claude Code or a link, which have no input prompt of their own.
    """
    env: dict[str, str] = {}
    if args.with_key and host is not None and host.key_by_input:
        print(f"Note: {host.title} asks for the key and keeps it in its secret storage; it is not written.")
    elif args.with_key and args.print_link:
        raise UsageError("--print-link never puts the key in a link (links get shared): drop --with-key.")
    elif args.with_key:
        key = os.environ.get(KEY_VAR, "")
        where = args.host or "claude-desktop"
        if not key.strip():
            raise UsageError(
                f"--with-key copies {KEY_VAR} from this shell into the host's config, but it is not set. "
                f"Run: {KEY_VAR}=fw_... fw-mcp install {where} --with-key (with your key from "
                "https://fireworks.ai/account/api-keys)"
            )
        problem = key_problem(key)
        if problem:
            raise UsageError(
                f"--with-key: {KEY_VAR} in this shell ({mask_key(key)}) is not a usable key: {problem}. "
                f"Nothing was written. Set it to the key from https://fireworks.ai/account/api-keys, "
                f"then run `fw-mcp install {where} --with-key` again."
            )
        env[KEY_VAR] = key
    config = getattr(args, "config", None)
    if config:
        from fw_mcp.settings import load_settings

        load_settings(config)  # refuse a settings file the server would refuse
        env[ENV_CONFIG] = str(Path(config).expanduser().resolve())
    if args.allow_dir:
        dirs = [Path(d).expanduser().resolve() for d in args.allow_dir]
        missing = [str(d) for d in dirs if not d.is_dir()]
        if missing:
            raise UsageError(f"--allow-dir: {', '.join(missing)} is not a folder. Give existing folders.")
        env[ENV_ALLOWED_DIRS] = os.pathsep.join(map(str, dirs))
    return env


def _refusal(exc: InvalidConfigFile, host: Host, name: str, launch: Launch, env: dict[str, str]) -> str:
    """Why the file was left alone, how to fix it, and the entry to merge by hand meanwhile."""
    entry = desired_entry(host, launch, {k: v for k, v in env.items() if k != KEY_VAR}, {})
    fragment: dict[str, Any] = {host.servers_key: {name: entry}}
    if host.key_by_input:
        fragment["inputs"] = [KEY_INPUT]
    return (
        f"{exc}. fw-mcp left the file untouched. {host.title} cannot use a file it cannot parse either: "
        f"fix it ({'a missing comma or quote' if host.comments else 'a trailing comma or a comment'} is "
        f"the usual cause) and run this again, or merge this into it yourself:\n"
        f"{json.dumps(fragment, indent=2)}"
    )
