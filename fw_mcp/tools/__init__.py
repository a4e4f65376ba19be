"""The MCP tools: one module each, validating arguments and shaping results. No HTTP here.

Which tools exist is declared in `fw_mcp.registry`; `TOOLS` is that table's functions, loaded when
first read (importing this package imports no tool: the server loads each one on first use).
"""

from collections.abc import Callable
from typing import Any

__all__ = ["TOOLS"]

TOOLS: dict[str, Callable[..., Any]]


def __getattr__(name: str) -> Any:
    """`TOOLS`, made on first access: importing every tool module is not free (start-up is benchmarked)."""
    if name != "TOOLS":
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from fw_mcp.registry import TOOLS as REGISTRY

    tools = {spec.name: spec.load() for spec in REGISTRY}
    globals()["TOOLS"] = tools
    return tools
