"""The `fireworks://models` MCP resource: the model catalogue as JSON, for hosts that show resources.

The same JSON as `fw-mcp models --json`: each model with text/tools/vision marked, plus the
configured defaults and aliases, so a host's model can pick a `model` argument that exists.
"""

from __future__ import annotations

import json

import httpx2
from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ResourceError
from mcp.server.mcpserver.resources import FunctionResource

from fw_mcp.errors import FwMcpError
from fw_mcp.settings import Settings

__all__ = ["MODELS_URI", "USAGE_URI", "register_resources"]

MODELS_URI = "fireworks://models"
USAGE_URI = "fireworks://usage"


def register_resources(server: MCPServer, settings: Settings, http: httpx2.AsyncClient | None = None) -> None:
    """Add `fireworks://models`. It reads over `http` when given, else over a client made per read.

    (A static resource gets no request context in the MCP SDK, so it cannot reach the lifespan's
    client; reads are rare, on a person's request, so a short-lived client costs little.)
    """

    async def read_models() -> str:
        from fw_mcp.catalogue import fetch_catalogue  # on the first read, not when the server starts

        try:
            catalogue = await fetch_catalogue(settings, http)
        except FwMcpError as exc:
            raise ResourceError(f"Could not list Fireworks models: {exc}") from None
        return json.dumps(catalogue.as_json(), indent=2)

    server.add_resource(
        FunctionResource.from_function(
            read_models,
            uri=MODELS_URI,
            name="models",
            title="Fireworks models",
            description="The models this server's Fireworks key can use, which suit text, tools (function "
            "calling) and vision, and the configured default per tool and aliases. Use a listed name or "
            "alias as the `model` argument of fw-mcp's tools.",
            mime_type="application/json",
        )
    )

    async def read_usage() -> str:
        from fw_mcp.spend.usage import read_usage as report  # on the first read, not when the server starts

        try:
            data = await report(settings, with_users=False)  # any caller may read it: no user names
        except FwMcpError as exc:
            raise ResourceError(f"Could not read usage: {exc}") from None
        return json.dumps(data, indent=2)

    server.add_resource(
        FunctionResource.from_function(
            read_usage,
            uri=USAGE_URI,
            name="usage",
            title="Fireworks usage and spend",
            description="This server's calls, tokens, cached tokens and estimated cost over the last 31 days "
            "per model, the budget left (daily/monthly), and the Fireworks rate limits seen last. Costs are "
            "estimates from the configured price table.",
            mime_type="application/json",
        )
    )
