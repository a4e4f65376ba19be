"""Streamable HTTP for shared deployments: `/mcp` behind auth, origin checks and limits, plus health.

One module per job, composed in `app.py` (outermost first, for a request to /mcp):

    origin.py    Host/Origin checks (DNS rebinding), 421/403
    shutdown.py  SIGTERM: refuse new work with 503, end idle streams, let running calls finish
    auth.py      bearer auth, 401 with WWW-Authenticate (tokens.py: static tokens; oauth.py: JWTs)
    limits.py    body size (413) and requests in flight per token (429)
    apikey.py    per-request X-Fireworks-Api-Key (off unless configured)
    health.py    /healthz and /readyz, outside all of the above
    policy.py    what a bind address requires (auth off loopback) and accepts (Host/Origin lists)
    options.py   the launch options, passed to worker processes through the environment
    run.py       uvicorn: one process, or N workers sharing one socket
"""

from fw_mcp.http.app import create_app, create_app_from_env
from fw_mcp.http.options import HttpOptions

__all__ = ["HttpOptions", "create_app", "create_app_from_env"]
