"""``POST /inference/v1/embeddings`` and ``POST /inference/v1/rerank``, simulated.

The vectors are deterministic and meaningful enough to test search: each word of a text is hashed
to a few signed positions of the vector (a hashed bag of words), so texts that share words point in
similar directions and unrelated texts are nearly orthogonal. Rerank scores a document by the share
of the query's distinct words it contains. Limits and errors follow the reference notes: an empty
input or too many inputs is a 400, a model that is not served is a 404.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Callable
from typing import Any

from .catalogue import served
from .errors import error_vector
from .exchange import Exchange
from .respond import is_custom, send_custom
from .validate import MODEL_RE, RequestError, bad

MAX_INPUTS = 2048  # the API's documented limit per embeddings request
MAX_DOCUMENTS = 1000  # not documented; the project's tool allows as many, so the simulator does too
EMBED_FIELDS = frozenset({"input", "model", "dimensions", "normalize", "prompt_template", "return_logits"})
RERANK_FIELDS = frozenset({"model", "query", "documents", "top_n", "return_documents", "task"})
# Serverless embedding models named without `accounts/` (reference, "Embeddings models"), with the
# size of their vectors. Any `accounts/.../models/...` text model can embed too (DEFAULT_DIMENSIONS).
EMBEDDING_MODELS: dict[str, int] = {
    "fireworks/qwen3-embedding-8b": 4096,
    "fireworks/qwen3-embedding-4b": 2560,
    "fireworks/qwen3-embedding-0p6b": 1024,
    "nomic-ai/nomic-embed-text-v1.5": 768,
}
DEFAULT_DIMENSIONS = 1024
RERANKERS = frozenset(f"accounts/fireworks/models/qwen3-reranker-{size}" for size in ("8b", "4b", "0p6b"))
_WORD = re.compile(r"\w+")
_SLOTS_PER_WORD = 3


def words(text: str) -> list[str]:
    """Lower-cased words: what both the embedding and the rerank score look at."""
    return [w.lower() for w in _WORD.findall(text)]


def token_count(text: str) -> int:
    """About four characters per token, at least one per input (as the chat simulator counts)."""
    return max(1, math.ceil(len(text) / 4))


def embed_text(text: str, dimensions: int, normalize: bool = True) -> list[float]:
    """The hashed bag of words of ``text`` in ``dimensions`` numbers (a text with no words hashes whole)."""
    vector = [0.0] * dimensions
    for word in words(text) or [text]:
        digest = hashlib.blake2b(word.encode("utf-8", "surrogatepass"), digest_size=16).digest()
        for slot in range(_SLOTS_PER_WORD):
            chunk = int.from_bytes(digest[slot * 5 : slot * 5 + 5], "big")
            vector[(chunk >> 1) % dimensions] += 1.0 if chunk & 1 else -1.0
    if normalize:
        norm = math.sqrt(sum(v * v for v in vector)) or 1.0
        vector = [v / norm for v in vector]
    return [round(v, 6) for v in vector]


def embeddings_response(body: Any, config: dict[str, Any]) -> dict[str, Any]:
    """The response body for an embeddings request.

    Raises:
        RequestError: 400 for a malformed request, 404 for a model that is not served.
    """
    if not isinstance(body, dict):
        raise bad("Request body must be a JSON object")
    _only(body, EMBED_FIELDS)
    model = _model(body, config, embedding=True)
    texts = _inputs(body.get("input"))
    native = EMBEDDING_MODELS.get(model, DEFAULT_DIMENSIONS)
    dimensions = body.get("dimensions", native)
    if not isinstance(dimensions, int) or isinstance(dimensions, bool) or not 1 <= dimensions <= native:
        raise bad(f"dimensions must be an integer between 1 and {native} for this model: {dimensions!r}")
    normalize = body.get("normalize", True)
    if not isinstance(normalize, bool):
        raise bad(f"normalize must be a boolean: {normalize!r}")
    data = [
        {"index": i, "embedding": embed_text(t, dimensions, normalize), "object": "embedding"}
        for i, t in enumerate(texts)
    ]
    tokens = sum(token_count(t) for t in texts)
    return {
        "object": "list",
        "data": data,
        "model": model,
        "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
    }


def rerank_response(body: Any, config: dict[str, Any]) -> dict[str, Any]:
    """The response body for a rerank request: documents by overlap with the query, best first.

    Raises:
        RequestError: 400 for a malformed request, 404 for a model that is not served.
    """
    if not isinstance(body, dict):
        raise bad("Request body must be a JSON object")
    _only(body, RERANK_FIELDS)
    model = _model(body, config, embedding=False)
    query, documents = body.get("query"), body.get("documents")
    if not isinstance(query, str) or not query.strip():
        raise bad("Field required: 'query' (a non-empty string)")
    if not isinstance(documents, list) or not documents:
        raise bad("Field required: 'documents' (a list of at least one string)")
    if len(documents) > MAX_DOCUMENTS:
        raise bad(f"Too many documents: {len(documents)} (at most {MAX_DOCUMENTS} per request)")
    if not all(isinstance(d, str) for d in documents):
        raise bad("documents must be a list of strings")
    top_n = body.get("top_n", len(documents))
    if not isinstance(top_n, int) or isinstance(top_n, bool) or top_n < 1:
        raise bad(f"top_n must be an integer >= 1: {top_n!r}")
    wanted = set(words(query))
    scores = [_overlap(wanted, d) for d in documents]
    order = sorted(range(len(documents)), key=lambda i: -scores[i])[:top_n]
    keep_text = body.get("return_documents", True) is not False
    data = [
        {"index": i, "relevance_score": scores[i], **({"document": documents[i]} if keep_text else {})}
        for i in order
    ]
    tokens = sum(token_count(query) + token_count(d) for d in documents)
    return {
        "object": "list",
        "model": model,
        "data": data,
        "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
    }


def _overlap(wanted: set[str], document: str) -> float:
    """Share of the query's distinct words found in the document, slightly favouring repeats."""
    if not wanted:
        return 0.0
    seen = words(document)
    found = wanted.intersection(seen)
    repeats = sum(1 for w in seen if w in wanted)
    return round(len(found) / len(wanted) * 0.9 + min(repeats, 10) / 100, 6)


