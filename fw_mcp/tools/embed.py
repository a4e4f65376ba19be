"""The `embed` tool: vectors for texts from a Fireworks embeddings model.

The text block never floods a host's context with floats: it says how many vectors of which size,
and the first few numbers of the first. The vectors are in `structuredContent`, and with
`output_path` also in a JSON Lines file inside the server's output folder.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Annotated, Any

import anyio.to_thread
from mcp.server.mcpserver import Context
from mcp.types import CallToolResult
from pydantic import BaseModel, Field

from fw_mcp.errors import InvalidArgument
from fw_mcp.files.output import check_writable, write_atomic
from fw_mcp.settings import Settings
from fw_mcp.tools.arguments import Model
from fw_mcp.tools.job import tool_errors
from fw_mcp.tools.results import MODEL_PREFIX, SpendOut, content_blocks
from fw_mcp.tools.vectors import Embedded, Progress, Upstream, with_cost

__all__ = ["EmbedResult", "OutputPath", "Overwrite", "TokenUsage", "embed"]

_SHOWN_VALUES = 6


class TokenUsage(BaseModel):
    prompt_tokens: int = Field(description="Tokens in the texts sent.")
    total_tokens: int = Field(description="Tokens billed.")


class EmbedResult(SpendOut):
    embeddings: list[list[float]] = Field(description="One vector per text, in input order.")
    model: str = Field(description="The Fireworks model id that embedded the texts.")
    dimensions: int = Field(description="Numbers per vector.")
    usage: TokenUsage
    output_path: str | None = Field(
        default=None, description="The JSON Lines file the vectors were written to."
    )


OutputPath = Annotated[
    str | None,
    Field(
        description="Also write the result to this file, inside the server's output folder "
        "(FW_MCP_OUTPUT_DIR; a relative path starts there). Refused when no output folder is set.",
        min_length=1,
        max_length=4096,
    ),
]
Overwrite = Annotated[bool, Field(description="Replace `output_path` if it exists (default: refuse).")]


@tool_errors
async def embed(
    ctx: Context[Any, Any],
    texts: Annotated[
        str | list[str],
        Field(description="The texts to embed: a list of non-empty strings (up to 10,000), or one string."),
    ],
    model: Model = None,
    dimensions: Annotated[
        int | None,
        Field(
            description="Numbers per vector, for models that can shorten theirs (Matryoshka). Default: the model's own.",
            ge=1,
        ),
    ] = None,
    normalize: Annotated[bool, Field(description="Scale each vector to length 1 (default true).")] = True,
    output_path: OutputPath = None,
    overwrite: Overwrite = False,
) -> Annotated[CallToolResult, EmbedResult]:
    """Turn texts into embedding vectors with a Fireworks embeddings model (default Qwen3 Embedding 8B).

    Use it to compare texts by meaning, cluster them, or build an index. Vectors come back in input
    order in the structured result; the text shows only their count and size. Large inputs are sent
    as several requests at once, with progress. To search local files, use `search` instead.
    """
    upstream = Upstream(ctx)
    settings = upstream.settings
    items = _checked_texts(texts, settings)
    if output_path is not None:
        await anyio.to_thread.run_sync(
            lambda: check_writable(
                settings.output_dir(), output_path, overwrite=overwrite, argument="output_path"
            )
        )
    resolved = settings.resolve_model(model, "embed")
    progress = Progress(ctx, len(items), "texts")
    got = await upstream.embed(items, resolved, dimensions=dimensions, normalize=normalize, progress=progress)
    written = None
    if output_path is not None:
        written = await anyio.to_thread.run_sync(
            lambda: write_atomic(
                settings.output_dir(),
                output_path,
                _jsonl(got.vectors),
                overwrite=overwrite,
                argument="output_path",
            )
        )
    return _result(got, written)


def _checked_texts(texts: str | list[str], settings: Settings) -> list[str]:
    """The texts as a list, refusing an empty one, an empty text, or more than the limits allow."""
    items = [texts] if isinstance(texts, str) else list(texts)
    limit = settings.embeddings.max_texts
    if not items:
        raise InvalidArgument("texts", "is empty; give at least one text to embed.")
    if len(items) > limit:
        raise InvalidArgument(
            "texts",
            f"{len(items):,} texts were given, more than the {limit:,} allowed per call "
            "([embeddings] max_texts); split them over several calls.",
        )
    for i, text in enumerate(items):
        if not text.strip():
            name = f"texts[{i}]" if not isinstance(texts, str) else "texts"
            raise InvalidArgument(name, "is empty; every text must contain something to embed.")
    total = sum(len(t) for t in items)
    if total > settings.limits.max_input_chars:
        raise InvalidArgument(
            "texts",
            f"the texts hold {total:,} characters, over the limit of {settings.limits.max_input_chars:,} "
            "([limits] max_input_chars); send fewer or shorter texts.",
        )
    return items


def _jsonl(vectors: list[list[float]]) -> Iterator[bytes]:
    for index, vector in enumerate(vectors):
        yield json.dumps({"index": index, "embedding": vector}, separators=(",", ":")).encode() + b"\n"


def _result(got: Embedded, written: str | None) -> CallToolResult:
    first = ", ".join(f"{v:.4f}" for v in got.vectors[0][:_SHOWN_VALUES])
    more = ", ..." if got.dimensions > _SHOWN_VALUES else ""
    n = len(got.vectors)
    lines = [
        f"{n:,} vector{'s' if n != 1 else ''} of {got.dimensions:,} numbers.",
        f"First vector: [{first}{more}]",
        "The vectors are in the structured result, in input order.",
    ]
    if written:
        lines.append(f"Written as JSON Lines ({{index, embedding}} per line) to {written}")
    payload: dict[str, Any] = {
        "embeddings": got.vectors,
        "model": got.model,
        "dimensions": got.dimensions,
        "usage": got.usage(),
    }
    if written:
        payload["output_path"] = written
    account = with_cost(
        f"[model: {got.model.removeprefix(MODEL_PREFIX)} · tokens: {got.total_tokens:,} · "
        f"{got.requests:,} request{'s' if got.requests != 1 else ''}]"
    )
    return CallToolResult(content=content_blocks(["\n".join(lines)], account), structured_content=payload)
