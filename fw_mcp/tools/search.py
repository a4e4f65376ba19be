"""The `search` tool: semantic search over local files, the way an agent wants to find things.

Files (inside the allowed folders, through the same sandbox as describe_image) are cut into passages
with line ranges; passages and query are embedded, the passages nearest the query are reranked, and
the best come back as `path:start-end (score)` with their text. Passage vectors are cached by content
hash, so a second search over the same files sends only the query.
"""

from __future__ import annotations

import heapq
import os
from collections.abc import Sequence
from pathlib import Path, PurePath
from typing import Annotated, Any

import anyio.to_thread
from mcp.server.mcpserver import Context
from mcp.types import CallToolResult
from pydantic import BaseModel, Field

from fw_mcp.errors import InvalidArgument
from fw_mcp.files.cache import cache_key
from fw_mcp.files.collect import Collected, collect_passages
from fw_mcp.files.passages import Passage
from fw_mcp.settings import ENV_ALLOWED_DIRS, Settings
from fw_mcp.tools.embed import TokenUsage
from fw_mcp.tools.job import tool_errors
from fw_mcp.tools.results import MODEL_PREFIX, SpendOut, cap, content_blocks
from fw_mcp.tools.runtime import runtime_of
from fw_mcp.tools.vectors import Progress, Upstream, rerank_ceiling, with_cost

__all__ = ["SearchResult", "search"]


class Match(BaseModel):
    path: str = Field(description="The file, as the caller named it (or under the folder it named).")
    start_line: int = Field(description="First line of the passage (from 1).")
    end_line: int = Field(description="Last line of the passage.")
    score: float = Field(description="Relevance to the query from the reranker; higher is better.")
    text: str = Field(description="The passage.")


class Searched(BaseModel):
    files: int = Field(description="Text files read.")
    passages: int = Field(description="Passages compared with the query.")
    embedded: int = Field(description="Passages sent to be embedded (the others came from the cache).")


class SearchResult(SpendOut):
    matches: list[Match] = Field(description="The best passages, most relevant first.")
    searched: Searched
    model: str = Field(description="The embeddings model.")
    rerank_model: str = Field(description="The reranker model.")
    usage: TokenUsage
    notes: list[str] = Field(default_factory=list, description="What was skipped or left out, and why.")


@tool_errors
async def search(
    ctx: Context[Any, Any],
    query: Annotated[
        str, Field(description="What to look for, in words (a question or a description).", min_length=1)
    ],
    paths: Annotated[
        list[str],
        Field(
            description="Files or folders to search, inside the server's allowed folders (FW_MCP_ALLOWED_DIRS). "
            "Folders are searched through, skipping hidden and git-ignored files.",
            min_length=1,
            max_length=100,
        ),
    ],
    top_k: Annotated[int, Field(description="How many passages to return (default 5).", ge=1, le=100)] = 5,
    glob: Annotated[
        str | None,
        Field(
            description="Only files whose path matches this pattern, e.g. `*.md` or `docs/*.txt`.",
            min_length=1,
            max_length=200,
        ),
    ] = None,
) -> Annotated[CallToolResult, SearchResult]:
    """Search local text files by meaning and return the most relevant passages with their line ranges.

    Use it to find where something is described or done ("where is the retry policy?") in code,
    docs or notes, when the exact words are unknown. Files are cut into passages of about 1-2k
    characters; results read `path:start-end (score)` followed by the passage. Past the configured
    limits (files, bytes, passages) the result says what was left out.
    """
    upstream = Upstream(ctx)
    settings = upstream.settings
    if not query.strip():
        raise InvalidArgument("query", "is empty; describe what to look for.")
    if len(query) > settings.limits.max_input_chars:
        raise InvalidArgument("query", "is longer than [limits] max_input_chars; describe it in fewer words.")
    allowed = _allowed(settings)
    _check_glob(glob)
    found: Collected = await anyio.to_thread.run_sync(collect_passages, paths, allowed, glob, settings.files)
    model = settings.resolve_model(None, "embed")
    rerank_model = settings.resolve_model(None, "rerank")
    if not found.passages:
        return _result(
            query, [], found, 0, model, rerank_model, {"prompt_tokens": 0, "total_tokens": 0}, settings
        )
    wanted = max(top_k, settings.embeddings.rerank_candidates)
    # The rerank is held first, so that a call over budget is refused before its embeddings are sent.
    longest = heapq.nlargest(wanted, (p.text for p in found.passages), key=lambda t: len(t.encode()))
    hold = await upstream.reserve_rerank(rerank_model, rerank_ceiling(query, longest))
    try:
        vectors, query_vector, sent, usage = await _embed(ctx, upstream, query, found.passages, model)
        nearest = await anyio.to_thread.run_sync(_nearest, query_vector, vectors, wanted)
    except BaseException:
        await upstream.meter.release(hold)
        raise
    texts = [found.passages[i].text for i in nearest]
    ranked = await upstream.rerank(query, texts, rerank_model, top_k, hold=hold)
    usage = {k: usage[k] + getattr(ranked.usage, k) for k in usage}
    matches = [
        (found.passages[nearest[r.index]], r.relevance_score)
        for r in sorted(ranked.data, key=lambda r: -r.relevance_score)[:top_k]
    ]
    return _result(query, matches, found, sent, model, rerank_model, usage, settings)


