"""`fw-mcp serve` (also bare `fw-mcp`): MCP over stdio, or streamable HTTP at /mcp.

The flags are defined once, here, and cli.py adds them to both the top-level parser and the
`serve` subparser. Their argparse defaults are SUPPRESSed: otherwise the subparser's default would
overwrite a value given before the subcommand (`fw-mcp --port 9 serve` would serve on 8000).
`resolve()` fills in the real defaults from DEFAULTS.
"""

from __future__ import annotations

import argparse
import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from fw_mcp.errors import ConfigError

if TYPE_CHECKING:
    from fw_mcp.http.options import HttpOptions

__all__ = ["DEFAULTS", "ServeArgs", "add_flags", "resolve", "run"]

logger = logging.getLogger(__name__)

DEFAULTS: dict[str, Any] = {
    "transport": "stdio",
    "host": "127.0.0.1",
    "port": 8000,
    "config": None,
    "stateless": False,
    "workers": 1,
    "insecure_no_auth": False,
    "simulate": False,
}
HTTP_ONLY = {
    "host": "--host",
    "port": "--port",
    "stateless": "--stateless",
    "workers": "--workers",
    "insecure_no_auth": "--insecure-no-auth",
}


def _workers(value: str) -> int:
    if not value.isdigit() or int(value) < 1:
        raise argparse.ArgumentTypeError(f"expected a number of processes >= 1, got {value!r}")
    return int(value)


def add_flags(parser: argparse.ArgumentParser) -> None:
    """Flags shared by bare `fw-mcp` and `fw-mcp serve`, so every flag works on both spellings."""
    s = argparse.SUPPRESS
    parser.add_argument("--transport", choices=["stdio", "http"], default=s, help="stdio (default) or http")
    parser.add_argument("--host", default=s, help="HTTP bind address (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=s, help="HTTP port (default 8000; 0 picks a free one)")
    parser.add_argument("--config", metavar="PATH", default=s, help="TOML settings file (or FW_MCP_CONFIG)")
    parser.add_argument(
        "--stateless",
        action="store_true",
        default=s,
        help="HTTP: keep no session state, so any process or replica can answer any request",
    )
    parser.add_argument(
        "--workers",
        type=_workers,
        metavar="N",
        default=s,
        help="HTTP: N processes sharing the port (default 1; N > 1 implies --stateless)",
    )
    parser.add_argument(
        "--insecure-no-auth",
        action="store_true",
        default=s,
        help="HTTP: serve a non-loopback address without a token (only behind a proxy that authenticates)",
    )
    parser.add_argument(
        "--simulate",
        action="store_true",
        default=s,
        help="answer from the built-in Fireworks simulator: no key, no network, nothing billed",
    )


@dataclass(frozen=True)
class ServeArgs:
    transport: str
    config: str | None
    simulate: bool
    http_flags: dict[str, Any] = field(hash=False)  # HttpOptions' fields

    @property
    def http(self) -> HttpOptions:
        """The HTTP options, made when asked for: serving over stdio never imports fw_mcp.http."""
        from fw_mcp.http.options import HttpOptions

        return HttpOptions(**self.http_flags)


def resolve(args: argparse.Namespace) -> ServeArgs:
    """Parsed flags plus defaults.

    Raises:
        ConfigError: an HTTP-only flag was given without `--transport http`.
    """
    given = vars(args)
    values = {name: given.get(name, default) for name, default in DEFAULTS.items()}
    if values["transport"] != "http":
        stray = [flag for name, flag in HTTP_ONLY.items() if name in given]
        if stray:
            raise ConfigError(f"{', '.join(stray)} only apply to HTTP: add `--transport http`.")
    return ServeArgs(
        transport=values["transport"],
        config=values["config"],
        simulate=values["simulate"],
        http_flags={
            "host": values["host"],
            "port": values["port"],
            "stateless": values["stateless"],
            "workers": values["workers"],
            "insecure_no_auth": values["insecure_no_auth"],
            "simulated": values["simulate"],
        },
    )


def run(args: argparse.Namespace) -> int:
    from fw_mcp.commands._common import simulator_overrides
    from fw_mcp.settings import exposed_dirs_line, load_settings

    chosen = resolve(args)
    with simulator_overrides(chosen.simulate) as overrides:
        if overrides:
            logger.warning(
                "SIMULATED MODE: calls go to the built-in Fireworks simulator at %s, not to Fireworks. "
                "Every answer is canned test output, labelled as simulated. Drop --simulate for real models.",
                overrides["fireworks"]["base_url"],
            )
        settings = load_settings(chosen.config, overrides or None)
        if chosen.transport != "http":  # the HTTP app says it itself, with its own default
            logger.info(exposed_dirs_line(settings))
        if chosen.transport == "http":
            from fw_mcp.http.options import Launch
            from fw_mcp.http.run import serve_http

            serve_http(settings, Launch(chosen.http, chosen.config, overrides))
        else:
            import anyio

            from fw_mcp.eventloop import anyio_backend_options
            from fw_mcp.server import build_server

            server = build_server(settings, simulated=chosen.simulate)
            _hint_if_typed_at()
            loop_options = anyio_backend_options(settings)
            logger.debug("Serving over stdio on the %s event loop.", "uvloop" if loop_options else "asyncio")
            anyio.run(server.run_stdio_async, backend_options=loop_options)
    return 0


TTY_HINT = (
    "fw-mcp: this is an MCP server; it speaks JSON-RPC on stdin/stdout and waits for a host "
    "(Claude Desktop, VS Code...) to start it. To try it by hand: fw-mcp call --simulate chat --arg "
    "prompt=hi. To add it to a host: fw-mcp install --help. Quit: Ctrl-C."
)


def _hint_if_typed_at() -> None:
    """Started by hand on a terminal: say what this is (hosts connect a pipe, and hear nothing extra)."""
    import sys

    if sys.stdin is not None and sys.stdin.isatty():
        print(TTY_HINT, file=sys.stderr, flush=True)
