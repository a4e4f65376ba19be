"""The tool registry is the one list of tools: the server, settings, doctor and the CLI all follow it."""

from __future__ import annotations

import inspect
import json
import subprocess
import sys
import tomllib
from pathlib import Path

import mcp
import pytest
from pydantic import ValidationError

from fw_mcp.catalogue import build_catalogue
from fw_mcp.commands._checks import Status, check_models
from fw_mcp.errors import ConfigError
from fw_mcp.registry import TOOLS, Capability, get_tool, instructions, model_keys, streamed_tools
from fw_mcp.server import build_server
from fw_mcp.settings import ModelsSection, Settings, load_settings
from tests.conftest import make_settings

ROOT = Path(__file__).resolve().parents[1]


def test_every_tool_loads_as_an_async_function_under_a_unique_name() -> None:
    assert len({t.name for t in TOOLS}) == len(TOOLS)
    for spec in TOOLS:
        fn = spec.load()
        assert inspect.iscoroutinefunction(inspect.unwrap(fn)), spec.function
        assert fn.__name__ == spec.name and fn.__doc__, spec.function
        assert get_tool(spec.name) is spec
    with pytest.raises(KeyError):
        get_tool("no_such_tool")


def test_the_default_config_has_a_model_for_exactly_the_registry_keys() -> None:
    for path in ("configs/default.toml", "fw_mcp/configs/default.toml"):
        models = tomllib.loads((ROOT / path).read_text(encoding="utf-8"))["models"]
        assert sorted(k for k in models if k != "aliases") == sorted(model_keys()), path
    example = tomllib.loads((ROOT / "configs/fw-mcp.example.toml").read_text(encoding="utf-8"))
    assert set(model_keys()) <= set(example["models"]), "document each [models] key in the example"


def test_a_models_key_no_tool_uses_is_refused_with_the_keys_it_takes(tmp_path: Path) -> None:
    config = tmp_path / "fw.toml"
    config.write_text('[models]\nchta = "glm-4p6"\n')
    with pytest.raises(ConfigError) as caught:
        load_settings(str(config))
    assert "chta" in str(caught.value) and all(key in str(caught.value) for key in model_keys())


def test_a_registry_key_without_a_default_model_is_refused() -> None:
    with pytest.raises(ValidationError, match="no default model for extract_json"):
        ModelsSection.model_validate({key: "m" for key in model_keys() if key != "extract_json"})
    with pytest.raises(ValidationError):
        ModelsSection.model_validate({key: "" for key in model_keys()})


def test_each_tool_resolves_its_own_default_model(tmp_path: Path) -> None:
    config = tmp_path / "fw.toml"
    config.write_text("[models]\n" + "".join(f'{key} = "model-for-{key}"\n' for key in model_keys()))
    settings = load_settings(str(config))
    for spec in TOOLS:
        if spec.model_key is not None:  # None: the tool calls no model
            assert settings.resolve_model(None, spec.model_key).endswith(f"/model-for-{spec.model_key}")


async def test_the_server_lists_the_registry_in_order_and_its_instructions_name_each_tool(
    settings: Settings,
) -> None:
    async with mcp.Client(build_server(settings)) as client:
        listed = [t.name for t in (await client.list_tools()).tools]
        said = client.instructions or ""
    assert listed == [t.name for t in TOOLS]
    assert said == instructions()
    assert all(f"`{t.name}`: {t.summary}" in said for t in TOOLS)


def test_only_answer_tools_stream_to_the_cli() -> None:
    assert streamed_tools() == {"chat", "describe_image"}


def test_doctor_fails_a_default_model_that_lacks_the_tool_capability() -> None:
    settings = make_settings("http://127.0.0.1:9/inference/v1")
    raw = [
        {"id": settings.resolve_model(None, t.model_key), "supports_chat": True, "supports_tools": True}
        for t in TOOLS
        if t.model_key is not None
    ]
    # Every default is listed; only the vision tool's model says it takes no images.
    vision = next(t for t in TOOLS if t.capability is Capability.VISION)
    for entry in raw:
        if entry["id"] == settings.resolve_model(None, vision.model_key):
            entry["supports_image_input"] = False
    checks = {c.name: c for c in check_models(settings, build_catalogue(raw, settings))}
    assert checks[f"model {vision.name}"].status is Status.FAIL
    assert "does not take images" in checks[f"model {vision.name}"].detail
    assert f"[models] {vision.model_key}" in checks[f"model {vision.name}"].fix
    others = [t for t in TOOLS if t.model_key not in (vision.model_key, None)]
    assert all(checks[f"model {t.name}"].status is Status.PASS for t in others)


def test_settings_and_the_registry_import_neither_the_mcp_sdk_nor_a_tool() -> None:
    code = (
        "import json, sys, fw_mcp.settings, fw_mcp.registry, fw_mcp.cli; "
        "print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] == 'mcp' "
        "or m.startswith('fw_mcp.tools'))))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert json.loads(done.stdout) == []


def test_doctor_warns_when_embedding_and_rerank_defaults_are_unlisted_but_fails_a_missing_chat_model() -> (
    None
):
    """`GET /models` may list only chat models: an unlisted embedder is a warning with a probe to run."""
    settings = make_settings("http://127.0.0.1:9/inference/v1")
    unlisted = {Capability.EMBEDDINGS, Capability.RERANK, Capability.TEXT}
    raw = [
        {"id": settings.resolve_model(None, t.model_key), "supports_chat": True, "supports_tools": True}
        for t in TOOLS
        if t.model_key is not None and t.capability not in unlisted
    ]
    checks = {c.name: c for c in check_models(settings, build_catalogue(raw, settings))}
    for tool in (t for t in TOOLS if t.capability in (Capability.EMBEDDINGS, Capability.RERANK)):
        check = checks[f"model {tool.name}"]
        assert check.status is Status.WARN, check
        probe = "embed --arg texts=" if tool.capability is Capability.EMBEDDINGS else "rerank --arg query="
        assert f"`fw-mcp call {probe}" in check.fix and f"[models] {tool.model_key}" in check.fix
    chat = next(t for t in TOOLS if t.capability is Capability.TEXT and t.model_key is not None)
    assert checks[f"model {chat.name}"].status is Status.FAIL
