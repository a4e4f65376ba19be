"""The model catalogue: what `GET /models` lists, with capabilities and the configured names marked.

Shared by `fw-mcp models`, `fw-mcp doctor` and the `fireworks://models` MCP resource, so all three
say the same thing. Capability fields (`supports_tools`, ...) are optional upstream: an absent field
reads as "unknown" (None), never as "no".
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import httpx2

from fw_mcp.fireworks.client import FireworksClient, create_http_client
from fw_mcp.registry import TOOLS, Capability
from fw_mcp.settings import Settings

__all__ = ["Catalogue", "ModelEntry", "build_catalogue", "fetch_catalogue", "list_models"]

MODEL_PREFIX = "accounts/fireworks/models/"


async def list_models(
    http: httpx2.AsyncClient, settings: Settings, *, api_key: str | None = None
) -> list[dict[str, Any]]:
    """The account's models over `http` (see `FireworksClient.list_models`)."""
    return await FireworksClient(settings, http).list_models(api_key=api_key)


async def fetch_catalogue(settings: Settings, http: httpx2.AsyncClient | None = None) -> Catalogue:
    """The catalogue over `http`, or over a client made for this one request when none is given.

    Raises:
        ConfigError, FireworksHTTPError, FireworksTransportError: as `list_models`.
    """
    if http is not None:
        return build_catalogue(await list_models(http, settings), settings)
    async with create_http_client(settings) as own:
        return build_catalogue(await list_models(own, settings), settings)


@dataclass(frozen=True)
class ModelEntry:
    """One model, with the configured names that point at it."""

    id: str
    name: str
    text: bool | None
    tools: bool | None
    vision: bool | None
    context_length: int | None
    aliases: list[str] = field(default_factory=list)
    default_for: list[str] = field(default_factory=list)

    def supports(self, capability: Capability) -> bool | None:
        """Whether the model can do what a tool needs; None when Fireworks' list does not say."""
        if capability is Capability.TEXT:
            return self.text
        if capability is Capability.TOOLS:
            return self.tools
        if capability is Capability.VISION:
            return self.vision
        return None  # the model list has no flag for embeddings or rerank


@dataclass(frozen=True)
class Catalogue:
    """The listed models, and the configured models the list does not have."""

    models: list[ModelEntry]
    defaults: dict[str, str]
    aliases: dict[str, str]
    not_listed: list[str]

    def find(self, model_id: str) -> ModelEntry | None:
        base = _base_id(model_id)
        return next((m for m in self.models if m.id == base), None)

    def as_json(self) -> dict[str, Any]:
        return {
            "models": [asdict(m) for m in self.models],
            "defaults": self.defaults,
            "aliases": self.aliases,
            "not_listed": self.not_listed,
        }


def build_catalogue(raw: list[dict[str, Any]], settings: Settings) -> Catalogue:
    """Raw `/models` entries -> a sorted catalogue, marking each tool's default and the aliases."""
    defaults = {t.name: settings.resolve_model(None, t.model_key) for t in TOOLS if t.model_key is not None}
    aliases = {alias: settings.resolve_model(alias, "chat") for alias in settings.models.aliases}
    models = sorted((_entry(m, defaults, aliases) for m in raw), key=lambda m: m.name)
    listed = {m.id for m in models}
    configured = [*defaults.values(), *aliases.values()]
    not_listed = sorted({_base_id(i) for i in configured if _base_id(i) not in listed})
    return Catalogue(models=models, defaults=defaults, aliases=aliases, not_listed=not_listed)


def _entry(raw: dict[str, Any], defaults: dict[str, str], aliases: dict[str, str]) -> ModelEntry:
    model_id = raw["id"]
    return ModelEntry(
        id=model_id,
        name=model_id.removeprefix(MODEL_PREFIX),
        text=_flag(raw, "supports_chat"),
        tools=_flag(raw, "supports_tools"),
        vision=_flag(raw, "supports_image_input"),
        context_length=raw["context_length"] if isinstance(raw.get("context_length"), int) else None,
        aliases=sorted(a for a, target in aliases.items() if _base_id(target) == model_id),
        default_for=[t for t, target in defaults.items() if _base_id(target) == model_id],
    )


def _flag(raw: dict[str, Any], name: str) -> bool | None:
    value = raw.get(name)
    return value if isinstance(value, bool) else None


def _base_id(model_id: str) -> str:
    """A deployment (`model#deployment`) is listed under its model."""
    return model_id.split("#", 1)[0]
