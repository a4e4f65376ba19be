"""`GET /models`: the account's model list (OpenAI-style; not formally documented upstream)."""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import field_validator

from fw_mcp.fireworks.wire.base import WireResponse

__all__ = ["ModelCard", "ModelList"]


class ModelCard(WireResponse):
    """One listed model. Capability fields are optional upstream; new ones are kept as extras."""

    id: str
    supports_chat: bool | None = None
    supports_tools: bool | None = None
    supports_image_input: bool | None = None
    context_length: int | None = None


class ModelList(WireResponse):
    described: ClassVar[str] = "JSON model list"

    data: list[ModelCard]

    @field_validator("data", mode="before")
    @classmethod
    def _skip_unusable(cls, value: Any) -> Any:
        """An entry without a string id cannot be named in a call: leave it out, keep the rest."""
        if value is None:
            return []
        if isinstance(value, list):
            return [m for m in value if isinstance(m, dict) and isinstance(m.get("id"), str)]
        return value
