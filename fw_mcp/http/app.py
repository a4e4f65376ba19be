"""The ASGI app for `fw-mcp --transport http`: /mcp behind its guards, plus health probes.

Request path to /mcp, outermost first: Host/Origin -> drain (shutdown) -> bearer auth -> body
size and time -> requests per token -> sessions per token -> disconnect cancels the call ->
per-request key -> the SDK's streamable HTTP app (SSE responses, so
progress streams and a closed connection cancels the call; both protocol eras on one endpoint).
Every layer is plain ASGI (no BaseHTTPMiddleware), which keeps streaming and cancellation intact.

The SDK app is routed to, not mounted as an app with its own lifespan, so its lifespan (the session
manager, and inside it the server lifespan that owns the pooled Fireworks client) is run here.
"""

from __future__ import annotations

import logging
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from mcp.server.transport_security import TransportSecuritySettings
from starlette.applications import Starlette
from starlette.routing import Route
from starlette.types import ASGIApp

from fw_mcp.http.answers import ExplainRefusals, root_route
from fw_mcp.http.apikey import PerRequestKey
from fw_mcp.http.auth import build_auth
from fw_mcp.http.disconnect import DisconnectCancels
from fw_mcp.http.health import health_routes
from fw_mcp.http.limits import BodyLimit, PerTokenConcurrency
from fw_mcp.http.options import HttpOptions, Launch
from fw_mcp.http.origin import HostOriginGuard
from fw_mcp.http.policy import allowed_hosts, allowed_origins, check_bind
from fw_mcp.http.sessions import SessionCaps
from fw_mcp.http.shutdown import Drain
from fw_mcp.logs import configure_logging
from fw_mcp.settings import Settings, exposed_dirs_line, load_settings

__all__ = ["MCP_PATH", "create_app", "create_app_from_env"]

logger = logging.getLogger(__name__)

MCP_PATH = "/mcp"
# The SDK logs every session and stateless request at INFO; on a shared server that buries the
# lines an operator needs. Kept at WARNING unless fw-mcp itself logs at DEBUG.
_CHATTY_SDK_LOGGERS = ("mcp.server.streamable_http", "mcp.server.streamable_http_manager")


def create_app(settings: Settings, options: HttpOptions) -> Starlette:
    """The whole HTTP app for these settings.

    Raises:
        ConfigError: auth is misconfigured, or the bind needs auth that is not set.
    """
    from fw_mcp.server import build_server

    if logging.getLogger().getEffectiveLevel() > logging.DEBUG:
        for name in _CHATTY_SDK_LOGGERS:
            logging.getLogger(name).setLevel(logging.WARNING)
    settings = settings.for_http_server()
    logger.info(exposed_dirs_line(settings))
    auth = build_auth(settings)
    check_bind(options, has_auth=auth is not None)
    http = settings.http
    hosts, origins = allowed_hosts(options.host, http.allowed_hosts), allowed_origins(http.allowed_origins)
    server = build_server(settings, simulated=options.simulated)
    mcp_app = server.streamable_http_app(
        streamable_http_path=MCP_PATH,
        json_response=False,
        stateless_http=options.stateless_http,
        host=options.host,
        transport_security=TransportSecuritySettings(allowed_hosts=hosts, allowed_origins=origins),
        max_request_body_size=http.max_body_bytes,
        session_idle_timeout=http.session_idle_timeout,
        max_sessions=http.max_sessions,
    )
    drain = Drain(http.shutdown_grace)

    guarded: ASGIApp = PerRequestKey(mcp_app, enabled=http.per_request_api_key)
    guarded = DisconnectCancels(guarded, hold_limit=settings.timeouts.total)
    guarded = SessionCaps(
        guarded,
        manager=server.session_manager,
        total=http.max_sessions,
        per_token=http.max_sessions_per_token,
        idle_timeout=http.session_idle_timeout,
    )
    guarded = PerTokenConcurrency(guarded, limit=http.max_concurrent_per_token)
    guarded = BodyLimit(guarded, max_bytes=http.max_body_bytes, timeout=http.request_timeout)
    if auth is not None:
        guarded = auth.protect(guarded)
    guarded = drain.middleware(guarded)
    guarded = HostOriginGuard(guarded, hosts=hosts, origins=origins)
    guarded = ExplainRefusals(guarded)

    def problems() -> list[str]:
        found = ["shutting down"] if drain.draining else []
        if settings.api_key is None and not http.per_request_api_key:
            found.append(
                "no Fireworks key: set FIREWORKS_API_KEY in the server's environment "
                "(or enable [http] per_request_api_key so callers send their own)"
            )
        return found + (auth.problems() if auth is not None else [])

    @asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        async with mcp_app.router.lifespan_context(mcp_app):
            drain.install_signal_hook()
            logger.info("fw-mcp HTTP process %d ready.", os.getpid())
            try:
                yield
            finally:
                drain.begin()
                drain.stop_timer()  # uvicorn's wait is over: nothing is left to cut short
                drain.end_all_streams()
                if auth is not None:
                    await auth.aclose()
        logger.info("fw-mcp HTTP process %d stopped; the Fireworks client is closed.", os.getpid())

    routes = [*health_routes(problems), *(auth.routes() if auth else []), Route(MCP_PATH, guarded)]
    routes.append(root_route(MCP_PATH))
    return Starlette(routes=routes, lifespan=lifespan)


def create_app_from_env() -> Starlette:
    """Worker entry for `--workers N` (an import string uvicorn can load in a fresh process)."""
    configure_logging()
    launch = Launch.from_env()
    return create_app(load_settings(launch.config_path, launch.overrides), launch.options)
