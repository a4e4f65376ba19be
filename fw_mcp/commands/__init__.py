"""One module per `fw-mcp` subcommand: each has `add_parser(subparsers, parents)` and `run(args) -> int`."""
