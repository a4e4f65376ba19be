"""What a bind address requires and accepts: auth off loopback, and the Host/Origin allow-lists.

Host and Origin checks apply on every bind, not only loopback (the SDK turns them on only for
127.0.0.1/localhost/::1 and silently drops them on 0.0.0.0). Loopback names are always accepted, so
`curl localhost:8000`, port-forwards and Docker's `-p` keep working; any other name must be listed.
Patterns follow the SDK's TransportSecuritySettings: exact, or `base:*` for any port.
"""

from __future__ import annotations

import ipaddress
import logging

from fw_mcp.errors import ConfigError
from fw_mcp.http.options import HttpOptions
from fw_mcp.settings import ENV_ALLOWED_HOSTS, ENV_AUTH_TOKEN, Settings

__all__ = [
    "allowed_hosts",
    "allowed_origins",
    "check_bind",
    "is_loopback",
    "is_wildcard",
    "public_url",
    "warn_about_bind",
]

logger = logging.getLogger(__name__)

_LOOPBACK_NAMES = ("127.0.0.1", "localhost", "[::1]")
TOKEN_HINT = "python -c 'import secrets; print(secrets.token_urlsafe(32))'"


def is_loopback(host: str) -> bool:
    if host.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip().strip("[]")).is_loopback
    except ValueError:
        return False


def is_wildcard(host: str) -> bool:
    return host.strip().strip("[]") in ("", "0.0.0.0", "::")


def _bracket(host: str) -> str:
    host = host.strip().lower()
    return f"[{host}]" if host.count(":") > 1 and not host.startswith("[") else host


def _host_patterns(entry: str) -> list[str]:
    """`mcp.example.com` -> itself and `mcp.example.com:*`; an entry with a port stays as given."""
    entry = _bracket(entry)
    has_port = entry.rsplit("]", 1)[-1].count(":") == 1
    return [entry] if has_port else [entry, f"{entry}:*"]


def allowed_hosts(bind_host: str, configured: list[str]) -> list[str]:
    """Loopback names, the bind address itself (when it is one address), then the configured names."""
    entries = list(_LOOPBACK_NAMES)
    if not is_wildcard(bind_host) and not is_loopback(bind_host):
        entries.append(bind_host)
    entries.extend(configured)
    return list(dict.fromkeys(p for e in entries if e.strip() for p in _host_patterns(e)))


def allowed_origins(configured: list[str]) -> list[str]:
    """Browser pages on loopback (any port), then the configured origins (scheme://host[:port])."""
    loopback = [f"http://{name}" for name in _LOOPBACK_NAMES]
    entries = [*loopback, *(f"{o}:*" for o in loopback), *configured]
    return list(dict.fromkeys(e.strip().rstrip("/").lower() for e in entries if e.strip()))


def public_url(host: str, port: int) -> str:
    return f"http://{_bracket(host) or '0.0.0.0'}:{port}/mcp"


def check_bind(options: HttpOptions, *, has_auth: bool) -> None:
    """Refuse a non-loopback bind without auth: it would spend the key for anyone who finds the port.

    Raises:
        ConfigError: saying how to set a token, or which flag overrides the refusal.
    """
    if has_auth or is_loopback(options.host) or options.insecure_no_auth:
        return
    raise ConfigError(
        f"Refusing to serve on {options.host}:{options.port} without authentication: anyone who can "
        "reach this port could spend this server's Fireworks credits. Set a token, e.g. "
        f"`export {ENV_AUTH_TOKEN}=$({TOKEN_HINT})` (clients then send `Authorization: Bearer <token>`), "
        "or a tokens file ([http] auth_tokens_file), or OAuth ([http.oauth]); or bind to 127.0.0.1. "
        "If a proxy in front already authenticates every request, add --insecure-no-auth."
    )


def warn_about_bind(settings: Settings, options: HttpOptions, *, has_auth: bool) -> None:
    """Once per launch (not per worker): say loudly what an unusual bind exposes or refuses."""
    where = f"{options.host}:{options.port}"
    if not has_auth and not is_loopback(options.host):
        logger.warning(
            "--insecure-no-auth: /mcp on %s answers ANYONE who can reach it, spending this server's "
            "Fireworks key. Only do this behind a proxy that authenticates every request.",
            where,
        )
    if is_wildcard(options.host) and not settings.http.allowed_hosts:
        logger.warning(
            "Bound to %s, but only the Host names localhost/127.0.0.1/[::1] are accepted (others get 421). "
            'Add the names clients use: [http] allowed_hosts = ["mcp.example.com"] or %s=mcp.example.com.',
            where,
            ENV_ALLOWED_HOSTS,
        )
