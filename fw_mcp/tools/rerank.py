"""The `rerank` tool: documents ordered by relevance to a query, by a Fireworks reranker model."""

from __future__ import annotations

from typing import Annotated, Any

from mcp.server.mcpserver import Context
from mcp.types import CallToolResult
from pydantic import BaseModel, Field

from fw_mcp.errors import InvalidArgument
from fw_mcp.settings import Settings
from fw_mcp.tools.arguments import Model
from fw_mcp.tools.embed import TokenUsage
from fw_mcp.tools.job import tool_errors
from fw_mcp.tools.results import MODEL_PREFIX, SpendOut, content_blocks
from fw_mcp.tools.vectors import Upstream, with_cost

__all__ = ["RerankResult", "rerank"]

_PREVIEW = 200


class Ranked(BaseModel):
    index: int = Field(description="Position of the document in `documents` (from 0).")
    score: float = Field(description="Relevance to the query; higher is more relevant.")
    document: str = Field(description="The document's text.")


class RerankResult(SpendOut):
    results: list[Ranked] = Field(description="The documents, most relevant first.")
    model: str = Field(description="The Fireworks reranker model id.")
    usage: TokenUsage


@tool_errors
async def rerank(
    ctx: Context[Any, Any],
    query: Annotated[str, Field(description="What the documents should be relevant to.", min_length=1)],
    documents: Annotated[
        list[str], Field(description="The texts to rank (1 to 1,000 non-empty strings).", min_length=1)
    ],
    top_n: Annotated[
        int | None, Field(description="Return only the best `top_n` documents. Default: all of them.", ge=1)
    ] = None,
    model: Model = None,
) -> Annotated[CallToolResult, RerankResult]:
    """Order documents by how relevant they are to a query, with a Fireworks reranker (default Qwen3 Reranker 8B).

    Use it to pick which of many snippets, search hits or notes answer a question. Returns the
    documents best first, each with its original index and a relevance score. To search local files
    by meaning, use `search`.
    """
    upstream = Upstream(ctx)
    settings = upstream.settings
    _check(query, documents, settings)
    resolved = settings.resolve_model(model, "rerank")
    answer = await upstream.rerank(query, documents, resolved, top_n)
    best_first = sorted(answer.data, key=lambda r: -r.relevance_score)
    results = [
        {"index": r.index, "score": r.relevance_score, "document": documents[r.index]} for r in best_first
    ]
    payload: dict[str, Any] = {
        "results": results[:top_n] if top_n else results,
        "model": answer.model or resolved,
        "usage": {"prompt_tokens": answer.usage.prompt_tokens, "total_tokens": answer.usage.total_tokens},
    }
    ranking, account = _text(payload)
    return CallToolResult(content=content_blocks([ranking], account), structured_content=payload)


def _check(query: str, documents: list[str], settings: Settings) -> None:
    if not query.strip():
        raise InvalidArgument("query", "is empty; say what the documents should be relevant to.")
    limit = settings.embeddings.max_documents
    if len(documents) > limit:
        raise InvalidArgument(
            "documents",
            f"{len(documents):,} documents were given, more than the {limit:,} allowed per call "
            "([embeddings] max_documents); rank them in groups and rerank the best of each.",
        )
    for i, document in enumerate(documents):
        if not document.strip():
            raise InvalidArgument(f"documents[{i}]", "is empty; every document must contain text.")
    total = len(query) + sum(len(d) for d in documents)
    if total > settings.limits.max_input_chars:
        raise InvalidArgument(
            "documents",
            f"the query and documents hold {total:,} characters, over the limit of "
            f"{settings.limits.max_input_chars:,} ([limits] max_input_chars); send fewer or shorter documents.",
        )


def _text(payload: dict[str, Any]) -> tuple[str, str]:
    """The ranking (index, score, first ~200 characters of each document), and the account line."""
    lines = []
    for rank, r in enumerate(payload["results"], start=1):
        preview = " ".join(r["document"].split())
        preview = preview if len(preview) <= _PREVIEW else preview[: _PREVIEW - 3] + "..."
        lines.append(f"{rank}. [{r['index']}] {r['score']:.4f}  {preview}")
    usage = payload["usage"]
    account = with_cost(
        f"[model: {payload['model'].removeprefix(MODEL_PREFIX)} · tokens: {usage['total_tokens']:,} · "
        "[index] is the document's position in `documents`]"
    )
    return "\n".join(lines), account
