"""OAuth resource-server mode: JWT access tokens signed by the issuer, checked against its JWKS.

The server never sees passwords or runs a login flow: the organisation's identity provider issues
tokens for this server (`aud` = its public URL, the RFC 8707 resource), and each request's token is
verified here: signature by a key from the issuer's JWKS, `iss`, `aud`, `exp` (and `nbf`). Keys are
cached; an unknown `kid` (key rotation) triggers a refetch, at most every MIN_REFETCH seconds so a
flood of forged tokens cannot turn into a flood of requests to the issuer.
"""

from __future__ import annotations

import logging
import time
from typing import Any
from urllib.parse import urlsplit

import anyio
import httpx2
import jwt
from mcp.server.auth.provider import AccessToken

from fw_mcp.errors import ConfigError
from fw_mcp.settings import OAuthSection

__all__ = ["JwtTokenVerifier", "check_oauth"]

logger = logging.getLogger(__name__)

REFRESH_AFTER = 600.0
MIN_REFETCH = 30.0
LEEWAY = 30.0
_ASYMMETRIC = {"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"}


def _secure(url: str) -> bool:
    parts = urlsplit(url)
    if parts.scheme == "https":
        return True
    host = (parts.hostname or "").lower()
    return parts.scheme == "http" and host in ("127.0.0.1", "localhost", "::1")


def check_oauth(oauth: OAuthSection) -> None:
    """Raises ConfigError naming the [http.oauth] setting that is missing or unsafe."""
    if not oauth.issuer.strip() or not oauth.resource.strip():
        raise ConfigError(
            "[http.oauth] needs both `issuer` (your identity provider, the tokens' `iss`) and `resource` "
            "(this server's public URL, e.g. https://mcp.example.com/mcp, the tokens' audience)."
        )
    for name in ("issuer", "jwks_url"):
        url = getattr(oauth, name).strip()
        if url and not _secure(url):
            raise ConfigError(
                f"[http.oauth] {name} must be an https:// URL (http only on loopback), got {url}."
            )
    weak = sorted(set(oauth.algorithms) - _ASYMMETRIC)
    if weak:
        raise ConfigError(
            f"[http.oauth] algorithms may only name asymmetric algorithms (e.g. RS256, ES256); remove {weak}."
        )


class JwtTokenVerifier:
    """The SDK's `TokenVerifier` for JWTs. Never raises: a bad token, or no keys, is just `None`."""

    def __init__(self, oauth: OAuthSection, *, timeout: float = 10.0) -> None:
        check_oauth(oauth)
        self._issuer = oauth.issuer.strip()
        self._resource = oauth.resource.strip()
        self._jwks_url = oauth.jwks_url.strip()
        self._algorithms = list(oauth.algorithms)
        self._timeout = timeout
        self._keys: dict[str | None, jwt.PyJWK] = {}
        self._fetched_at = -float("inf")
        self._lock = anyio.Lock()
        self._http: httpx2.AsyncClient | None = None

    @property
    def resource(self) -> str:
        return self._resource

    async def aclose(self) -> None:
        if self._http is not None:
            await self._http.aclose()
            self._http = None

    async def verify_token(self, token: str) -> AccessToken | None:
        try:
            kid = jwt.get_unverified_header(token).get("kid")
        except jwt.PyJWTError:
            return None
        key = await self._key(kid)
        if key is None:
            return None
        audiences = list(
            dict.fromkeys([self._resource, self._resource.rstrip("/"), self._resource.rstrip("/") + "/"])
        )
        try:
            claims = jwt.decode(
                token,
                key=key,
                algorithms=self._algorithms,
                audience=audiences,
                issuer=self._issuer,
                leeway=LEEWAY,
                options={"require": ["exp", "iss", "aud"]},
            )
        except jwt.PyJWTError as exc:
            logger.info("Refused a JWT: %s", exc)
            return None
        return _access_token(token, claims, self._resource)

    async def _key(self, kid: str | None) -> jwt.PyJWK | None:
        if self._due(kid):
            async with self._lock:
                if self._due(kid):  # another request may have refreshed while this one waited
                    await self._refresh()
        return self._lookup(kid)

    def _due(self, kid: str | None) -> bool:
        age = time.monotonic() - self._fetched_at
        return age > REFRESH_AFTER or (self._lookup(kid) is None and age > MIN_REFETCH)

    def _lookup(self, kid: str | None) -> jwt.PyJWK | None:
        if kid is None and len(self._keys) == 1:
            return next(iter(self._keys.values()))
        return self._keys.get(kid)

    async def _refresh(self) -> None:
        self._fetched_at = time.monotonic()  # also on failure: do not hammer a broken issuer
        try:
            if self._http is None:
                self._http = httpx2.AsyncClient(timeout=self._timeout, follow_redirects=True)
            url = self._jwks_url or await self._discover(self._http)
            response = await self._http.get(url)
            response.raise_for_status()
            jwks = jwt.PyJWKSet.from_dict(response.json())
        except (httpx2.HTTPError, ValueError, jwt.PyJWTError) as exc:
            logger.warning("Could not fetch the issuer's keys (%s); tokens are refused until it works.", exc)
            return
        self._keys = {key.key_id: key for key in jwks.keys}
        logger.info("Fetched %d signing keys from %s.", len(self._keys), url)

    async def _discover(self, http: httpx2.AsyncClient) -> str:
        """jwks_uri from OpenID discovery, else from RFC 8414 authorization-server metadata."""
        parts = urlsplit(self._issuer)
        root = f"{parts.scheme}://{parts.netloc}"
        path = parts.path.rstrip("/")
        for url in (
            f"{root}{path}/.well-known/openid-configuration",
            f"{root}/.well-known/oauth-authorization-server{path}",
        ):
            response = await http.get(url)
            if response.status_code == 200 and isinstance(uri := response.json().get("jwks_uri"), str):
                self._jwks_url = uri
                return uri
        raise ValueError(f"no jwks_uri at {self._issuer}'s discovery endpoints; set [http.oauth] jwks_url")


def _access_token(token: str, claims: dict[str, Any], resource: str) -> AccessToken:
    raw = claims.get("scope", claims.get("scp", []))
    scopes = raw.split() if isinstance(raw, str) else [str(s) for s in raw] if isinstance(raw, list) else []
    subject = claims.get("sub")
    client_id = claims.get("client_id") or claims.get("azp") or subject or "unknown"
    return AccessToken(
        token=token,
        client_id=str(client_id),
        scopes=scopes,
        expires_at=int(claims["exp"]),
        resource=resource,
        subject=str(subject) if subject is not None else None,
        claims={"iss": claims.get("iss")},
    )
