"""A 404 for a model: say which model id was sent, and which listed models are closest to it.

`model: "deepseek-v3"` reaches Fireworks as `accounts/fireworks/models/deepseek-v3`; the person
needs to see that id, and the names they probably meant, to fix the argument in one try. The model
list is fetched only after such a failure (one cheap GET, bounded in time), never before a call.
"""

from __future__ import annotations

import difflib
import logging

import anyio

from fw_mcp.errors import FireworksError, FireworksHTTPError, FwMcpError
from fw_mcp.tools.runtime import Runtime

__all__ = ["UnknownModel", "explain_not_found"]

logger = logging.getLogger(__name__)

MODEL_PREFIX = "accounts/fireworks/models/"
LIST_TIMEOUT = 5.0  # seconds for the model list; without it, the 404 is reported as it came


class UnknownModel(FwMcpError):
    """Fireworks does not know the model id fw-mcp sent; the message names it and the closest ones."""


async def explain_not_found(
    error: FireworksHTTPError, sent: str, runtime: Runtime, api_key: str | None
) -> FwMcpError:
    """The error to report for a 404 on a call that sent model `sent`: UnknownModel when the list
    confirms the model is not there, else the original error."""
    if error.status_code != 404 or not sent:
        return error
    ids: list[str] = []
    with anyio.move_on_after(LIST_TIMEOUT):
        try:
            ids = [m["id"] for m in await runtime.client.list_models(api_key=api_key)]
        except FireworksError as exc:
            logger.debug("model list after a 404 failed: %s", exc)
    if not ids or sent in ids:
        return error
    return UnknownModel(describe(sent, ids, runtime.settings.models.aliases, error.message))


def describe(sent: str, ids: list[str], aliases: dict[str, str], upstream: str = "") -> str:
    short = sent.removeprefix(MODEL_PREFIX)
    names = {i.removeprefix(MODEL_PREFIX): i for i in ids}
    candidates = [*names, *aliases]
    close = difflib.get_close_matches(short, candidates, n=3, cutoff=0.5)
    if not close:  # a family name ("qwen") is closest by substring, not by edit distance
        close = [c for c in candidates if short.lower() in c.lower() or c.lower() in short.lower()][:3]
    hint = f" Did you mean {', '.join(f'`{c}`' for c in close)}?" if close else ""
    return (
        f"Unknown model: fw-mcp asked Fireworks for `{sent}` and Fireworks has no such model for this key "
        f"(HTTP 404{': ' + upstream if upstream else ''}). A bare name gets the `{MODEL_PREFIX}` prefix.{hint} Pass one of the listed models "
        "as `model` (the fireworks://models resource or `fw-mcp models` lists them), or fix [models] in "
        "the config."
    )
