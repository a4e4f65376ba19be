"""fw-mcp: an MCP server that runs Fireworks AI open models (chat, JSON, vision, function calling)."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("fw-mcp")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0"

__all__ = ["__version__"]
