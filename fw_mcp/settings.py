"""One settings object, built once: packaged defaults, then a TOML file, then env vars, then flags.

The packaged `fw_mcp/configs/default.toml` holds every default (model names included), so code
carries no model names and the server works when installed as a wheel without the repo's `configs/`.
"""

from __future__ import annotations

import os
import tomllib
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)

from fw_mcp.errors import ConfigError, missing_key_error
from fw_mcp.registry import model_keys
from fw_mcp.spend.config import BudgetSection, FallbackSection, PriceEntry

__all__ = [
    "ModelsSection",
    "Settings",
    "config_source",
    "default_config_file",
    "exposed_dirs_line",
    "load_settings",
    "normalize_base_url",
]

ENV_API_KEY = "FIREWORKS_API_KEY"
ENV_BASE_URL = "FIREWORKS_BASE_URL"
ENV_ACCOUNT_ID = "FIREWORKS_ACCOUNT_ID"
ENV_CONFIG = "FW_MCP_CONFIG"
ENV_ALLOWED_DIRS = "FW_MCP_ALLOWED_DIRS"
ENV_AUTH_TOKEN = "FW_MCP_AUTH_TOKEN"
ENV_AUTH_TOKENS_FILE = "FW_MCP_AUTH_TOKENS_FILE"
ENV_ALLOWED_HOSTS = "FW_MCP_ALLOWED_HOSTS"
ENV_ALLOWED_ORIGINS = "FW_MCP_ALLOWED_ORIGINS"
ENV_EVENT_LOOP = "FW_MCP_EVENT_LOOP"
ENV_OUTPUT_DIR = "FW_MCP_OUTPUT_DIR"
MODEL_PREFIX = "accounts/fireworks/models/"


class _Section(BaseModel):
    # A typo in a user's TOML should fail loudly with the setting's name, not be ignored.
    model_config = ConfigDict(extra="forbid", frozen=True)


class FireworksSection(_Section):
    base_url: str = "https://api.fireworks.ai/inference/v1"
    account_id: str = ""  # control-plane paths (batch inference) need it; FIREWORKS_ACCOUNT_ID overrides
    control_base_url: str = ""  # empty: the base URL's scheme and host, then /v1/accounts/...


ModelName = Annotated[str, Field(min_length=1)]


