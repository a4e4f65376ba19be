"""Settings: loading order, normalisation, model ids, packaged defaults."""

from __future__ import annotations

from pathlib import Path

import pytest

from fw_mcp.errors import ConfigError
from fw_mcp.settings import load_settings, normalize_base_url

ROOT = Path(__file__).resolve().parents[1]


def test_packaged_defaults_match_the_repo_config() -> None:
    packaged = (ROOT / "fw_mcp" / "configs" / "default.toml").read_text()
    assert packaged == (ROOT / "configs" / "default.toml").read_text()


def test_default_models_per_tool() -> None:
    s = load_settings()
    assert s.resolve_model(None, "chat") == "accounts/fireworks/models/deepseek-v3p1"
    assert s.resolve_model(None, "extract_json") == "accounts/fireworks/models/deepseek-v3p1"
    assert s.resolve_model(None, "call_with_tools") == "accounts/fireworks/models/kimi-k2-instruct-0905"
    assert s.resolve_model(None, "describe_image") == "accounts/fireworks/models/qwen2p5-vl-32b-instruct"


def test_bare_names_aliases_and_full_ids() -> None:
    s = load_settings()
    assert s.resolve_model("glm-4p6", "chat") == "accounts/fireworks/models/glm-4p6"
    assert s.resolve_model("kimi", "chat") == "accounts/fireworks/models/kimi-k2-instruct-0905"
    assert s.resolve_model("accounts/me/models/x#dep", "chat") == "accounts/me/models/x#dep"


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("https://api.fireworks.ai/inference/v1", "https://api.fireworks.ai/inference/v1"),
        ("https://api.fireworks.ai/inference", "https://api.fireworks.ai/inference/v1"),
        ("https://api.fireworks.ai/inference/", "https://api.fireworks.ai/inference/v1"),
        ("http://127.0.0.1:9/inference/v1/", "http://127.0.0.1:9/inference/v1"),
        ("https://api.fireworks.ai", "https://api.fireworks.ai/inference/v1"),  # as the official SDK reads it
        ("https://api.fireworks.ai/", "https://api.fireworks.ai/inference/v1"),
        ("http://127.0.0.1:8800", "http://127.0.0.1:8800/inference/v1"),
        (" https://gateway.example/fireworks/v1 ", "https://gateway.example/fireworks/v1"),
    ],
)
def test_base_url_gets_v1(given: str, expected: str) -> None:
    assert normalize_base_url(given) == expected


def test_env_overrides_file_overrides_defaults(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "fw.toml"
    config.write_text('[fireworks]\nbase_url = "http://file/inference"\n[models]\nchat = "glm-4p6"\n')
    monkeypatch.setenv("FW_MCP_CONFIG", str(config))
    s = load_settings()
    assert s.base_url == "http://file/inference/v1"
    assert s.resolve_model(None, "chat") == "accounts/fireworks/models/glm-4p6"
    monkeypatch.setenv("FIREWORKS_BASE_URL", "http://env/inference")
    assert load_settings().base_url == "http://env/inference/v1"


def test_empty_key_means_no_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FIREWORKS_API_KEY", "  ")
    with pytest.raises(ConfigError, match="FIREWORKS_API_KEY"):
        load_settings().require_api_key()


def test_config_typos_and_bad_values_name_the_setting(tmp_path: Path) -> None:
    typo = tmp_path / "typo.toml"
    typo.write_text("[limits]\nmax_result_charz = 5\n")
    with pytest.raises(
        ConfigError, match=r"\[limits\] max_result_charz: unknown setting; did you mean `max_result_chars`"
    ):
        load_settings(str(typo))
    bad = tmp_path / "bad.toml"
    bad.write_text("[timeouts]\ntotal = -1\n")
    with pytest.raises(ConfigError, match=r"timeouts\.total"):
        load_settings(str(bad))


def test_missing_or_malformed_config_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_settings(str(tmp_path / "nope.toml"))
    broken = tmp_path / "broken.toml"
    broken.write_text("[limits\n")
    with pytest.raises(ConfigError, match="could not be read"):
        load_settings(str(broken))


def test_allowed_dirs_default_to_cwd_but_not_root(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    assert load_settings().allowed_dirs() == [tmp_path.resolve()]
    monkeypatch.chdir("/")
    assert load_settings().allowed_dirs() == []
    monkeypatch.setenv("FW_MCP_ALLOWED_DIRS", f"{tmp_path}{__import__('os').pathsep}/srv")
    assert load_settings().allowed_dirs() == [tmp_path.resolve(), Path("/srv").resolve()]
