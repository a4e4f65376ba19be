"""`fw-mcp doctor`: a pass/fail table of everything a first call depends on, with a fix per failure."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING, Any

from fw_mcp import __version__
from fw_mcp.commands._common import EXIT_FAILED, EXIT_OK, add_config_flag, add_simulate_flag, describe

if TYPE_CHECKING:
    from fw_mcp.catalogue import Catalogue
    from fw_mcp.commands._checks import Check
    from fw_mcp.errors import FireworksError
    from fw_mcp.settings import Settings

__all__ = ["add_arguments", "diagnose", "render", "run"]

# One cheap request; a base URL that does not answer within this is reported, not waited for.
UPSTREAM_TIMEOUT = 20.0

EXAMPLES = """\
  fw-mcp doctor                          check the configuration this shell gives fw-mcp
  fw-mcp doctor --config ./fw-mcp.toml   check with a settings file
  FIREWORKS_API_KEY=fw_... fw-mcp doctor check another key
  fw-mcp doctor --simulate               offline, against the built-in simulator: no key, no network
  fw-mcp doctor --json                   the checks as JSON, for scripts

Exit code: 0 when nothing failed (warnings allowed), 1 when a check failed. The key is never printed,
only its last four characters.
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    describe(
        parser,
        description="Check what fw-mcp needs: the config file, FIREWORKS_API_KEY (present, and accepted "
        "by Fireworks when the network allows), the base URL, the folders describe_image may read, and "
        "the default models. Prints a table with a fix for each failure.",
        examples=EXAMPLES,
    )
    add_config_flag(parser)
    add_simulate_flag(parser)
    parser.add_argument("--json", action="store_true", help="print the checks as JSON")


def run(args: argparse.Namespace) -> int:
    import anyio

    from fw_mcp.commands._checks import Status
    from fw_mcp.commands._common import simulator_overrides

    simulated = bool(getattr(args, "simulate", False))
    with simulator_overrides(simulated) as overrides:
        checks = anyio.run(diagnose, getattr(args, "config", None), overrides or None)
    print(render_json(checks, simulated) if args.json else render(checks, simulated))
    return EXIT_FAILED if any(c.status is Status.FAIL for c in checks) else EXIT_OK


def render_json(checks: list[Check], simulated: bool = False) -> str:
    import json

    from fw_mcp.commands._checks import Status

    return json.dumps(
        {
            "version": __version__,
            "python": sys.version.split()[0],
            "simulated": simulated,
            "ok": not any(c.status is Status.FAIL for c in checks),
            "checks": [
                {"name": c.name, "status": c.status.name.lower(), "detail": c.detail, "fix": c.fix or None}
                for c in checks
            ],
        },
        indent=2,
        ensure_ascii=False,
    )


async def diagnose(config_path: str | None, overrides: dict[str, Any] | None = None) -> list[Check]:
    """Every check, in the order a person would fix them; later checks skip when earlier ones block."""
    from fw_mcp.commands._checks import (
        Check,
        Status,
        check_allowed_dirs,
        check_base_url,
        check_config,
        check_key_present,
        check_models,
        check_upstream,
    )
    from fw_mcp.commands.usage import spend_check
    from fw_mcp.errors import ConfigError
    from fw_mcp.settings import load_settings

    try:
        settings: Settings | None = load_settings(config_path, overrides)
        config_error = None
    except ConfigError as exc:
        settings, config_error = None, exc
    checks = [check_config(config_path, config_error), key := check_key_present(bool(overrides))]
    if settings is None:
        return checks
    checks.append(base := check_base_url(settings))
    checks.append(_check_proxy(settings))
    catalogue: Catalogue | None = None
    if key.status is Status.FAIL or base.status is Status.FAIL:
        checks.append(Check("reachable", Status.SKIP, "not checked: fix the key and base URL first"))
    else:
        catalogue, error = await _fetch(settings)
        checks += check_upstream(settings, error, len(catalogue.models) if catalogue else 0)
    checks.append(check_allowed_dirs(settings))
    checks += check_models(settings, catalogue)
    checks.append(await spend_check(settings))
    return checks


def _check_proxy(settings: Settings) -> Check:
    """The proxy calls to the base URL go through (HTTPS_PROXY and friends, as httpx2 reads them)."""
    from fw_mcp.commands._checks import Check, Status
    from fw_mcp.fireworks.proxies import proxy_for

    proxy = proxy_for(settings.base_url)
    if proxy is None:
        return Check("proxy", Status.PASS, "none: fw-mcp connects directly")
    return Check(
        "proxy", Status.PASS, f"{proxy.url} (from {proxy.setting}; NO_PROXY lists hosts that bypass it)"
    )


async def _fetch(settings: Settings) -> tuple[Catalogue | None, FireworksError | None]:
    import anyio

    from fw_mcp.catalogue import build_catalogue, list_models
    from fw_mcp.errors import FireworksError, FireworksTransportError
    from fw_mcp.fireworks.client import create_http_client

    async with create_http_client(settings) as http:
        with anyio.move_on_after(UPSTREAM_TIMEOUT):
            try:
                return build_catalogue(await list_models(http, settings), settings), None
            except FireworksError as exc:
                return None, exc
    timeout = FireworksTransportError(f"no answer within {UPSTREAM_TIMEOUT:g} s", settings.base_url)
    return None, timeout


def render(checks: list[Check], simulated: bool = False) -> str:
    """Aligned rows; a failure's fix indented under it; a closing line that says what to do."""
    from fw_mcp.commands._checks import Status

    width = max(len(c.name) for c in checks)
    mode = ", SIMULATED: the built-in simulator stands in for Fireworks" if simulated else ""
    lines = [f"fw-mcp {__version__} doctor (Python {sys.version.split()[0]}{mode})", ""]
    for check in checks:
        lines.append(f"  {check.status.value:4}  {check.name.ljust(width)}  {check.detail}")
        if check.fix and check.status is not Status.PASS:
            lines.append(f"  {'':4}  {'':{width}}  fix: {check.fix}")
    failed = sum(c.status is Status.FAIL for c in checks)
    lines.append("")
    lines.append(
        f"{failed} check{'s' if failed != 1 else ''} failed: apply the fix lines above, then run "
        "`fw-mcp doctor` again."
        if failed
        else "No check failed: fw-mcp is ready."
        if not simulated
        else "No check failed against the simulator. Drop --simulate to check your key and Fireworks."
    )
    return "\n".join(lines)