def _allowed(settings: Settings) -> list[Path]:
    allowed = settings.allowed_dirs()
    if not allowed:
        raise InvalidArgument(
            "paths",
            f"no folder is allowed for local files. Set {ENV_ALLOWED_DIRS} in the server's environment to "
            f"the folders it may read (separated by '{os.pathsep}') and restart it.",
        )
    return allowed


def _check_glob(glob: str | None) -> None:
    try:
        if glob is not None:
            PurePath("x").match(glob)
    except ValueError:
        raise InvalidArgument(
            "glob", f"{glob!r} is not a usable pattern; write one such as `*.md`."
        ) from None


async def _embed(
    ctx: Context[Any, Any], upstream: Upstream, query: str, passages: Sequence[Passage], model: str
) -> tuple[list[Sequence[float]], list[float], int, dict[str, int]]:
    """Every passage's vector (from the cache, or embedded with the query) and the query's vector."""
    cache = runtime_of(ctx).embedding_cache
    size = upstream.settings.embeddings.search_dimensions or None
    keys = [cache_key(model, size or 0, p.text) for p in passages]
    vectors: list[Sequence[float] | None] = [cache.get(k) for k in keys]
    missing = [i for i, v in enumerate(vectors) if v is None]

    progress = Progress(ctx, len(missing) + 1, "texts embedded (the new passages and the query)")
    got = await upstream.embed(
        [query, *(passages[i].text for i in missing)],
        model,
        dimensions=size,
        normalize=True,
        progress=progress,
    )
    for i, vector in zip(missing, got.vectors[1:], strict=True):
        cache.put(keys[i], vector)
        vectors[i] = vector
    return [v for v in vectors if v is not None], got.vectors[0], len(missing), got.usage()


def _nearest(query: list[float], vectors: list[Sequence[float]], n: int) -> list[int]:
    """Indexes of the `n` vectors with the largest dot product with `query` (cosine, when normalised)."""
    return heapq.nlargest(n, range(len(vectors)), key=lambda i: sum(map(float.__mul__, query, vectors[i])))


def _result(
    query: str,
    matches: list[tuple[Passage, float]],
    found: Collected,
    sent: int,
    model: str,
    rerank_model: str,
    usage: dict[str, int],
    settings: Settings,
) -> CallToolResult:
    notes = found.notes.lines()
    payload: dict[str, Any] = {
        "matches": [
            {"path": p.path, "start_line": p.start_line, "end_line": p.end_line, "score": s, "text": p.text}
            for p, s in matches
        ],
        "searched": {"files": found.files, "passages": len(found.passages), "embedded": sent},
        "model": model,
        "rerank_model": rerank_model,
        "usage": usage,
        "notes": notes,
    }
    blocks = [f"{p.path}:{p.start_line}-{p.end_line} ({s:.3f})\n{p.text}" for p, s in matches]
    if not matches:
        blocks.append(f"No passages to search for {query!r}: no readable text files were found in `paths`.")
    account = with_cost(
        f"[model: {model.removeprefix(MODEL_PREFIX)} + {rerank_model.removeprefix(MODEL_PREFIX)} · searched "
        f"{found.files:,} files, {len(found.passages):,} passages ({sent:,} embedded, the rest from the cache) "
        f"· tokens: {usage['total_tokens']:,}]"
    )
    text, _ = cap("\n\n".join(blocks), settings.limits.max_result_chars)
    return CallToolResult(
        content=content_blocks([text, "\n".join(notes)], account), structured_content=payload
    )
