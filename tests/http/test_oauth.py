"""OAuth resource-server mode against a real key pair: an issuer on loopback serving discovery + JWKS.

No mocks: tokens are RS256 JWTs minted here with a locally generated RSA key, and the server
fetches the public key over HTTP exactly as it would from an identity provider.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import httpx2
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from fw_mcp.registry import TOOLS as REGISTRY
from fw_mcp.simulator import SimulatorServer
from tests.http.helpers import (
    INITIALIZE,
    HttpServer,
    call,
    headers,
    http_server,
    mcp_client,
    server_env,
    texts,
)
from tests.http.oauth_issuer import RESOURCE, SCOPE, Issuer


@pytest.fixture(scope="module")
def protected(
    simulator_server: SimulatorServer, issuer: Issuer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[HttpServer]:
    config = tmp_path_factory.mktemp("oauth") / "fw-mcp.toml"
    config.write_text(
        f'[http.oauth]\nissuer = "{issuer.url}"\nresource = "{RESOURCE}"\nrequired_scopes = ["{SCOPE}"]\n'
    )
    with http_server(server_env(simulator_server.base_url), "--config", str(config)) as server:
        yield server


def status_with(server: HttpServer, token: str) -> httpx2.Response:
    return httpx2.post(server.url, content=json.dumps(INITIALIZE), headers=headers(token), timeout=10)


async def test_a_valid_jwt_calls_tools(
    protected: HttpServer, issuer: Issuer, simulator: SimulatorServer
) -> None:
    async with mcp_client(protected.url, token=issuer.mint()) as (client, _):
        assert len((await client.list_tools()).tools) == len(REGISTRY)
        result = await call(client, "chat", {"prompt": "hi"})
    assert not result.is_error and texts(result)[0].startswith("Simulated")


def test_no_token_points_to_the_protected_resource_metadata(protected: HttpServer, issuer: Issuer) -> None:
    response = httpx2.post(protected.url, content=json.dumps(INITIALIZE), headers=headers(), timeout=10)
    assert response.status_code == 401
    metadata_url = "https://fw-mcp.test/.well-known/oauth-protected-resource/mcp"
    assert f'resource_metadata="{metadata_url}"' in response.headers["www-authenticate"]
    metadata = httpx2.get(protected.root + "/.well-known/oauth-protected-resource/mcp", timeout=10).json()
    assert metadata["resource"] == RESOURCE
    assert metadata["authorization_servers"] == [issuer.url]
    assert metadata["scopes_supported"] == [SCOPE]


@pytest.mark.parametrize(
    "claims",
    [
        {"aud": "https://another-server.test/mcp"},
        {"exp": int(time.time()) - 3600},
        {"iss": "https://impostor.test"},
        {"exp": None},
    ],
    ids=["wrong-audience", "expired", "wrong-issuer", "no-expiry"],
)
def test_a_jwt_with_wrong_claims_is_refused(
    protected: HttpServer, issuer: Issuer, claims: dict[str, Any]
) -> None:
    response = status_with(protected, issuer.mint(**claims))
    assert response.status_code == 401
    assert 'error="invalid_token"' in response.headers["www-authenticate"]


def test_a_jwt_signed_by_another_key_is_refused(protected: HttpServer, issuer: Issuer) -> None:
    forger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    assert status_with(protected, issuer.mint(key=forger)).status_code == 401
    unsigned = jwt.encode(
        {"iss": issuer.url, "aud": RESOURCE, "exp": int(time.time()) + 60}, None, algorithm="none"
    )
    assert status_with(protected, unsigned).status_code == 401
    assert status_with(protected, issuer.mint()).status_code == 200, "the real key still works"


def test_a_jwt_without_the_required_scope_gets_403(protected: HttpServer, issuer: Issuer) -> None:
    response = status_with(protected, issuer.mint(scope="profile email"))
    assert response.status_code == 403
    assert 'error="insufficient_scope"' in response.headers["www-authenticate"]
    assert SCOPE in response.json()["error_description"]
