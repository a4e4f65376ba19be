"""`python -m fw_mcp`: the same as the `fw-mcp` command."""

from fw_mcp.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
