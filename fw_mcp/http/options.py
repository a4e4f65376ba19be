"""How `fw-mcp --transport http` was launched, in a form worker processes can rebuild.

uvicorn starts each of `--workers N` processes fresh (spawn) and can only hand them an import
string, so everything the parent resolved travels in one environment variable as JSON. It never
carries a secret: keys and tokens reach workers through their own env vars and files.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from typing import Any

from fw_mcp.errors import ConfigError

__all__ = ["LAUNCH_ENV", "HttpOptions", "Launch"]

LAUNCH_ENV = "FW_MCP_HTTP_LAUNCH"


@dataclass(frozen=True)
class HttpOptions:
    """Command-line choices for the HTTP transport (settings from files and env live in `Settings`)."""

    host: str = "127.0.0.1"
    port: int = 8000
    stateless: bool = False
    workers: int = 1
    insecure_no_auth: bool = False
    simulated: bool = False

    @property
    def stateless_http(self) -> bool:
        """Several workers share nothing, so a session opened on one would be unknown to the others."""
        return self.stateless or self.workers > 1


@dataclass(frozen=True)
class Launch:
    """Options plus what rebuilds the same `Settings` in another process."""

    options: HttpOptions
    config_path: str | None = None
    overrides: dict[str, Any] = field(default_factory=dict)

    def to_env(self) -> str:
        return json.dumps({**asdict(self), "options": asdict(self.options)})

    @classmethod
    def from_env(cls) -> Launch:
        raw = os.environ.get(LAUNCH_ENV)
        if not raw:
            raise ConfigError(
                f"{LAUNCH_ENV} is not set. fw_mcp.http.app:create_app_from_env is the worker entry of "
                "`fw-mcp --transport http --workers N`; start the server with that command instead."
            )
        data = json.loads(raw)
        return cls(
            options=HttpOptions(**data["options"]),
            config_path=data.get("config_path"),
            overrides=data.get("overrides") or {},
        )
