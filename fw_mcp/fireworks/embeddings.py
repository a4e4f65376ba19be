"""Embeddings and rerank requests: their wire models and one non-streamed JSON call each.

Interim: issue 10's client core gives every endpoint one retrying method; until it lands, these
follow `FireworksClient.list_models` (one authenticated request through the process's pooled
client), under the client's concurrency limit, with the retry policy of the README.
"""

from __future__ import annotations

import math
from typing import Any, TypeVar

import anyio
import httpx2
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from fw_mcp.errors import DeadlineExceeded, FireworksError, FireworksHTTPError, FireworksTransportError
from fw_mcp.fireworks.client import FireworksClient, _describe_transport_error, _error_message, _redacted
from fw_mcp.fireworks.retry import backoff_delay, retry_after_seconds, should_retry_status

__all__ = [
    "EmbeddingsRequest",
    "EmbeddingsResponse",
    "RerankRequest",
    "RerankResponse",
    "embeddings",
    "rerank",
]

_MAX_ERROR_BODY = 64 * 1024
_R = TypeVar("_R", bound=BaseModel)


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _Response(BaseModel):
    model_config = ConfigDict(extra="ignore")


class EmbeddingsRequest(_Request):
    input: list[str] = Field(min_length=1, max_length=2048)
    model: str
    dimensions: int | None = Field(default=None, ge=1)
    normalize: bool | None = None


class RerankRequest(_Request):
    model: str
    query: str
    documents: list[str] = Field(min_length=1)
    top_n: int | None = Field(default=None, ge=1)
    return_documents: bool | None = None


class Usage(_Response):
    prompt_tokens: int = 0
    total_tokens: int = 0


class Embedding(_Response):
    index: int
    embedding: list[float]


class EmbeddingsResponse(_Response):
    data: list[Embedding]
    model: str = ""
    usage: Usage = Field(default_factory=Usage)


class Ranked(_Response):
    index: int
    relevance_score: float
    document: str | None = None


class RerankResponse(_Response):
    data: list[Ranked]
    model: str = ""
    usage: Usage = Field(default_factory=Usage)


async def embeddings(
    client: FireworksClient, request: EmbeddingsRequest, *, deadline: float | None, api_key: str | None
) -> EmbeddingsResponse:
    """`POST /embeddings`.

    Raises:
        FireworksHTTPError / FireworksTransportError: after the retries the policy allows.
        DeadlineExceeded: `deadline` passed.
    """
    data = await _post(client, "embeddings", request, deadline, api_key)
    return _parse(EmbeddingsResponse, data, client)


async def rerank(
    client: FireworksClient, request: RerankRequest, *, deadline: float | None, api_key: str | None
) -> RerankResponse:
    """`POST /rerank`. Raises as `embeddings` does."""
    data = await _post(client, "rerank", request, deadline, api_key)
    return _parse(RerankResponse, data, client)


def _parse(model: type[_R], data: Any, client: FireworksClient) -> _R:
    try:
        return model.model_validate(data)
    except ValidationError:
        raise FireworksTransportError(
            f"the {model.__name__.removesuffix('Response').lower()} answer was not in the documented shape",
            client._settings.base_url,
        ) from None


async def _post(
    client: FireworksClient, path: str, request: _Request, deadline: float | None, api_key: str | None
) -> Any:
    settings = client._settings
    key = api_key or settings.require_api_key()
    body = request.model_dump(exclude_none=True)
    policy = settings.retries
    with anyio.CancelScope(deadline=math.inf if deadline is None else deadline):
        for retry_number in range(policy.max_retries + 1):
            try:
                return await _once(client, path, body, key)
            except _Retry as failure:
                delay = backoff_delay(retry_number, policy, failure.asked)
                last = retry_number == policy.max_retries
                if last or (deadline is not None and anyio.current_time() + delay >= deadline):
                    raise _redacted(failure.error.with_attempts(retry_number + 1), key) from None
                await anyio.sleep(delay)
            except FireworksError as exc:
                raise _redacted(exc.with_attempts(retry_number + 1), key) from None
    raise DeadlineExceeded(settings.timeouts.total, None)


class _Retry(Exception):
    def __init__(self, error: FireworksError, asked: float | None) -> None:
        self.error, self.asked = error, asked


async def _once(client: FireworksClient, path: str, body: dict[str, Any], key: str) -> Any:
    headers = {"authorization": f"Bearer {key}", "accept": "application/json"}
    try:
        async with client._slot(None):
            response = await client._http.post(path, json=body, headers=headers)
    except httpx2.HTTPError as exc:
        raise _Retry(
            FireworksTransportError(_describe_transport_error(exc), client._settings.base_url), None
        ) from None
    if response.status_code >= 400:
        message = _error_message(response.content[:_MAX_ERROR_BODY], response.reason_phrase)
        asked = retry_after_seconds(response.headers)
        error = FireworksHTTPError(response.status_code, message, asked)
        if should_retry_status(response.status_code, response.headers, error.is_rate_limit):
            raise _Retry(error, asked)
        raise error
    try:
        return response.json()
    except ValueError:
        raise FireworksTransportError(
            f"POST /{path} did not answer JSON", client._settings.base_url
        ) from None
