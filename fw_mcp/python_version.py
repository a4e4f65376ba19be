"""Refuse a Python older than fw-mcp supports with a sentence, before any import fails obscurely.

This module (and `fw_mcp/__init__.py`, which runs it first) must still parse on old Pythons.
"""

from __future__ import annotations

__all__ = ["REQUIRES_PYTHON", "python_too_old"]

REQUIRES_PYTHON = (3, 11)  # as pyproject's requires-python


def python_too_old(version: tuple[int, ...]) -> str | None:
    """The message for a Python older than fw-mcp runs on, or None."""
    if tuple(version[:2]) >= REQUIRES_PYTHON:
        return None
    have = ".".join(str(v) for v in version[:3])
    return (
        f"fw-mcp needs Python {REQUIRES_PYTHON[0]}.{REQUIRES_PYTHON[1]} or newer; this is Python {have}. "
        "Install a newer Python (python.org, your package manager, or `uv python install 3.12`) and "
        "install fw-mcp with it, e.g. `uv tool install --python 3.12 .`."
    )
