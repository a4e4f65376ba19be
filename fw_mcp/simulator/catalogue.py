"""The models the simulator serves: ``GET /inference/v1/models``, and a 404 for any other model id.

Names, capabilities and reasoning rules follow the reference notes (the official SDK's docstrings);
they are sample data for offline use, not a promise about which models Fireworks currently serves.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

CREATED = 1_700_000_000
PREFIX = "accounts/fireworks/models/"
EFFORTS = ("low", "medium", "high")


@dataclass(frozen=True)
class ModelSpec:
    """One served model. ``reasoning``: never, when asked, by default (until `none`), or always."""

    tools: bool
    context: int
    reasoning: Literal["never", "asked", "default", "always"] = "never"
    style: Literal["field", "tags"] = "field"  # reasoning_content, or <think> inside content
    efforts: tuple[str, ...] = (*EFFORTS, "none")  # the reasoning_effort strings it takes
    booleans: bool = True  # true/false are taken (as medium/none, then checked as those)
    integers: bool = True  # an integer (a reasoning token cap) is taken


MODELS: dict[str, ModelSpec] = {
    "deepseek-v3p1": ModelSpec(True, 163_840, reasoning="asked"),
    "deepseek-v3p2": ModelSpec(True, 163_840, reasoning="default"),
    "deepseek-r1-0528": ModelSpec(True, 163_840, reasoning="always"),
    "kimi-k2-instruct-0905": ModelSpec(True, 262_144),
    "kimi-k2-thinking": ModelSpec(True, 262_144, reasoning="always"),
    "qwen3-235b-a22b": ModelSpec(True, 131_072, reasoning="default", style="tags"),
    "glm-4p6": ModelSpec(True, 202_752, reasoning="default"),
    # Harmony (gpt-oss): low/medium/high only, so `none`, `false` and integers are refused.
    "gpt-oss-120b": ModelSpec(True, 131_072, reasoning="default", efforts=EFFORTS, integers=False),
    "gpt-oss-20b": ModelSpec(True, 131_072, reasoning="default", efforts=EFFORTS, integers=False),
    "minimax-m2": ModelSpec(
        True, 196_608, reasoning="always", efforts=EFFORTS, booleans=False, integers=False
    ),
    "llama-v3p1-8b-instruct": ModelSpec(True, 131_072),
    "qwen2p5-vl-32b-instruct": ModelSpec(False, 128_000),
    "qwen2p5-vl-72b-instruct": ModelSpec(False, 128_000),
    "qwen3-vl-235b-a22b": ModelSpec(True, 262_144),
}


def served(model: str, extra: list[str] | tuple[str, ...] = ()) -> ModelSpec | None:
    """The spec of a model id the simulator serves (a deployment ``#...`` of one too), else None.

    ``extra`` ids (a custom model, a router) are served with a plain spec.
    """
    base = model.split("#", 1)[0]
    if model in extra or base in extra:
        return MODELS.get(base.removeprefix(PREFIX), ModelSpec(True, 131_072))
    return MODELS.get(base.removeprefix(PREFIX)) if base.startswith(PREFIX) else None


# Models that do not chat: listed under the id the API takes (the serverless embedding models have no
# `accounts/` prefix; see the reference, "Embeddings models"), with their context length.
NON_CHAT: dict[str, int] = {
    "fireworks/qwen3-embedding-8b": 32_768,
    "nomic-ai/nomic-embed-text-v1.5": 8_192,
    "accounts/fireworks/models/qwen3-reranker-8b": 32_768,
}


def model_list() -> dict[str, Any]:
    """The OpenAI-style list object, with the capability flags Fireworks adds."""
    data = [
        {
            "id": f"{PREFIX}{name}",
            "object": "model",
            "owned_by": "fireworks",
            "created": CREATED,
            "supports_chat": True,
            "supports_tools": spec.tools,
            "supports_image_input": "-vl-" in name,
            "context_length": spec.context,
        }
        for name, spec in MODELS.items()
    ]
    data += [
        {
            "id": model_id,
            "object": "model",
            "owned_by": "fireworks",
            "created": CREATED,
            "supports_chat": False,
            "supports_tools": False,
            "supports_image_input": False,
            "context_length": context,
        }
        for model_id, context in NON_CHAT.items()
    ]
    return {"object": "list", "data": data}
