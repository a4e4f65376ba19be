"""Streamable HTTP for shared deployments: `/mcp` behind auth, origin checks and limits, plus health.

One module per job, composed in `app.py` (outermost first, for a request to /mcp):

    origin.py    Host/Origin checks (DNS rebinding), 421/403
    shutdown.py  SIGTERM: refuse new work with 503, end idle streams, let running calls finish
    auth.py      bearer auth, 401 with WWW-Authenticate (tokens.py: static tokens; oauth.py: JWTs)
    limits.py    body size (413), body time (408) and requests in flight per token (429)
    sessions.py  open 2025-11-25 sessions per token (429) and in total (503)
    disconnect.py  a client hanging up cancels its call; its slot is held until the call ended
    apikey.py    per-request X-Fireworks-Api-Key (off unless configured)
    health.py    /healthz and /readyz, outside all of the above
    policy.py    what a bind address requires (auth off loopback) and accepts (Host/Origin lists)
    options.py   the launch options, passed to worker processes through the environment
    run.py       uvicorn: one process, or N workers sharing one socket
    connections.py  slowloris guard: a deadline for each request head, caps on connections
"""

# Nothing is imported here: `fw-mcp` over stdio imports fw_mcp.http.options to parse its flags, and
# importing fw_mcp.http.app from here would load the whole HTTP stack (Starlette routing, auth, PyJWT,
# cryptography) on every stdio start. Import create_app / create_app_from_env from fw_mcp.http.app.

__all__: list[str] = []
