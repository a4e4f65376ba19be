"""``python -m fw_mcp.simulator``: serve the simulated Fireworks API until interrupted."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import Any

import uvicorn

from .app import API_BASE, create_app
from .server import bind_socket, uvicorn_config


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m fw_mcp.simulator",
        description="A Fireworks-compatible chat-completions simulator (no network access needed).",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8800, help="port to listen on; 0 picks a free one")
    parser.add_argument("--token-delay", type=float, default=0.0, metavar="S", help="seconds between chunks")
    parser.add_argument(
        "--latency", type=float, default=0.0, metavar="S", help="seconds before the first byte"
    )
    parser.add_argument(
        "--api-key",
        action="append",
        dest="api_keys",
        metavar="KEY",
        help="accept only this key (repeatable); by default any non-empty key is accepted",
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None, wrap: Callable[[Any], Any] | None = None) -> int:
    """Bind, announce the base URL on stderr, and serve in the foreground.

    `wrap` puts an ASGI layer around the app (the benchmark's stopwatch) without a second copy of this.
    """
    args = parse_args(argv)
    app: Any = create_app(token_delay=args.token_delay, latency=args.latency, api_keys=args.api_keys)
    if wrap is not None:
        app = wrap(app)
    try:
        sock = bind_socket(args.host, args.port)
    except OSError as exc:
        print(f"cannot listen on {args.host}:{args.port}: {exc}; try another --port", file=sys.stderr)
        return 1
    port = sock.getsockname()[1]
    host = f"[{args.host}]" if ":" in args.host else args.host
    print(f"Fireworks simulator at http://{host}:{port}{API_BASE} (controls under /_sim)", file=sys.stderr)
    server = uvicorn.Server(uvicorn_config(app, log_level="info"))
    try:
        server.run(sockets=[sock])
    finally:
        sock.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
