"""Bearer auth for /mcp: which verifier the settings ask for, and the 401/403 answers.

Built from the SDK's pieces so sessions behave as the SDK intends: `BearerAuthBackend` (with
`resource_server_url` when `AuthSettings.validate_token_resource` is on) puts the verified
principal on the request, the session manager then binds each 2025-11-25 session to the principal
that opened it, and `AuthContextMiddleware` exposes it to tools. The 401 itself is ours, so it can
tell a missing token from a refused one and say what to do.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from mcp.server.auth.middleware.auth_context import AuthContextMiddleware
from mcp.server.auth.middleware.bearer_auth import AuthenticatedUser, BearerAuthBackend
from mcp.server.auth.routes import build_resource_metadata_url, create_protected_resource_routes
from mcp.server.auth.settings import AuthSettings
from starlette.datastructures import Headers
from starlette.middleware.authentication import AuthenticationMiddleware
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from fw_mcp.errors import ConfigError
from fw_mcp.http.oauth import JwtTokenVerifier
from fw_mcp.http.tokens import StaticTokenVerifier
from fw_mcp.redaction import REDACTOR
from fw_mcp.settings import Settings

__all__ = ["Auth", "RequireBearer", "build_auth", "principal_of"]

REALM = "fw-mcp"


@dataclass
class Auth:
    """The configured verifier; `oauth` (AuthSettings) is set in OAuth resource-server mode."""

    verifier: StaticTokenVerifier | JwtTokenVerifier
    oauth: AuthSettings | None = None
    _metadata_url: str | None = field(default=None, init=False)

    def __post_init__(self) -> None:
        if self.oauth is not None and self.oauth.resource_server_url is not None:
            self._metadata_url = str(build_resource_metadata_url(self.oauth.resource_server_url))

    @property
    def mode(self) -> str:
        return "oauth" if self.oauth is not None else "tokens"

    def routes(self) -> list[Route]:
        """RFC 9728 metadata telling OAuth clients which issuer to get a token from (no auth needed)."""
        if self.oauth is None or self.oauth.resource_server_url is None:
            return []
        return create_protected_resource_routes(
            resource_url=self.oauth.resource_server_url,
            authorization_servers=[self.oauth.issuer_url],
            scopes_supported=self.oauth.required_scopes,
            resource_name="fw-mcp (Fireworks AI models)",
        )

    def protect(self, app: ASGIApp) -> ASGIApp:
        resource = (
            self.oauth.resource_server_url if self.oauth and self.oauth.validate_token_resource else None
        )
        backend = BearerAuthBackend(self.verifier, resource_server_url=resource)
        required = (self.oauth.required_scopes or []) if self.oauth else []
        inner = RequireBearer(
            AuthContextMiddleware(app), required_scopes=required, metadata_url=self._metadata_url
        )
        return AuthenticationMiddleware(inner, backend=backend)

    def problems(self) -> list[str]:
        return self.verifier.problems() if isinstance(self.verifier, StaticTokenVerifier) else []

    async def aclose(self) -> None:
        if isinstance(self.verifier, JwtTokenVerifier):
            await self.verifier.aclose()


def build_auth(settings: Settings) -> Auth | None:
    """Static tokens, OAuth, or None when neither is configured.

    Raises:
        ConfigError: both are configured, or one is malformed (a short token, a missing file...).
    """
    http = settings.http
    token = http.auth_token.get_secret_value() if http.auth_token is not None else None
    has_static = token is not None or bool(http.auth_tokens_file.strip())
    if http.oauth.enabled:
        if has_static:
            raise ConfigError(
                "Both static tokens (FW_MCP_AUTH_TOKEN / [http] auth_token / auth_tokens_file) and "
                "[http.oauth] are set; pick one: unset the tokens to use OAuth, or clear [http.oauth]."
            )
        verifier = JwtTokenVerifier(http.oauth)
        oauth = AuthSettings(
            issuer_url=http.oauth.issuer.strip(),  # type: ignore[arg-type]
            resource_server_url=verifier.resource,  # type: ignore[arg-type]
            required_scopes=list(http.oauth.required_scopes) or None,
            validate_token_resource=True,
        )
        return Auth(verifier, oauth)
    if has_static:
        return Auth(StaticTokenVerifier(token, http.auth_tokens_file.strip() or None))
    return None


def principal_of(scope: Scope) -> str:
    """Who is calling, for per-token limits: the token's name, the JWT's issuer+subject, or anonymous."""
    user = scope.get("user")
    if isinstance(user, AuthenticatedUser):
        token = user.access_token
        issuer = (token.claims or {}).get("iss")
        return f"{issuer}|{token.subject}|{token.client_id}" if issuer else token.client_id
    return "anonymous"


class RequireBearer:
    """401 without a valid token (RFC 6750), 403 without a required scope; otherwise pass through."""

    def __init__(self, app: ASGIApp, *, required_scopes: list[str], metadata_url: str | None) -> None:
        self.app = app
        self.required_scopes = required_scopes
        self.metadata_url = metadata_url

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        user = scope.get("user")
        if not isinstance(user, AuthenticatedUser):
            presented = Headers(scope=scope).get("authorization", "").lower().startswith("bearer ")
            if presented:
                await self._deny(
                    send,
                    401,
                    "invalid_token",
                    "The bearer token was refused (unknown, revoked or expired). Check the token, or ask whoever runs this server for a new one.",
                )
            else:
                await self._deny(
                    send,
                    401,
                    None,
                    "This server needs a token: send `Authorization: Bearer <token>`. Ask whoever runs it for one.",
                )
            return
        missing = [s for s in self.required_scopes if s not in user.scopes]
        if missing:
            await self._deny(
                send,
                403,
                "insufficient_scope",
                f"The token lacks the scope(s) {' '.join(missing)}; request a token that includes them.",
            )
            return
        token = Headers(scope=scope).get("authorization", "")[len("bearer ") :].strip()
        with REDACTOR.in_flight(token):  # an OAuth access token is a secret too, while it is used
            await self.app(scope, receive, send)

    async def _deny(self, send: Send, status: int, error: str | None, description: str) -> None:
        params = [f'realm="{REALM}"']
        if error is not None:
            params += [f'error="{error}"', f'error_description="{description}"']
        if error == "insufficient_scope":
            params.append(f'scope="{" ".join(self.required_scopes)}"')
        if self.metadata_url:
            params.append(f'resource_metadata="{self.metadata_url}"')
        body = json.dumps({"error": error or "unauthorized", "error_description": description}).encode()
        headers = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
            (b"www-authenticate", ("Bearer " + ", ".join(params)).encode()),
        ]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})