def _only(body: dict[str, Any], allowed: frozenset[str]) -> None:
    for name in body:
        if name not in allowed:
            raise bad(f"Extra inputs are not permitted, field: '{name}'")


def _model(body: dict[str, Any], config: dict[str, Any], *, embedding: bool) -> str:
    """The model id, if served: an embedding model or any catalogue text model (they can embed too), or
    a reranker; ``extra_models`` are served as well and ``unknown_models`` never are (404)."""
    model = body.get("model")
    if not isinstance(model, str) or not model:
        raise bad("Field required: 'model' (a string)")
    extra = config["extra_models"]
    if embedding:
        known = model in EMBEDDING_MODELS or (MODEL_RE.match(model) is not None and served(model, extra))
    else:
        known = model in RERANKERS or model in extra
    if not known or model in config["unknown_models"]:
        raise RequestError(404, error_vector("404_model")["body"])
    return model


def _inputs(value: Any) -> list[str]:
    texts = [value] if isinstance(value, str) else value
    if not isinstance(texts, list) or not texts:
        raise bad("Field required: 'input' (a string or a non-empty list of strings)")
    if len(texts) > MAX_INPUTS:
        raise bad(f"Too many inputs: {len(texts)} (at most {MAX_INPUTS} per request)")
    for i, text in enumerate(texts):
        if not isinstance(text, str):
            raise bad(f"input[{i}] must be a string")
        if not text:
            raise bad(f"input[{i}] is empty; input must not be empty")
    return texts


async def serve_json(
    ex: Exchange,
    entry: dict[str, Any],
    body: Any,
    config: dict[str, Any],
    respond: Callable[[Any, dict[str, Any]], dict[str, Any]],
) -> None:
    """Answer a JSON endpoint: a scripted response if one matched, else ``respond``'s body or error."""
    if is_custom(entry):
        await send_custom(ex, entry, config["token_delay"])
        return
    try:
        answer = respond(body, config)
    except RequestError as exc:
        await ex.send_json(exc.status, exc.body)
        return
    await ex.send_json(200, answer)
