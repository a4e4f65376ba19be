"""`POST /embeddings`: one or many texts in, one vector per text out."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field

from fw_mcp.fireworks.wire.base import WireRequest, WireResponse

__all__ = ["Embedding", "EmbeddingsRequest", "EmbeddingsResponse", "EmbeddingsUsage"]


class EmbeddingsRequest(WireRequest):
    model: str
    input: str | list[str] = Field(min_length=1)
    dimensions: int | None = Field(default=None, ge=1)
    normalize: bool | None = None
    prompt_template: str | None = None
    return_logits: list[int] | None = None


class Embedding(WireResponse):
    index: int
    embedding: list[float]
    object: str = "embedding"


class EmbeddingsUsage(WireResponse):
    prompt_tokens: int = 0
    total_tokens: int = 0


class EmbeddingsResponse(WireResponse):
    described: ClassVar[str] = "JSON embeddings list"

    data: list[Embedding]
    model: str = ""
    usage: EmbeddingsUsage = Field(default_factory=EmbeddingsUsage)
    object: str = "list"
