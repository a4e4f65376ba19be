"""The MCP tools: one module each, validating arguments and shaping results. No HTTP here.

Which tools exist is declared in `fw_mcp.registry`; `TOOLS` is that table's functions, loaded.
"""

from collections.abc import Callable
from typing import Any

from fw_mcp.registry import TOOLS as _REGISTRY

TOOLS: dict[str, Callable[..., Any]] = {spec.name: spec.load() for spec in _REGISTRY}

__all__ = ["TOOLS"]
