"""Run the HTTP app under uvicorn: in this process, or as N worker processes sharing one socket.

The socket is bound here, before any worker starts, so `--port 0` works (the real port is logged)
and a refusal to start (auth, bad config) happens before anything listens. Workers are spawned by
uvicorn's supervisor, which restarts a worker that dies and forwards SIGTERM to all of them.
"""

from __future__ import annotations

import inspect
import logging
import os
import socket
from typing import Any

import uvicorn
from uvicorn.supervisors import Multiprocess

from fw_mcp.eventloop import uvicorn_loop
from fw_mcp.http.app import create_app
from fw_mcp.http.auth import build_auth
from fw_mcp.http.connections import LIMITS_ATTR, ConnectionLimits, GuardedH11Protocol
from fw_mcp.http.options import LAUNCH_ENV, Launch
from fw_mcp.http.policy import check_bind, public_url, warn_about_bind
from fw_mcp.http.shutdown import DELIVERY_MARGIN
from fw_mcp.settings import Settings

__all__ = ["serve_http"]

logger = logging.getLogger(__name__)

WORKER_ENTRY = "fw_mcp.http.app:create_app_from_env"


def serve_http(settings: Settings, launch: Launch) -> None:
    """Serve until SIGTERM/SIGINT.

    Raises:
        ConfigError: the configuration or the bind is refused; nothing was started.
    """
    options = launch.options
    common: dict[str, Any] = {
        "host": options.host,
        "port": options.port,
        "lifespan": "on",
        "log_config": None,  # keep fw-mcp's stderr handler (it redacts the key)
        "log_level": "warning",
        "access_log": False,
        "ws": "none",
        "loop": uvicorn_loop(settings),
        "server_header": False,
        # running calls are cut at shutdown_grace (fw_mcp.http.shutdown); their answers then go out
        "timeout_graceful_shutdown": settings.http.shutdown_grace + DELIVERY_MARGIN,
        "http": GuardedH11Protocol,
    }
    auth = build_auth(settings)  # refuse a bad configuration before anything listens
    check_bind(options, has_auth=auth is not None)
    warn_about_bind(settings, options, has_auth=auth is not None)
    if options.workers > 1:
        os.environ[LAUNCH_ENV] = launch.to_env()
        config = uvicorn.Config(WORKER_ENTRY, factory=True, workers=options.workers, **common)
    else:
        config = uvicorn.Config(create_app(settings, options), **common)
    setattr(config, LIMITS_ATTR, connection_limits(settings))  # travels with the config to workers
    sock = _with_nodelay(_bind(config))
    logger.info(
        "Serving MCP at %s (auth: %s; %s; %d process%s). Health: /healthz, /readyz.",
        public_url(options.host, sock.getsockname()[1]),
        auth.mode if auth else "none",
        "stateless" if options.stateless_http else "2025-11-25 sessions + 2026-07-28 stateless",
        options.workers,
        "es" if options.workers > 1 else "",
    )
    if options.workers > 1:
        if "target" in inspect.signature(Multiprocess).parameters:  # older uvicorn took the entry point
            Multiprocess(config, target=uvicorn.Server(config).run, sockets=[sock]).run()  # type: ignore[call-arg]
        else:
            Multiprocess(config, sockets=[sock]).run()
    else:
        uvicorn.Server(config).run(sockets=[sock])


def _bind(config: uvicorn.Config) -> socket.socket:
    """uvicorn's bind, with the fix for a busy port (uvicorn only logs the errno and exits)."""
    try:
        return config.bind_socket()
    except SystemExit:
        from fw_mcp.http.answers import busy_port_error

        raise busy_port_error(config.host, config.port) from None


def connection_limits(settings: Settings) -> ConnectionLimits:
    http = settings.http
    _warn_if_over_fd_limit(http.max_connections)
    return ConnectionLimits(http.request_timeout, http.max_pending_connections, http.max_connections)


def _warn_if_over_fd_limit(max_connections: int, spare: int = 64) -> None:
    """Connections past the descriptor limit fail at accept() instead of being refused cleanly."""
    try:
        import resource

        soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    except (ImportError, OSError, ValueError):  # pragma: no cover (Windows)
        return
    if soft != resource.RLIM_INFINITY and max_connections + spare > soft:
        logger.warning(
            "[http] max_connections is %d but this process may open only %d files: raise the limit "
            "(`ulimit -n %d`, LimitNOFILE= under systemd) or lower max_connections.",
            max_connections,
            soft,
            max_connections + spare,
        )


def _with_nodelay(sock: socket.socket) -> socket.socket:
    """uvicorn makes its socket with protocol 0, so asyncio does not set TCP_NODELAY on the
    connections it accepts: every answer on a kept-alive connection then waits ~40 ms for the
    client's delayed ACK (Nagle). Re-wrapping the descriptor reads the real protocol (TCP) back."""
    if sock.family not in (socket.AF_INET, socket.AF_INET6):
        return sock  # a Unix socket: no Nagle
    return socket.socket(fileno=sock.detach())
