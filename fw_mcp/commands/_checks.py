"""The checks behind `fw-mcp doctor`, each a pure function of what it inspects, returning `Check`s.

One authenticated `GET /models` answers three questions at once (is the base URL reachable, is the
key accepted, are the default models there); a network failure makes the key "not checked", never
"refused".
"""

from __future__ import annotations

import ipaddress
import os
from dataclasses import dataclass
from enum import StrEnum
from urllib.parse import urlsplit

from fw_mcp.catalogue import Catalogue
from fw_mcp.commands._common import key_problem, mask_key
from fw_mcp.errors import ConfigError, FireworksError, FireworksHTTPError, FireworksTransportError
from fw_mcp.registry import TOOLS, Capability, ToolSpec
from fw_mcp.settings import ENV_ALLOWED_DIRS, ENV_API_KEY, ENV_BASE_URL, ENV_CONFIG, Settings

__all__ = [
    "Check",
    "Status",
    "check_allowed_dirs",
    "check_base_url",
    "check_config",
    "check_key_present",
    "check_models",
    "check_upstream",
]

KEYS_PAGE = "https://fireworks.ai/account/api-keys"
DEFAULT_BASE = "https://api.fireworks.ai/inference/v1"


class Status(StrEnum):
    PASS = "pass"
    WARN = "warn"
    SKIP = "skip"  # could not be checked; says why
    FAIL = "FAIL"


@dataclass(frozen=True)
class Check:
    name: str
    status: Status
    detail: str
    fix: str = ""


def check_config(config_path: str | None, error: ConfigError | None) -> Check:
    from fw_mcp.settings import config_source, default_config_file

    source = config_source(config_path)
    default = default_config_file()
    if error is not None:
        where = f"Edit {source}" if source else "Fix the environment variable it names"
        return Check(
            "config",
            Status.FAIL,
            str(error),
            f"{where}; `fw-mcp config --example` prints every setting with its default.",
        )
    if source:
        return Check("config", Status.PASS, f"{source} parses and every value is valid")
    return Check(
        "config",
        Status.PASS,
        f"no config file ({default} is absent): packaged defaults and environment variables",
    )


def check_key_present(simulated: bool = False) -> Check:
    key = os.environ.get(ENV_API_KEY, "")
    if not key.strip() and simulated:
        return Check("API key", Status.PASS, "not needed: --simulate answers from the built-in simulator")
    if not key.strip():
        return Check(
            "API key",
            Status.FAIL,
            f"{ENV_API_KEY} is not set",
            f"Create a key at {KEYS_PAGE}, `export {ENV_API_KEY}=fw_...` (your key), and give it to your "
            "host too (`fw-mcp install claude-desktop --with-key`, or the `env` of its fw-mcp entry). "
            "To see a passing doctor offline first: `fw-mcp doctor --simulate`.",
        )
    problem = key_problem(key)
    if problem:
        return Check(
            "API key",
            Status.FAIL,
            f"{ENV_API_KEY} is set ({mask_key(key).strip('()')}) but is not a usable key: {problem}",
            f"Set {ENV_API_KEY} to the bare key, as copied from {KEYS_PAGE}.",
        )
    return Check("API key", Status.PASS, f"{ENV_API_KEY} is set ({mask_key(key)})")


def check_base_url(settings: Settings) -> Check:
    url = settings.base_url
    source = ENV_BASE_URL if os.environ.get(ENV_BASE_URL, "").strip() else "[fireworks] base_url"
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return Check(
            "base URL",
            Status.FAIL,
            f"{source} = {url!r} is not an http(s) URL",
            f"Set {source} to {DEFAULT_BASE}, or unset it for the default.",
        )
    if parts.scheme == "http" and not _is_loopback(parts.hostname):
        return Check(
            "base URL",
            Status.WARN,
            f"{url} is plain http: the key would travel unencrypted",
            f"Use https in {source}.",
        )
    given = os.environ.get(ENV_BASE_URL, "").strip() or settings.fireworks.base_url
    spelled = "" if given.rstrip("/") == url else f", given as {given}"
    return Check("base URL", Status.PASS, f"{url} (from {source}{spelled})")


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_upstream(settings: Settings, error: FireworksError | None, count: int) -> list[Check]:
    """The base URL's reachability and the key's acceptance, from one `GET /models`."""
    url = f"{settings.base_url}/models"
    if error is None:
        return [
            Check("reachable", Status.PASS, f"GET {url} answered ({count} models)"),
            Check("key accepted", Status.PASS, "Fireworks accepted the key"),
        ]
    if isinstance(error, FireworksTransportError):
        return [
            Check(
                "reachable",
                Status.FAIL,
                f"no answer from {url}: {error.what}",
                f"Check the network or proxy (HTTPS_PROXY), and {ENV_BASE_URL} if you set it.",
            ),
            Check("key accepted", Status.SKIP, "could not check: Fireworks was not reachable"),
        ]
    assert isinstance(error, FireworksHTTPError)
    return [_reachable_after(error, url), _key_after(error)]


def _reachable_after(error: FireworksHTTPError, url: str) -> Check:
    if error.status_code in (404, 405):
        return Check(
            "reachable",
            Status.FAIL,
            f"{url} answered HTTP {error.status_code}: no Fireworks inference API at this base URL",
            f"{ENV_BASE_URL} (or [fireworks] base_url) should be like {DEFAULT_BASE}; unset it for the default.",
        )
    return Check("reachable", Status.PASS, f"GET {url} answered HTTP {error.status_code}")


