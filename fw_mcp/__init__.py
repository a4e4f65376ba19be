"""fw-mcp: an MCP server that runs Fireworks AI open models (chat, JSON, vision, function calling)."""

import sys

__all__ = ["__version__"]

REQUIRES_PYTHON = (3, 11)  # as pyproject's requires-python; this file must still parse on older ones


def python_too_old(version: tuple[int, ...]) -> str | None:
    """The message for a Python older than fw-mcp runs on (before any import fails obscurely), or None."""
    if tuple(version[:2]) >= REQUIRES_PYTHON:
        return None
    have = ".".join(str(v) for v in version[:3])
    return (
        f"fw-mcp needs Python {REQUIRES_PYTHON[0]}.{REQUIRES_PYTHON[1]} or newer; this is Python {have}. "
        "Install a newer Python (python.org, your package manager, or `uv python install 3.12`) and "
        "install fw-mcp with it, e.g. `uv tool install --python 3.12 .`."
    )


if (_too_old := python_too_old(sys.version_info[:3])) is not None:
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
