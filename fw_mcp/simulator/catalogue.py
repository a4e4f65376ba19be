"""The built-in model catalogue served by ``GET /inference/v1/models``.

Names and capabilities follow the reference notes; they are sample data for offline use, not a
promise about which models Fireworks currently serves.
"""

from __future__ import annotations

from typing import Any

CREATED = 1_700_000_000

# short name: (supports_tools, context_length)
MODELS: dict[str, tuple[bool, int]] = {
    "deepseek-v3p1": (True, 163_840),
    "deepseek-r1-0528": (True, 163_840),
    "kimi-k2-instruct-0905": (True, 262_144),
    "kimi-k2-thinking": (True, 262_144),
    "qwen3-235b-a22b": (True, 131_072),
    "glm-4p6": (True, 202_752),
    "gpt-oss-120b": (True, 131_072),
    "llama-v3p1-8b-instruct": (True, 131_072),
    "qwen2p5-vl-32b-instruct": (False, 128_000),
    "qwen2p5-vl-72b-instruct": (False, 128_000),
    "qwen3-vl-235b-a22b": (True, 262_144),
}


def model_list() -> dict[str, Any]:
    """The OpenAI-style list object, with the capability flags Fireworks adds."""
    data = [
        {
            "id": f"accounts/fireworks/models/{name}",
            "object": "model",
            "owned_by": "fireworks",
            "created": CREATED,
            "supports_chat": True,
            "supports_tools": tools,
            "supports_image_input": "-vl-" in name,
            "context_length": context,
        }
        for name, (tools, context) in MODELS.items()
    ]
    return {"object": "list", "data": data}
