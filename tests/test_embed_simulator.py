"""The simulator's embeddings and rerank endpoints, over loopback HTTP as the client uses them."""

from __future__ import annotations

import math
from typing import Any

import httpx2
import pytest

from fw_mcp.simulator import SimulatorServer
from tests.conftest import TEST_KEY

EMBED_MODEL = "fireworks/qwen3-embedding-8b"
RERANK_MODEL = "accounts/fireworks/models/qwen3-reranker-8b"


def post(sim: SimulatorServer, path: str, body: Any) -> httpx2.Response:
    return httpx2.post(
        f"{sim.base_url}/{path}", json=body, headers={"authorization": f"Bearer {TEST_KEY}"}, timeout=10
    )


def cosine(a: list[float], b: list[float]) -> float:
    return sum(x * y for x, y in zip(a, b, strict=True)) / (
        math.sqrt(sum(x * x for x in a)) * math.sqrt(sum(y * y for y in b))
    )


def test_embeddings_answer_in_input_order_with_the_documented_shape(simulator: SimulatorServer) -> None:
    texts = ["the retry policy waits", "bananas are yellow", "the retry policy backs off"]
    r = post(simulator, "embeddings", {"input": texts, "model": EMBED_MODEL, "dimensions": 64})
    assert r.status_code == 200
    body = r.json()
    assert body["object"] == "list" and body["model"] == EMBED_MODEL
    assert [d["index"] for d in body["data"]] == [0, 1, 2]
    assert all(d["object"] == "embedding" and len(d["embedding"]) == 64 for d in body["data"])
    assert body["usage"]["prompt_tokens"] == body["usage"]["total_tokens"] > 0
    vectors = [d["embedding"] for d in body["data"]]
    assert abs(math.sqrt(sum(v * v for v in vectors[0])) - 1) < 1e-4, "normalised by default"
    assert cosine(vectors[0], vectors[2]) > cosine(vectors[0], vectors[1]) + 0.3


def test_embeddings_are_deterministic_and_honour_dimensions_and_normalize(simulator: SimulatorServer) -> None:
    one = post(simulator, "embeddings", {"input": "same words", "model": EMBED_MODEL, "dimensions": 16})
    two = post(simulator, "embeddings", {"input": ["same words"], "model": EMBED_MODEL, "dimensions": 16})
    assert one.json()["data"] == two.json()["data"]
    raw = post(
        simulator,
        "embeddings",
        {"input": "same words", "model": EMBED_MODEL, "dimensions": 16, "normalize": False},
    )
    assert any(abs(v) >= 1 for v in raw.json()["data"][0]["embedding"])
    native = post(simulator, "embeddings", {"input": "x", "model": "nomic-ai/nomic-embed-text-v1.5"})
    assert len(native.json()["data"][0]["embedding"]) == 768


@pytest.mark.parametrize(
    ("body", "status", "says"),
    [
        ({"input": [], "model": EMBED_MODEL}, 400, "input"),
        ({"input": "", "model": EMBED_MODEL}, 400, "empty"),
        ({"input": ["ok", 3], "model": EMBED_MODEL}, 400, "input[1]"),
        ({"input": ["x"] * 2049, "model": EMBED_MODEL}, 400, "Too many inputs"),
        ({"input": "x", "model": EMBED_MODEL, "dimensions": 0}, 400, "dimensions"),
        ({"input": "x", "model": EMBED_MODEL, "dimensions": 5000}, 400, "dimensions"),
        ({"input": "x", "model": EMBED_MODEL, "user": "u"}, 400, "Extra inputs"),
        ({"input": "x", "model": "nobody/no-such-embedder"}, 404, "not found"),
    ],
)
def test_embeddings_refuse_as_the_api_does(
    simulator: SimulatorServer, body: dict[str, Any], status: int, says: str
) -> None:
    r = post(simulator, "embeddings", body)
    assert r.status_code == status
    assert says in r.json()["error"]["message"]


def test_only_served_models_embed_and_rerank(simulator: SimulatorServer) -> None:
    text_model = "accounts/fireworks/models/deepseek-v3p1"  # any catalogue text model can embed
    assert (
        post(simulator, "embeddings", {"input": "x", "model": text_model, "dimensions": 4}).status_code == 200
    )
    nobody = "accounts/fireworks/models/no-such-model"
    assert post(simulator, "embeddings", {"input": "x", "model": nobody}).status_code == 404
    assert (
        post(simulator, "rerank", {"query": "q", "documents": ["d"], "model": text_model}).status_code == 404
    )
    simulator.sim.configure(extra_models=[nobody])
    assert post(simulator, "rerank", {"query": "q", "documents": ["d"], "model": nobody}).status_code == 200


def test_a_configured_unknown_model_is_404(simulator: SimulatorServer) -> None:
    simulator.sim.configure(unknown_models=[EMBED_MODEL, RERANK_MODEL])
    assert post(simulator, "embeddings", {"input": "x", "model": EMBED_MODEL}).status_code == 404
    assert (
        post(simulator, "rerank", {"query": "q", "documents": ["d"], "model": RERANK_MODEL}).status_code
        == 404
    )


def test_rerank_orders_by_overlap_with_the_query(simulator: SimulatorServer) -> None:
    docs = ["bananas are yellow", "the retry policy backs off", "a policy on retry and backoff retry"]
    r = post(simulator, "rerank", {"model": RERANK_MODEL, "query": "retry policy", "documents": docs})
    assert r.status_code == 200
    body = r.json()
    assert [d["index"] for d in body["data"]] == [2, 1, 0]
    assert body["data"][0]["document"] == docs[2]
    scores = [d["relevance_score"] for d in body["data"]]
    assert scores == sorted(scores, reverse=True) and scores[-1] == 0
    assert body["usage"]["total_tokens"] > 0
    top = post(
        simulator,
        "rerank",
        {"model": RERANK_MODEL, "query": "retry", "documents": docs, "top_n": 1, "return_documents": False},
    ).json()
    assert top["data"] == [{"index": 2, "relevance_score": 0.92}]  # all of the query's words, twice


@pytest.mark.parametrize(
    ("body", "says"),
    [
        ({"query": "q", "documents": []}, "documents"),
        ({"query": "", "documents": ["d"]}, "query"),
        ({"query": "q", "documents": ["d"] * 1001}, "Too many documents"),
        ({"query": "q", "documents": ["d"], "top_n": 0}, "top_n"),
        ({"query": "q", "documents": [1]}, "strings"),
    ],
)
def test_rerank_refuses_bad_requests(simulator: SimulatorServer, body: dict[str, Any], says: str) -> None:
    r = post(simulator, "rerank", {"model": RERANK_MODEL, **body})
    assert r.status_code == 400 and says in r.json()["error"]["message"]


def test_scripted_errors_apply_to_the_new_paths(simulator: SimulatorServer) -> None:
    simulator.sim.enqueue({"path": "/embeddings", "status": 503})
    assert post(simulator, "embeddings", {"input": "x", "model": EMBED_MODEL}).status_code == 503
    assert post(simulator, "embeddings", {"input": "x", "model": EMBED_MODEL}).status_code == 200
