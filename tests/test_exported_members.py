"""The public surface of each fw_mcp package, pinned (as httpx's tests/test_exported_members.py does).

A name added to or dropped from a package's `__all__` fails here until this list says so: changing
what other code may import is a decision, not a side effect.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from types import ModuleType

import pytest

import fw_mcp

PUBLIC: dict[str, list[str]] = {
    "fw_mcp": ["__version__"],
    "fw_mcp.fireworks": [
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
    ],
    "fw_mcp.fireworks.wire": [
        "AssistantMessage",
        "ChatMessage",
        "ChatRequest",
        "ControlPlaneRequest",
        "Embedding",
        "EmbeddingsRequest",
        "EmbeddingsResponse",
        "FunctionCall",
        "FunctionDefinition",
        "ImagePart",
        "ImageURL",
        "JsonSchemaFormat",
        "JsonSchemaSpec",
        "ModelCard",
        "ModelList",
        "NamedToolChoice",
        "RerankRequest",
        "RerankResponse",
        "RerankResult",
        "ResponseFormat",
        "SystemMessage",
        "TextPart",
        "ToolCallOut",
        "ToolChoice",
        "ToolDefinition",
        "ToolMessage",
        "UserMessage",
        "WireRequest",
        "WireResponse",
    ],
    "fw_mcp.tools": ["TOOLS"],
    "fw_mcp.validation": [],
    # Imports nothing on purpose: serving over stdio must not load the HTTP stack (see its docstring).
    "fw_mcp.http": [],
    "fw_mcp.simulator": ["Simulator", "SimulatorServer", "create_app"],
    "fw_mcp.hosts": [
        "HOSTS",
        "KEY_INPUT",
        "Host",
        "Launch",
        "default_config_path",
        "desired_entry",
        "launch_command",
    ],
    "fw_mcp.commands": ["COMMANDS"],
    # Its modules (sandbox, walk, passages, cache, output...) are imported by name.
    "fw_mcp.files": [],
    # Imports nothing on purpose: settings read fw_mcp.spend.config without loading SQLite or Redis.
    "fw_mcp.spend": [],
    "fw_mcp.registry": [
        "TOOLS",
        "Capability",
        "Effect",
        "ToolSpec",
        "get_tool",
        "instructions",
        "model_keys",
        "streamed_tools",
    ],
}


def _modules() -> list[str]:
    """Every fw_mcp module except the `__main__`s (importing those runs them)."""
    found = pkgutil.walk_packages(fw_mcp.__path__, prefix="fw_mcp.")
    return ["fw_mcp", *sorted(m.name for m in found if not m.name.endswith("__main__"))]


@pytest.mark.parametrize("name", sorted(PUBLIC))
def test_each_package_exports_exactly_its_pinned_names(name: str) -> None:
    module = importlib.import_module(name)
    assert sorted(getattr(module, "__all__", [])) == sorted(PUBLIC[name])


@pytest.mark.parametrize("name", sorted(PUBLIC))
def test_a_package_exports_every_fw_mcp_class_or_function_it_holds(name: str) -> None:
    """What a package imports for its users is in `__all__`; its submodules and helpers are not."""
    module = importlib.import_module(name)
    held = sorted(
        attr
        for attr, value in vars(module).items()
        if not attr.startswith("_")
        and (inspect.isclass(value) or inspect.isfunction(value))
        and value.__module__.startswith("fw_mcp")
    )
    assert sorted(set(held) - set(getattr(module, "__all__", []))) == []


@pytest.mark.parametrize("name", _modules())
def test_every_exported_name_exists(name: str) -> None:
    module = importlib.import_module(name)
    exported = getattr(module, "__all__", [])
    assert len(exported) == len(set(exported)), f"{name}.__all__ repeats a name"
    missing = [attr for attr in exported if not _has(module, attr)]
    assert missing == [], f"{name}.__all__ names what it does not define: {missing}"


def _has(module: ModuleType, attr: str) -> bool:
    try:
        getattr(module, attr)
    except AttributeError:
        return False
    return True
