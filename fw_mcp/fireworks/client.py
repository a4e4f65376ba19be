"""The only code that speaks HTTP to Fireworks. Knows nothing of MCP.

One `httpx2.AsyncClient` per process (made by `create_http_client`, owned by the server's
lifespan). Each endpoint is a thin method: what to send (a request model from `wire/`) and how to
read a good answer; the key, the concurrency slot, retries, the deadline and error mapping are the
core's (`core.py`), the same for every endpoint.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import httpx2
from pydantic import BaseModel

from fw_mcp import __version__
from fw_mcp.errors import ConfigError
from fw_mcp.fireworks.chat_stream import ChatReader, DeltaHook
from fw_mcp.fireworks.core import CallOptions, Core, Outgoing, Reader
from fw_mcp.fireworks.events import EventHook
from fw_mcp.fireworks.failures import MalformedResponse
from fw_mcp.fireworks.multipart import MultipartFile
from fw_mcp.fireworks.proxies import describe_proxy_settings
from fw_mcp.fireworks.stream import Completion
from fw_mcp.fireworks.wire import (
    ChatRequest,
    ControlPlaneRequest,
    EmbeddingsRequest,
    EmbeddingsResponse,
    ModelList,
    RerankRequest,
    RerankResponse,
)
from fw_mcp.fireworks.wire.chat import STREAMED
from fw_mcp.settings import Settings

__all__ = ["CallOptions", "DeltaHook", "EventHook", "FireworksClient", "create_http_client"]

R = TypeVar("R", bound=BaseModel)
DEFAULT_OPTIONS = CallOptions()  # the configured key, no deadline, no one listening
_JSON = {"accept": "application/json"}
_MAX_JSON_BYTES = 64 * 1024 * 1024  # a non-streamed answer larger than this is not a real one


def create_http_client(
    settings: Settings, transport: httpx2.AsyncBaseTransport | None = None
) -> httpx2.AsyncClient:
    """The process's pooled client: base URL, explicit timeouts, a pool as large as the concurrency cap.

    Without `transport`, httpx2 builds its own, so HTTPS_PROXY / HTTP_PROXY / ALL_PROXY / NO_PROXY
    apply exactly as httpx2 reads them; the direct (no proxy) transport gets the cheap idle probe.

    Raises:
        ConfigError: a proxy variable is not a usable proxy URL.
    """
    from fw_mcp.fireworks.transport import install_probe  # loads httpcore2: not before a first call

    t = settings.timeouts
    limit = settings.limits.max_concurrent_requests
    limits = httpx2.Limits(max_connections=limit, max_keepalive_connections=min(limit, 64))
    try:
        client = httpx2.AsyncClient(
            base_url=settings.base_url + "/",
            timeout=httpx2.Timeout(connect=t.connect, read=t.read, write=t.write, pool=None),
            limits=limits,
            headers={"user-agent": f"fw-mcp/{__version__}", "accept": "text/event-stream"},
            transport=transport,
        )
    except (ValueError, ImportError, httpx2.InvalidURL) as exc:
        raise ConfigError(
            f"The proxy setting cannot be used ({describe_proxy_settings()}): {exc}. Set it to a URL such "
            "as http://proxy.example:3128 (http:// or https://), or unset it."
        ) from None
    if transport is None:
        install_probe(client)
    return client


class FireworksClient:
    """Every Fireworks endpoint fw-mcp uses, over one pooled HTTP client and one retrying core."""

    def __init__(
        self, settings: Settings, http: httpx2.AsyncClient | Callable[[], httpx2.AsyncClient]
    ) -> None:
        """`http` is the client, or a function that makes it on first use (the server's lifespan passes
        one: making a client loads httpcore2 and h11 and builds an SSL context, which hosts would
        otherwise wait for before `initialize` is answered)."""
        self._settings = settings
        self._core = Core(settings, http)

    @property
    def rate_limits(self) -> dict[str, str]:
        """The `x-ratelimit-limit-*` headers of the last answer that had them (per process)."""
        return self._core.rate_limits

    async def chat(
        self,
        request: ChatRequest,
        *,
        on_delta: DeltaHook | None = None,
        options: CallOptions = DEFAULT_OPTIONS,
    ) -> Completion:
        """Stream one chat completion and return the whole answer.

        Raises:
            ConfigError: no API key.
            FireworksHTTPError / FireworksTransportError: failed, after the retries the policy allows.
            StreamInterrupted: the stream broke after output arrived (carries the partial answer).
            DeadlineExceeded: the deadline passed (carries any partial answer).
        """
        reader = ChatReader(request.model, on_delta, options.on_event, self._settings.limits)
        outgoing = Outgoing("POST", "chat/completions", json={**request.wire(), **STREAMED})
        return await self._core.send(outgoing, reader, options, partial=reader.partial)

    async def embeddings(
        self, request: EmbeddingsRequest, *, options: CallOptions = DEFAULT_OPTIONS
    ) -> EmbeddingsResponse:
        """One vector per input text (`POST /embeddings`). Raises as `chat`, without partial answers."""
        return await self._json("POST", "embeddings", request.wire(), EmbeddingsResponse, options)

    async def rerank(
        self, request: RerankRequest, *, options: CallOptions = DEFAULT_OPTIONS
    ) -> RerankResponse:
        """The documents scored against the query, best first (`POST /rerank`). Raises as `embeddings`."""
        return await self._json("POST", "rerank", request.wire(), RerankResponse, options)

    async def list_models(self, *, api_key: str | None = None) -> list[dict[str, Any]]:
        """The account's models from `GET /models` (each a dict with at least a string `id`).

        Raises:
            ConfigError: no API key.
            FireworksHTTPError: Fireworks answered with an error status (401: the key was refused).
            FireworksTransportError: no usable answer (network, timeout, not a JSON model list).
        """
        listing = await self._json("GET", "models", None, ModelList, CallOptions(api_key=api_key))
        return [card.model_dump(exclude_none=True) for card in listing.data]

    async def control_plane(
        self,
        method: str,
        path: str,
        answer: type[R],
        body: ControlPlaneRequest | None = None,
        *,
        params: dict[str, str] | None = None,
        options: CallOptions = DEFAULT_OPTIONS,
    ) -> R:
        """A JSON request to the control plane: `path` under `{scheme}://{host}/v1/` of the base URL
        (e.g. `accounts/my-account/datasets`). Raises as `embeddings`."""
        url = str(httpx2.URL(self.control_plane_url(path)).copy_merge_params(params or {}))
        return await self._json(method, url, None if body is None else body.wire(), answer, options)

    async def upload(
        self,
        path: str,
        file: Path,
        answer: type[R],
        *,
        field: str = "file",
        options: CallOptions = DEFAULT_OPTIONS,
    ) -> R:
        """Upload `file` as multipart/form-data to the control-plane `path`, streamed from disk in
        chunks (never held in memory; read again from the start on a retry). Raises as `embeddings`,
        and OSError when the file cannot be read."""
        form = MultipartFile(field, file)
        headers = {**_JSON, "content-type": form.content_type, "content-length": str(form.size())}
        outgoing = Outgoing("POST", self.control_plane_url(path), content=form.chunks, headers=headers)
        return await self._core.send(outgoing, _json_reader(answer, f"POST {path}"), options)

    def control_plane_url(self, path: str) -> str:
        """`https://api.fireworks.ai/v1/<path>` for the default base URL; the same host for any other,
        or under `[fireworks] control_base_url` when that is set (`/v1` added when it lacks one)."""
        if override := self._settings.fireworks.control_base_url.strip().rstrip("/"):
            root = override if override.endswith("/v1") else override + "/v1"
            return f"{root}/{path.lstrip('/')}"
        base = httpx2.URL(self._settings.base_url)
        return str(base.copy_with(raw_path=b"/v1/" + path.lstrip("/").encode(), query=None))

    @property
    def http(self) -> httpx2.AsyncClient:
        """The pooled client, for requests that must not carry the Fireworks key (signed URLs)."""
        return self._core.http

    async def _json(
        self, method: str, url: str, body: dict[str, Any] | None, answer: type[R], options: CallOptions
    ) -> R:
        outgoing = Outgoing(method, url, json=body, headers=_JSON)
        what = f"{method} /{url.rsplit('/v1/', 1)[-1]}"
        return await self._core.send(outgoing, _json_reader(answer, what), options)


def _json_reader(answer: type[R], what: str) -> Reader[R]:
    """Read a whole JSON body (bounded) into `answer`; anything else is an unusable answer."""

    async def read(response: httpx2.Response) -> R:
        raw = bytearray()
        async for piece in response.aiter_bytes():
            raw += piece
            if len(raw) > _MAX_JSON_BYTES:
                raise MalformedResponse(f"{what} answered more than {_MAX_JSON_BYTES} bytes")
        try:
            return answer.model_validate(json.loads(raw))
        except ValueError:  # not JSON, or not the expected shape (pydantic's ValidationError)
            expected = getattr(answer, "described", f"JSON {answer.__name__}")
            raise MalformedResponse(f"{what} did not answer a {expected}") from None

    return read
