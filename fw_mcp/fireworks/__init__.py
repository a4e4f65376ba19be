"""The Fireworks client: one retrying core under every endpoint, the wire format, typed events.

Knows nothing of MCP. Tools build a request model from `fw_mcp.fireworks.wire` and call a method of
`FireworksClient`; what happens on the way (retries, waiting for a slot, first output) comes back
as events from `fw_mcp.fireworks.events`.
"""

from fw_mcp.fireworks.client import CallOptions, FireworksClient, create_http_client
from fw_mcp.fireworks.events import ClientEvent, EventHook, FirstOutput, Retrying, WaitingForSlot
from fw_mcp.fireworks.stream import Completion, StreamAccumulator, ToolCall, Usage

__all__ = [
    "CallOptions",
    "ClientEvent",
    "Completion",
    "EventHook",
    "FireworksClient",
    "FirstOutput",
    "Retrying",
    "StreamAccumulator",
    "ToolCall",
    "Usage",
    "WaitingForSlot",
    "create_http_client",
]
