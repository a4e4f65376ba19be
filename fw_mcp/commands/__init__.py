"""One module per `fw-mcp` subcommand, `fw_mcp.commands.<name>`: `add_arguments(parser)` and `run(args) -> int`.

COMMANDS holds what `fw-mcp --help` lists, so the parser registers every command without importing
its module: cli.py imports `fw_mcp.commands.<name>` only when that command is on the command line.
Serving (bare `fw-mcp`, or `fw-mcp serve`, in fw_mcp.commands.serve) thus never loads the others.
"""

__all__ = ["COMMANDS"]

# name -> its line in `fw-mcp --help`, in that order (after `serve`)
COMMANDS: dict[str, str] = {
    "install": "add fw-mcp to Claude Desktop, Claude Code, Cursor or VS Code",
    "call": "run one tool from the command line (no host needed)",
    "doctor": "check the configuration, the key, the base URL, the folders and the models",
    "models": "list the models your key can use",
    "batch": "run a JSON Lines file of chat requests on Fireworks' batch engine (half price)",
    "uninstall": "remove fw-mcp from a host (the entry `install` added)",
    "config": "print the example settings file (`fw-mcp config --example`)",
    "bundle": "build an MCP Bundle (.mcpb) for Claude Desktop",
    "search": "search local files by meaning and print the best passages like grep -n",
    "usage": "show calls, tokens, estimated cost and budget left",
}
