"""`POST /rerank`: documents scored against a query, best first."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field

from fw_mcp.fireworks.wire.base import WireRequest, WireResponse

__all__ = ["RerankRequest", "RerankResponse", "RerankResult", "RerankUsage"]


class RerankRequest(WireRequest):
    model: str
    query: str
    documents: list[str] = Field(min_length=1)
    top_n: int | None = Field(default=None, ge=1)
    return_documents: bool | None = None
    task: str | None = None


class RerankResult(WireResponse):
    index: int
    relevance_score: float
    document: str | None = None


class RerankUsage(WireResponse):
    prompt_tokens: int = 0
    total_tokens: int = 0


class RerankResponse(WireResponse):
    described: ClassVar[str] = "JSON rerank list"

    data: list[RerankResult]
    model: str = ""
    usage: RerankUsage = Field(default_factory=RerankUsage)
    object: str = "list"