def _key_after(error: FireworksHTTPError) -> Check:
    if error.status_code == 401:
        return Check(
            "key accepted",
            Status.FAIL,
            f"Fireworks refused the key (HTTP 401: {error.message})",
            f"Copy the key again from {KEYS_PAGE} (it may have been deleted), set {ENV_API_KEY} to it, and "
            "update your host's entry too (`fw-mcp install <host> --with-key`).",
        )
    if error.status_code in (404, 405):
        return Check("key accepted", Status.SKIP, "could not check: the base URL is not a Fireworks API")
    return Check(
        "key accepted",
        Status.SKIP,
        f"could not check: Fireworks answered HTTP {error.status_code} ({error.message or 'no detail'})",
        "Run `fw-mcp doctor` again in a moment.",
    )


def check_allowed_dirs(settings: Settings) -> Check:
    dirs = settings.allowed_dirs()
    if os.environ.get(ENV_ALLOWED_DIRS) is not None:
        source = ENV_ALLOWED_DIRS
    elif settings.images.allowed_dirs:
        source = "[images] allowed_dirs"
    else:
        source = "the default (the working directory)"
    if not dirs:
        return Check(
            "allowed folders",
            Status.WARN,
            f"none ({source}): describe_image can read URLs and data URIs, not local files",
            f"Set {ENV_ALLOWED_DIRS} to the folders it may read (in the host entry's env; "
            "`fw-mcp install <host> --allow-dir ~/Pictures` does it).",
        )
    bad = [d for d in dirs if not d.is_dir() or not os.access(d, os.R_OK | os.X_OK)]
    if bad:
        return Check(
            "allowed folders",
            Status.FAIL,
            f"{', '.join(map(str, bad))} (from {source}): missing or not readable",
            f"Create them or fix their permissions, or correct {source}.",
        )
    shown = ", ".join(map(str, dirs))
    if source.startswith("the default"):
        return Check(
            "allowed folders",
            Status.WARN,
            f"{shown}: {source}, which differs when a host starts fw-mcp (often in / or your home)",
            f"Set {ENV_ALLOWED_DIRS} in the host entry's env to the folders describe_image may read.",
        )
    return Check("allowed folders", Status.PASS, f"{shown} (from {source})")


def check_models(settings: Settings, catalogue: Catalogue | None) -> list[Check]:
    """Each tool's default model is listed for this key and suits the tool; aliases point at listed models."""
    if catalogue is None:
        return [Check("models", Status.SKIP, "not checked: the model list is unavailable")]
    checks = [
        _check_default(tool, settings.resolve_model(None, tool.model_key), catalogue)
        for tool in TOOLS
        if tool.model_key is not None
    ]
    return [*checks, _check_aliases(catalogue)]


# What a model that lacks a tool's capability cannot do, as doctor says it.
_LACKS = {
    Capability.TEXT: "does not chat",
    Capability.VISION: "does not take images",
    Capability.TOOLS: "does not support function calling",
    Capability.EMBEDDINGS: "does not make embeddings",
    Capability.RERANK: "does not rerank",
}


# `GET /models` is the OpenAI-style list of chat models; whether it names embedding and rerank
# models is not documented, so their absence is a warning, not a failure.
_MAY_BE_UNLISTED = frozenset({Capability.EMBEDDINGS, Capability.RERANK})
_PROBES = {
    Capability.EMBEDDINGS: "embed --arg texts=hello",
    Capability.RERANK: "rerank --arg query=hi --arg documents='[\"hi\"]'",
}


def _check_default(tool: ToolSpec, model: str, catalogue: Catalogue) -> Check:
    name = f"model {tool.name}"
    entry = catalogue.find(model)
    fix = (
        f"Pick one from `fw-mcp models` and set [models] {tool.model_key} in your config file ({ENV_CONFIG})."
    )
    if entry is None and tool.capability in _MAY_BE_UNLISTED:
        detail = f"{model} is not in this key's model list, which may leave out {tool.capability} models"
        probe = _PROBES[tool.capability]
        return Check(name, Status.WARN, detail, f"Try it: `fw-mcp call {probe}`; if it fails, {fix}")
    if entry is None:
        return Check(name, Status.FAIL, f"{model} is not in this key's model list", fix)
    if entry.supports(tool.capability) is False:
        return Check(name, Status.FAIL, f"{entry.name} {_LACKS[tool.capability]}", fix)
    return Check(name, Status.PASS, f"{entry.name} is available")


def _check_aliases(catalogue: Catalogue) -> Check:
    """Aliases pointing at unlisted models: not fatal (nobody has to use them), but worth knowing."""
    stale = sorted(a for a, target in catalogue.aliases.items() if catalogue.find(target) is None)
    if stale:
        return Check(
            "aliases",
            Status.WARN,
            f"{', '.join(stale)} name models this key's list does not have",
            "Point them at models from `fw-mcp models` in [models.aliases] of your config file, or ignore this.",
        )
    return Check("aliases", Status.PASS, f"all {len(catalogue.aliases)} name listed models")
