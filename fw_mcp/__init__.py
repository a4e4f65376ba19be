"""fw-mcp: an MCP server that runs Fireworks AI open models (chat, JSON, vision, function calling)."""

import sys

__all__ = ["__version__"]

from fw_mcp.python_version import python_too_old as _python_too_old

if (_too_old := _python_too_old(sys.version_info[:3])) is not None:
    raise SystemExit(_too_old)


def __getattr__(name: str) -> str:
    """`__version__`, read from the installed package's metadata when first asked for, then kept.

    Lazily, so that importing any part of fw_mcp does not look the distribution up: `fw-mcp --help`
    and most commands never need it (serving does, for serverInfo and the user-agent).
    """
    if name != "__version__":
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from importlib.metadata import PackageNotFoundError, version

    try:
        value = version("fw-mcp")
    except PackageNotFoundError:  # running from a source tree that was never installed
        value = "0.0.0"
    globals()["__version__"] = value
    return value
