"""`GET /healthz` (liveness) and `GET /readyz` (readiness): no auth, no Host check, no upstream call.

Probes come from orchestrators and load balancers that use bare IPs as Host and hold no token, and
the answers reveal nothing beyond "up" and what an operator must fix. /healthz answers as long as
the process serves HTTP; /readyz says whether calls can succeed: a Fireworks key is available
(server-wide or per request), the tokens file is readable, and the server is not shutting down.
"""

from __future__ import annotations

from collections.abc import Callable

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

__all__ = ["health_routes"]


def health_routes(problems: Callable[[], list[str]]) -> list[Route]:
    async def healthz(_: Request) -> JSONResponse:
        return JSONResponse({"status": "ok"})

    async def readyz(_: Request) -> JSONResponse:
        found = problems()
        if found:
            return JSONResponse({"status": "not ready", "problems": found}, status_code=503)
        return JSONResponse({"status": "ready"})

    return [Route("/healthz", healthz, methods=["GET"]), Route("/readyz", readyz, methods=["GET"])]
