"""`fw-mcp serve` (also bare `fw-mcp`): MCP over stdio, or streamable HTTP at /mcp."""

from __future__ import annotations

import argparse

__all__ = ["add_flags", "run"]


def add_flags(parser: argparse.ArgumentParser) -> None:
    """Flags shared by bare `fw-mcp` and `fw-mcp serve`, so every flag works on both."""
    parser.add_argument("--transport", choices=["stdio", "http"], default="stdio", help="default: stdio")
    parser.add_argument("--host", default="127.0.0.1", help="HTTP bind address (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8000, help="HTTP port (default 8000)")
    parser.add_argument("--config", metavar="PATH", help="TOML settings file (or FW_MCP_CONFIG)")


def run(args: argparse.Namespace) -> int:
    from fw_mcp.server import build_server
    from fw_mcp.settings import load_settings

    settings = load_settings(args.config)
    server = build_server(settings)
    if args.transport == "http":
        _run_http(server, host=args.host, port=args.port)
    else:
        server.run()
    return 0


def _run_http(server: object, *, host: str, port: int) -> None:
    """Streamable HTTP with SSE responses (so progress streams and a disconnect cancels)."""
    import uvicorn

    app = server.streamable_http_app(host=host, json_response=False)  # type: ignore[attr-defined]
    uvicorn.run(app, host=host, port=port, log_level="warning", access_log=False)
