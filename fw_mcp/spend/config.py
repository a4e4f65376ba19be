"""The settings sections for spend: `[prices]`, `[budget]`, `[fallback]`.

Kept apart from the code that uses them (SQLite, Redis, OpenTelemetry), so loading settings imports
nothing but pydantic.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

__all__ = ["BudgetSection", "FallbackSection", "Limits", "PriceEntry"]

_AS_OF = re.compile(r"^\d{4}-\d{2}(-\d{2})?$")


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class PriceEntry(_Section):
    """USD per million tokens, and when they were read (prices change; every figure is an estimate)."""

    input: float = Field(ge=0)
    output: float = Field(ge=0)
    cached_input: float | None = Field(default=None, ge=0)
    as_of: str

    @field_validator("as_of")
    @classmethod
    def _date(cls, value: str) -> str:
        if not _AS_OF.match(value.strip()):
            raise ValueError("as_of must be the date the prices were read, YYYY-MM or YYYY-MM-DD")
        return value.strip()

    @property
    def cached_rate(self) -> float:
        """Fireworks bills cached prompt tokens at half the input price unless the model lists a rate."""
        return self.input / 2 if self.cached_input is None else self.cached_input


class Limits(_Section):
    """Spend limits in USD; 0 means no limit."""

    daily_usd: float = Field(default=0, ge=0)
    monthly_usd: float = Field(default=0, ge=0)

    @property
    def any(self) -> bool:
        return self.daily_usd > 0 or self.monthly_usd > 0


class BudgetSection(Limits):
    """Where spend is counted, and the limits for the whole server and for each user (over HTTP)."""

    store: str = ""
    on_store_error: Literal["refuse", "allow"] = "refuse"
    image_tokens: int = Field(default=2500, ge=0)
    user_default: Limits = Field(default_factory=Limits)
    users: dict[str, Limits] = Field(default_factory=dict)

    @field_validator("store")
    @classmethod
    def _store(cls, value: str) -> str:
        value = value.strip()
        if value.startswith(("redis://", "rediss://", "unix://")) or value in ("", "off"):
            return value
        if "://" in value and not value.startswith("sqlite://"):
            raise ValueError(
                'store must be "" (SQLite in the state folder), a file path, sqlite:///path, '
                'redis://host:port/db, or "off"'
            )
        return value

    @property
    def has_limits(self) -> bool:
        return self.any or self.user_default.any or any(u.any for u in self.users.values())

    def user_limits(self, user: str) -> Limits:
        return self.users.get(user, self.user_default)


class FallbackSection(_Section):
    """`[fallback]`: per tool of the registry, models tried in order when the chosen one is not deployed
    or is shedding load. In TOML they sit directly under `[fallback]` (`chat = ["gpt-oss-120b"]`)."""

    tools: dict[str, list[Annotated[str, Field(min_length=1)]]] = Field(default_factory=dict)

    @model_validator(mode="before")
    @classmethod
    def _gather(cls, data: Any) -> Any:
        if not isinstance(data, dict) or set(data) == {"tools"}:
            return data
        from fw_mcp.registry import TOOLS  # plain data: no tool module is imported

        names = [t.name for t in TOOLS]
        if unknown := sorted(set(data) - set(names)):
            raise ValueError(f"unknown tool {', '.join(unknown)}: [fallback] takes {', '.join(names)}")
        return {"tools": data}

    def models_for(self, tool: str) -> list[str]:
        return list(self.tools.get(tool, []))
