"""The MCP tools: one module each, validating arguments and shaping results. No HTTP here."""

from collections.abc import Callable
from typing import Any

from fw_mcp.tools.call_with_tools import call_with_tools
from fw_mcp.tools.chat import chat
from fw_mcp.tools.describe_image import describe_image
from fw_mcp.tools.extract_json import extract_json

TOOLS: dict[str, Callable[..., Any]] = {
    "chat": chat,
    "extract_json": extract_json,
    "describe_image": describe_image,
    "call_with_tools": call_with_tools,
}

__all__ = ["TOOLS"]