class ModelsSection(_Section):
    """`[models]`: a default model for each key the tool registry names, and `[models.aliases]`.

    In TOML the defaults sit directly under `[models]` (`chat = "deepseek-v3p1"`); here they are
    gathered in `defaults`, so adding a tool to `fw_mcp.registry` needs no change to this class.
    """

    defaults: dict[str, ModelName]
    aliases: dict[str, ModelName] = Field(default_factory=dict)

    @model_validator(mode="before")
    @classmethod
    def _gather_defaults(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        defaults = {key: value for key, value in data.items() if key != "aliases"}
        keys = model_keys()
        if unknown := sorted(set(defaults) - set(keys)):
            raise ValueError(
                f"unknown key {', '.join(unknown)}: [models] takes {', '.join(keys)} and [models.aliases]"
            )
        if missing := [key for key in keys if key not in defaults]:
            raise ValueError(f"no default model for {', '.join(missing)}")
        return {"defaults": defaults, "aliases": data.get("aliases", {})}


class ReasoningSection(_Section):
    """Per-model reasoning rules Fireworks enforces, checked before a request is sent."""

    efforts: dict[str, list[Literal["low", "medium", "high", "none"]]] = Field(default_factory=dict)

    def efforts_for(self, model: str) -> list[str] | None:
        """The values `model` (a full id, deployment suffix allowed) takes; None: any value."""
        base = model.split("#", 1)[0]
        found = self.efforts.get(base, self.efforts.get(base.removeprefix(MODEL_PREFIX)))
        return None if found is None else list(found)


class TimeoutsSection(_Section):
    connect: float = Field(gt=0)
    read: float = Field(gt=0)
    write: float = Field(gt=0)
    total: float = Field(gt=0)


class RetriesSection(_Section):
    max_retries: int = Field(ge=0, le=10)
    max_retry_after: float = Field(ge=0)
    backoff_base: float = Field(ge=0)
    backoff_max: float = Field(ge=0)


class LimitsSection(_Section):
    max_concurrent_requests: int = Field(ge=1)
    max_input_chars: int = Field(ge=1)
    max_result_chars: int = Field(ge=1000)
    max_tools: int = Field(ge=1)
    max_images: int = Field(ge=1)
    max_image_file_bytes: int = Field(ge=1)
    max_image_payload_bytes: int = Field(ge=1)
    max_decoded_pixels: int = Field(ge=1)
    progress_interval: float = Field(ge=0)
    validation_seconds: float = Field(gt=0)
    validation_workers: int = Field(ge=0)
    validation_inline_seconds: float = Field(gt=0)
    validation_inline_chars: int = Field(ge=0)
    schema_cache_chars: int = Field(ge=0)
    max_json_depth: int = Field(ge=2, le=200)  # pydantic cannot serialise results much deeper than 250
    max_stream_bytes: int = Field(ge=1024)


class ServerSection(_Section):
    """How the process runs, whatever the transport."""

    event_loop: Literal["auto", "uvloop", "asyncio"] = "auto"


class BatchSection(_Section):
    """`[batch]`: batch inference jobs (the batch_* tools and `fw-mcp batch`)."""

    max_requests: int = Field(default=1000, ge=1)  # batch_submit's `requests` list
    max_input_bytes: int = Field(default=1_073_741_824, ge=1)  # Fireworks' limit for an input file
    poll_interval: float = Field(default=2.0, gt=0)  # seconds between status polls while waiting
    page_size: int = Field(default=50, ge=1)  # batch_results' default `limit`
    download_attempts: int = Field(default=5, ge=1)  # a dropped download resumes (Range) this often
    max_line_bytes: int = Field(default=8_388_608, ge=1024)  # one line of an input_path file
    cache_dir: str = ""  # finished jobs' checked files; empty: $XDG_CACHE_HOME/fw-mcp/batch
    cache_bytes: int = Field(default=1_073_741_824, ge=0)  # the cache's cap (0: keep nothing)


class ImagesSection(_Section):
    allowed_dirs: list[str] = Field(default_factory=list)


class FilesSection(_Section):
    """Local files: what `search` may read per call, and the one folder tools may write to."""

    output_dir: str = ""
    max_files: int = Field(ge=1)
    max_file_bytes: int = Field(ge=1)
    max_total_bytes: int = Field(ge=1)
    max_passages: int = Field(ge=1)
    max_walk_entries: int = Field(ge=1)
    passage_chars: int = Field(ge=200)


class EmbeddingsSection(_Section):
    """embed, rerank and search: request sizes, per-call limits and the passage cache."""

    batch_size: int = Field(ge=1, le=2048)
    max_texts: int = Field(ge=1)
    max_documents: int = Field(ge=1)
    search_dimensions: int = Field(ge=0)
    rerank_candidates: int = Field(ge=1)
    cache_bytes: int = Field(ge=0)


class OAuthSection(_Section):
    """OAuth resource-server mode for `--transport http`: JWT access tokens from an identity provider."""

    issuer: str = ""
    resource: str = ""
    jwks_url: str = ""
    required_scopes: list[str] = Field(default_factory=list)
    algorithms: list[str] = Field(default_factory=lambda: ["RS256"], min_length=1)

    @property
    def enabled(self) -> bool:
        return bool(self.issuer.strip() or self.resource.strip() or self.jwks_url.strip())


class HttpSection(_Section):
    """`--transport http` only: who may call /mcp, from where, and how much at once."""

    auth_token: SecretStr | None = None
    auth_tokens_file: str = ""
    allowed_hosts: list[str] = Field(default_factory=list)
    allowed_origins: list[str] = Field(default_factory=list)
    per_request_api_key: bool = False
    max_body_bytes: int = Field(ge=1024)
    max_concurrent_per_token: int = Field(ge=1)
    shutdown_grace: float = Field(ge=0)
    session_idle_timeout: float = Field(gt=0)
    max_sessions: int = Field(ge=1)
    max_sessions_per_token: int = Field(ge=1)
    request_timeout: float = Field(gt=0)
    max_pending_connections: int = Field(ge=1)
    max_connections: int = Field(ge=1)
    oauth: OAuthSection = Field(default_factory=OAuthSection)

    @field_validator("auth_token", mode="before")
    @classmethod
    def _empty_token_is_none(cls, value: Any) -> Any:
        if isinstance(value, str) and not value.strip():
            return None
        return value


class Settings(_Section):
    """Everything the server reads from its environment. Build it with `load_settings()`."""

    fireworks: FireworksSection
    models: ModelsSection
    timeouts: TimeoutsSection
    retries: RetriesSection
    limits: LimitsSection
    images: ImagesSection
    http: HttpSection
    server: ServerSection = Field(default_factory=ServerSection)
    reasoning: ReasoningSection = Field(default_factory=ReasoningSection)
    files: FilesSection
    embeddings: EmbeddingsSection
    prices: dict[str, PriceEntry] = Field(default_factory=dict)
    budget: BudgetSection = Field(default_factory=BudgetSection)
    fallback: FallbackSection = Field(default_factory=FallbackSection)
    batch: BatchSection = Field(default_factory=BatchSection)
    api_key: SecretStr | None = None
    _shared_server: bool = PrivateAttr(default=False)  # set by for_http_server(); not a setting

    @field_validator("api_key", mode="before")
    @classmethod
    def _empty_key_is_none(cls, value: Any) -> Any:
        if isinstance(value, str) and not value.strip():
            return None
        return value

    @property
    def base_url(self) -> str:
        return normalize_base_url(self.fireworks.base_url)

    def require_api_key(self) -> str:
        """The key, or a ConfigError telling the user how to set it."""
        if self.api_key is None:
            raise missing_key_error()
        return self.api_key.get_secret_value()

    def resolve_model(self, name: str | None, key: str) -> str:
        """Alias or bare name -> full model id; None -> the default of `[models] key` (a registry model key)."""
        chosen = name or self.models.defaults[key]
        chosen = self.models.aliases.get(chosen, chosen)
        return chosen if "/" in chosen else MODEL_PREFIX + chosen

    def for_http_server(self) -> Settings:
        """These settings for a server shared over HTTP: no folder is readable unless named."""
        shared = self.model_copy()
        shared._shared_server = True
        return shared

    def allowed_dirs(self) -> list[Path]:
        """Folders describe_image may read. Default: the working directory, unless that is `/`, over
        stdio; none on an HTTP server (any token holder could have its files sent upstream)."""
        raw = os.environ.get(ENV_ALLOWED_DIRS)
        dirs = [d for d in raw.split(os.pathsep) if d] if raw is not None else list(self.images.allowed_dirs)
        if raw is None and not dirs and not self._shared_server:
            cwd = Path.cwd()
            dirs = [] if cwd == Path(cwd.anchor) else [str(cwd)]
        return [Path(d).expanduser().resolve() for d in dirs]

    def output_dir(self) -> Path | None:
        """The one folder tools may write files to, or None (the default: nothing is ever written)."""
        raw = os.environ.get(ENV_OUTPUT_DIR, self.files.output_dir).strip()
        return Path(raw).expanduser().resolve() if raw else None


def exposed_dirs_line(settings: Settings) -> str:
    """For the start-up log: which folders describe_image may read local files from."""
    dirs = settings.allowed_dirs()
    if not dirs:
        return (
            f"describe_image reads no local files (name folders in {ENV_ALLOWED_DIRS} or "
            "[images] allowed_dirs to allow some)."
        )
    return "describe_image may read local files in: " + ", ".join(map(str, dirs))


def normalize_base_url(url: str) -> str:
    """Every spelling people use for the API base, as the URL fw-mcp calls.

    The host alone (`https://api.fireworks.ai`, how the official SDK reads FIREWORKS_BASE_URL) gets
    `/inference/v1`; any other path not ending in `/v1` (`.../inference`) gets `/v1`; a trailing
    slash is ignored.
    """
    url = url.strip().rstrip("/")
    _scheme, sep, rest = url.partition("://")
    if sep and "/" not in rest:
        return url + "/inference/v1"
    return url if url.endswith("/v1") else url + "/v1"


def _packaged_defaults() -> dict[str, Any]:
    text = resources.files("fw_mcp").joinpath("configs/default.toml").read_text(encoding="utf-8")
    return tomllib.loads(text)


def _read_toml(path: str) -> dict[str, Any]:
    try:
        with open(path, "rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError:
        raise ConfigError(f"Config file {path} does not exist (from --config or {ENV_CONFIG}).") from None
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"Config file {path} could not be read: {exc}. Fix the file or unset it.") from None


def _merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _http_env() -> dict[str, Any]:
    """[http] values set by env vars; lists are comma-separated (a Host or Origin has no comma)."""
    http: dict[str, Any] = {}
    if token := os.environ.get(ENV_AUTH_TOKEN, "").strip():
        http["auth_token"] = token
    if path := os.environ.get(ENV_AUTH_TOKENS_FILE, "").strip():
        http["auth_tokens_file"] = path
    for env, key in ((ENV_ALLOWED_HOSTS, "allowed_hosts"), (ENV_ALLOWED_ORIGINS, "allowed_origins")):
        if (raw := os.environ.get(env)) is not None:
            http[key] = [item.strip() for item in raw.split(",") if item.strip()]
    return {"http": http} if http else {}


def default_config_file() -> Path:
    """Where a config file is read from when neither --config nor FW_MCP_CONFIG names one:
    `$XDG_CONFIG_HOME/fw-mcp/config.toml` (`~/.config/...`; `%APPDATA%\\fw-mcp\\config.toml` on Windows)."""
    if os.name == "nt" and os.environ.get("APPDATA"):
        return Path(os.environ["APPDATA"]) / "fw-mcp" / "config.toml"
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "fw-mcp" / "config.toml"


def config_source(config_path: str | None = None) -> str | None:
    """The config file load_settings reads: --config, else FW_MCP_CONFIG, else the default file if present."""
    path = config_path or os.environ.get(ENV_CONFIG)
    if path:
        return path
    default = default_config_file()
    return str(default) if default.is_file() else None


def _unknown_setting(loc: tuple[int | str, ...]) -> str:
    """`[timeouts] totl: unknown setting; did you mean `total`?`, from pydantic's extra_forbidden loc."""
    import difflib

    model: Any = Settings
    for part in loc[:-1]:
        field = model.model_fields.get(part) if isinstance(part, str) else None
        model = field.annotation if field is not None else None
        if not (isinstance(model, type) and issubclass(model, BaseModel)):
            model = None
            break
    section = ".".join(str(p) for p in loc[:-1])
    name = f"[{section}] {loc[-1]}" if section else str(loc[-1])
    known = list(model.model_fields) if model is not None else []
    close = difflib.get_close_matches(str(loc[-1]), known, n=1, cutoff=0.6)
    if close:
        return f"{name}: unknown setting; did you mean `{close[0]}`?"
    return f"{name}: unknown setting" + (f" (known here: {', '.join(known)})" if known else "")


def load_settings(config_path: str | None = None, overrides: dict[str, Any] | None = None) -> Settings:
    """Defaults <- TOML file (--config, FW_MCP_CONFIG, or the default file) <- env vars <- `overrides`.

    Raises:
        ConfigError: the file is missing or malformed, or a value is out of range.
    """
    data = _packaged_defaults()
    path = config_source(config_path)
    if path:
        data = _merge(data, _read_toml(path))
    if base_url := os.environ.get(ENV_BASE_URL, "").strip():
        data = _merge(data, {"fireworks": {"base_url": base_url}})
    if account_id := os.environ.get(ENV_ACCOUNT_ID, "").strip():
        data = _merge(data, {"fireworks": {"account_id": account_id}})
    data = _merge(data, _http_env())
    if event_loop := os.environ.get(ENV_EVENT_LOOP, "").strip():
        data = _merge(data, {"server": {"event_loop": event_loop}})
    data["api_key"] = os.environ.get(ENV_API_KEY)
    data = _merge(data, overrides or {})
    try:
        return Settings.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(
            _unknown_setting(err["loc"])
            if err["type"] == "extra_forbidden"
            else f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}"
            for err in exc.errors(include_url=False)
        )
        where = f" in {path}" if path else ""
        raise ConfigError(
            f"Invalid configuration{where} ({problems}). Fix the config file or env vars; "
            "`fw-mcp config --example` prints every setting with its default."
        ) from None
