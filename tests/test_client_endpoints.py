"""The client's JSON endpoints (embeddings, rerank, models, control plane) and its multipart upload,
against a small Starlette app on loopback that records what it received and answers as scripted.

They share the streamed chat's core: the same retries, key, deadline and error mapping.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
import pytest
import uvicorn
from pydantic import ValidationError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from fw_mcp.errors import DeadlineExceeded, FireworksHTTPError, FireworksTransportError
from fw_mcp.fireworks import CallOptions, FireworksClient, Retrying, create_http_client
from fw_mcp.fireworks.events import ClientEvent
from fw_mcp.fireworks.wire import (
    ControlPlaneRequest,
    EmbeddingsRequest,
    EmbeddingsResponse,
    RerankRequest,
    WireResponse,
)
from fw_mcp.simulator.server import bind_socket
from tests.conftest import TEST_KEY, make_settings

EMBEDDINGS = {
    "object": "list",
    "model": "nomic-ai/nomic-embed-text-v1.5",
    "data": [{"index": 0, "embedding": [0.1, 0.2], "object": "embedding", "new_field": 1}],
    "usage": {"prompt_tokens": 3, "total_tokens": 3},
    "a_field_added_later": {"x": 1},
}
RERANK = {
    "object": "list",
    "model": "accounts/fireworks/models/qwen3-reranker-8b",
    "data": [{"index": 1, "relevance_score": 0.9, "document": "b"}, {"index": 0, "relevance_score": 0.1}],
    "usage": {"prompt_tokens": 9, "total_tokens": 9},
}


class Recorder:
    """Answers each request with the next scripted response for its path (default 200 `ok`)."""

    def __init__(self) -> None:
        self.received: list[dict[str, Any]] = []
        self.script: dict[str, list[Response]] = {}
        self.hold: anyio.Event | None = None  # when set, requests wait for it before any answer

    async def handle(self, request: Request) -> Response:
        if self.hold is not None:
            await self.hold.wait()
        record: dict[str, Any] = {
            "method": request.method,
            "path": request.url.path,
            "query": dict(request.query_params),
            "headers": dict(request.headers),
        }
        if request.headers.get("content-type", "").startswith("multipart/form-data"):
            async with request.form() as form:
                upload = form["file"]
                assert not isinstance(upload, str)
                record["file"] = (upload.filename, upload.content_type, await upload.read())
        else:
            body = await request.body()
            record["json"] = json.loads(body) if body else None
        self.received.append(record)
        queue = self.script.get(request.url.path) or []
        return queue.pop(0) if queue else JSONResponse(self.default(request.url.path))

    def default(self, path: str) -> Any:
        if path.endswith("/embeddings"):
            return EMBEDDINGS
        if path.endswith("/rerank"):
            return RERANK
        return {"name": "accounts/acct/datasets/d1", "state": "READY"}


@asynccontextmanager
async def serving(recorder: Recorder) -> AsyncIterator[str]:
    """The recorder's app under uvicorn on 127.0.0.1 (port 0), in this event loop; its base URL.
    The socket listens before uvicorn starts, so a request made at once waits in its backlog."""
    app = Starlette(routes=[Route("/{path:path}", recorder.handle, methods=["GET", "POST", "DELETE"])])
    config = uvicorn.Config(app, log_level="warning", lifespan="off", timeout_graceful_shutdown=1)
    server = uvicorn.Server(config)
    sock = bind_socket("127.0.0.1", 0)
    async with anyio.create_task_group() as tg:
        tg.start_soon(server.serve, [sock])
        try:
            yield f"http://127.0.0.1:{sock.getsockname()[1]}/inference/v1"
        finally:
            server.should_exit = True


@asynccontextmanager
async def client_for(recorder: Recorder, **overrides: Any) -> AsyncIterator[FireworksClient]:
    async with serving(recorder) as base_url:
        settings = make_settings(base_url, **overrides)
        async with create_http_client(settings) as http:
            yield FireworksClient(settings, http)


async def test_embeddings_sends_the_model_and_reads_a_response_with_new_fields() -> None:
    recorder = Recorder()
    async with client_for(recorder) as client:
        answer = await client.embeddings(
            EmbeddingsRequest(model="nomic-ai/nomic-embed-text-v1.5", input=["hi"])
        )
    assert answer.data[0].embedding == [0.1, 0.2] and answer.usage.prompt_tokens == 3
    [request] = recorder.received
    assert request["path"] == "/inference/v1/embeddings"
    assert request["json"] == {"model": "nomic-ai/nomic-embed-text-v1.5", "input": ["hi"]}, (
        "unset fields unsent"
    )
    assert request["headers"]["authorization"] == f"Bearer {TEST_KEY}"
    assert request["headers"]["accept"] == "application/json"


async def test_rerank_is_retried_on_503_and_reports_the_retry() -> None:
    recorder = Recorder()
    recorder.script["/inference/v1/rerank"] = [
        JSONResponse({"error": {"message": "overloaded"}}, status_code=503, headers={"retry-after-ms": "10"})
    ]
    events: list[ClientEvent] = []

    async def on_event(event: ClientEvent) -> None:
        events.append(event)

    async with client_for(recorder) as client:
        request = RerankRequest(model="m", query="q", documents=["a", "b"], top_n=2)
        answer = await client.rerank(request, options=CallOptions(on_event=on_event))
    assert [r.index for r in answer.data] == [1, 0] and answer.data[1].document is None
    assert [r["json"] for r in recorder.received] == [
        {"model": "m", "query": "q", "documents": ["a", "b"], "top_n": 2}
    ] * 2
    [retry] = events
    assert isinstance(retry, Retrying) and (retry.attempt, retry.of, retry.delay) == (1, 3, 0.01)
    assert isinstance(retry.cause, FireworksHTTPError) and retry.cause.status_code == 503


async def test_a_json_endpoint_maps_errors_and_redacts_a_per_request_key() -> None:
    key = "fw_per_request_key_0123456789"
    recorder = Recorder()
    recorder.script["/inference/v1/embeddings"] = [
        JSONResponse({"error": {"message": f"bad key {key}"}}, status_code=401)
    ]
    async with client_for(recorder) as client:
        with pytest.raises(FireworksHTTPError) as caught:
            await client.embeddings(EmbeddingsRequest(model="m", input="x"), options=CallOptions(api_key=key))
    assert caught.value.status_code == 401 and key not in str(caught.value)
    assert "FIREWORKS_API_KEY" in str(caught.value)
    assert recorder.received[0]["headers"]["authorization"] == f"Bearer {key}"
    assert len(recorder.received) == 1, "a 401 is not retried"


async def test_a_200_that_is_not_the_expected_json_is_retried_then_a_transport_error() -> None:
    recorder = Recorder()
    recorder.script["/inference/v1/embeddings"] = [
        Response("<html>proxy login</html>", media_type="text/html"),
        JSONResponse({"data": "not a list"}),
        JSONResponse({"unexpected": True}),
    ]
    async with client_for(recorder) as client:
        with pytest.raises(FireworksTransportError, match="did not answer a JSON embeddings list") as caught:
            await client.embeddings(EmbeddingsRequest(model="m", input="x"))
    assert caught.value.attempts == 3 and len(recorder.received) == 3


async def test_the_deadline_covers_a_json_call() -> None:
    recorder = Recorder()
    recorder.hold = anyio.Event()
    async with client_for(recorder) as client:
        deadline = anyio.current_time() + 0.3
        try:
            with anyio.fail_after(5), pytest.raises(DeadlineExceeded) as caught:
                await client.embeddings(
                    EmbeddingsRequest(model="m", input="x"), options=CallOptions(deadline=deadline)
                )
        finally:
            recorder.hold.set()
    assert caught.value.partial is None and caught.value.attempts == 1


async def test_list_models_reads_the_list_and_skips_entries_without_an_id() -> None:
    recorder = Recorder()
    listing = {"data": [{"id": "a", "supports_tools": True, "new": 1}, {"name": "no id"}, {"id": 7}]}
    recorder.script["/inference/v1/models"] = [
        JSONResponse({"error": "Too Many Requests"}, status_code=429, headers={"retry-after": "0"}),
        JSONResponse(listing),
    ]
    async with client_for(recorder) as client:
        models = await client.list_models()
    assert models == [{"id": "a", "supports_tools": True, "new": 1}]
    assert len(recorder.received) == 2, "list_models is retried like every call"


class _DatasetBody(ControlPlaneRequest):
    dataset_id: str
    example_count: int | None = None


class _Dataset(WireResponse):
    name: str
    state: str


async def test_control_plane_requests_go_to_the_hosts_v1_in_camel_case() -> None:
    recorder = Recorder()
    async with client_for(recorder) as client:
        answer = await client.control_plane(
            "POST",
            "accounts/acct/datasets",
            _Dataset,
            _DatasetBody(dataset_id="d1"),
            params={"validateOnly": "1"},
        )
    assert (answer.name, answer.state) == ("accounts/acct/datasets/d1", "READY")
    [request] = recorder.received
    assert request["path"] == "/v1/accounts/acct/datasets" and request["query"] == {"validateOnly": "1"}
    assert request["json"] == {"datasetId": "d1"}
    assert request["headers"]["authorization"] == f"Bearer {TEST_KEY}"


async def test_upload_streams_a_file_as_multipart_and_resends_it_on_a_retry(tmp_path: Path) -> None:
    data = b"".join(f'{{"custom_id": "{i}", "body": {{}}}}\n'.encode() for i in range(40_000))  # ~1.2 MB
    path = tmp_path / "batch input.jsonl"
    path.write_bytes(data)
    recorder = Recorder()
    recorder.script["/v1/accounts/acct/datasets/d1:upload"] = [JSONResponse({}, status_code=502)]
    async with client_for(recorder) as client:
        answer = await client.upload("accounts/acct/datasets/d1:upload", path, _Dataset)
    assert answer.state == "READY"
    assert len(recorder.received) == 2
    for request in recorder.received:
        assert request["file"] == ("batch input.jsonl", "application/octet-stream", data)
        assert int(request["headers"]["content-length"]) > len(data)
        assert "chunked" not in request["headers"].get("transfer-encoding", "")


def test_request_models_refuse_unknown_fields_and_responses_keep_them() -> None:
    with pytest.raises(ValidationError, match="Extra inputs are not permitted"):
        EmbeddingsRequest.model_validate({"model": "m", "input": "x", "dimension": 3})
    with pytest.raises(ValidationError):
        RerankRequest(model="m", query="q", documents=[])
    answer = EmbeddingsResponse.model_validate(EMBEDDINGS)
    assert answer.model_extra == {"a_field_added_later": {"x": 1}}
