"""What every wire model shares: requests refuse unknown fields, responses accept new ones.

Fireworks answers an unknown body field with 400 ("Extra inputs are not permitted"), so a request
model that forbids extras catches a misspelt field here, before anything is sent. Responses are the
other way round: Fireworks adds fields over time, and a new one must not break a call.
"""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict
from pydantic.alias_generators import to_camel

__all__ = ["ControlPlaneRequest", "WireRequest", "WireResponse"]


class WireRequest(BaseModel):
    """A request body. `wire()` is the JSON sent: fields left unset (None) are not sent at all, so
    Fireworks applies the model's own defaults for them."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    def wire(self) -> dict[str, Any]:
        return self.model_dump(mode="json", exclude_none=True, by_alias=True)


class ControlPlaneRequest(WireRequest):
    """A control-plane body (`/v1/accounts/...`): the same rules, in the API's camelCase."""

    model_config = ConfigDict(alias_generator=to_camel)


class WireResponse(BaseModel):
    """A response body: known fields typed, unknown ones kept (not refused)."""

    model_config = ConfigDict(extra="allow")
    described: ClassVar[str] = "JSON answer"  # what an error says was expected instead
