"""Which environment proxy a request goes through, so an error can name the setting to fix.

httpx2 itself routes requests through `HTTPS_PROXY`, `HTTP_PROXY`, `ALL_PROXY` and `NO_PROXY` (read
once, when the client is made); this repeats its lookup with its own functions, only to explain a
failure. It imports no transport code: serving over stdio loads it with the client.
"""

from __future__ import annotations

from dataclasses import dataclass

import httpx2
from httpx2._utils import URLPattern, get_environment_proxies

__all__ = ["ProxyInUse", "describe_proxy_settings", "proxy_for"]

_SETTING = {"https": "HTTPS_PROXY", "http": "HTTP_PROXY", "all": "ALL_PROXY"}


@dataclass(frozen=True, slots=True)
class ProxyInUse:
    """The proxy a URL goes through: its address (password hidden) and the variable that set it."""

    url: str
    setting: str


def proxy_for(url: str) -> ProxyInUse | None:
    """The environment proxy httpx2 uses for `url`, or None (no proxy, or NO_PROXY matched)."""
    target = httpx2.URL(url)
    mounts = {URLPattern(key): proxy for key, proxy in get_environment_proxies().items()}
    for pattern in sorted(mounts):  # httpx2's own order: most specific first
        if pattern.matches(target):
            proxy = mounts[pattern]
            return None if proxy is None else ProxyInUse(_without_password(proxy), _SETTING[pattern.scheme])
    return None


def describe_proxy_settings() -> str:
    """The proxy variables set in this environment, for a message: `HTTPS_PROXY=http://proxy:3128`."""
    proxies = get_environment_proxies()
    shown = [
        f"{_SETTING.get(key.removesuffix('://'), key)}={_without_password(value)}"
        for key, value in proxies.items()
        if value is not None
    ]
    return ", ".join(shown) or "no proxy variable"


def _without_password(url: str) -> str:
    try:
        parsed = httpx2.URL(url)
    except httpx2.InvalidURL:
        return url.rpartition("@")[2]
    if not parsed.password:
        return url
    return str(parsed.copy_with(userinfo=f"{parsed.username}:***".encode()))
