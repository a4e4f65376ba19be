"""MCP prompts for common tasks, so hosts that list prompts (slash commands, "attach prompt") offer them.

Each prompt is a user message that steers the host's model to the right fw-mcp tool with the right
arguments, rather than doing the work itself: the point is to run it on a Fireworks model.
"""

from __future__ import annotations

import json
from typing import Annotated

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.prompts.base import Prompt
from mcp.shared.exceptions import MCPError
from mcp.types import INVALID_PARAMS
from pydantic import Field

__all__ = ["describe_screenshot", "extract_to_schema", "register_prompts", "summarize"]

SCREENSHOT_QUESTION = (
    "Describe this screenshot: the application and screen shown, all visible text (transcribed "
    "exactly), any error message or dialog, and anything that looks wrong."
)


def summarize(
    text: Annotated[str, Field(description="The text to summarise.")],
    style: Annotated[
        str | None,
        Field(description="How to summarise, e.g. 'three bullet points' or 'one short paragraph'."),
    ] = None,
) -> str:
    """Summarise a text with an open model on Fireworks (the `chat` tool)."""
    how = f" as {style.strip()}" if style and style.strip() else ""
    return (
        "Summarise the text below by calling the `chat` tool of the Fireworks server (fw-mcp), so that "
        f'a Fireworks model writes the summary. Call `chat` once, with `prompt` set to "Summarise the '
        f'following text{how}. Keep every key fact, name and number; add nothing.", a blank line, and '
        "then the whole text exactly as given. Show me the tool's answer as it is.\n\n"
        f"<text>\n{text}\n</text>"
    )


def extract_to_schema(
    text: Annotated[str, Field(description="The text to extract data from.")],
    schema: Annotated[
        str,
        Field(
            description='A JSON Schema, as JSON, e.g. {"type": "object", "properties": {"name": {"type": "string"}}}.'
        ),
    ],
) -> str:
    """Extract data matching a JSON Schema from a text (the `extract_json` tool)."""
    try:
        parsed = json.loads(schema)
    except ValueError as exc:
        raise _invalid(f"Argument `schema` is not valid JSON ({exc}); give a JSON Schema object.") from None
    if not isinstance(parsed, dict):
        raise _invalid('Argument `schema` must be a JSON Schema object, e.g. {"type": "object", ...}.')
    return (
        "Extract structured data from the text below by calling the `extract_json` tool of the Fireworks "
        "server (fw-mcp), with `text` set to the whole text exactly as given and `schema` set to exactly "
        f"this JSON Schema:\n\n```json\n{json.dumps(parsed, indent=2)}\n```\n\n"
        "The tool validates the answer against the schema. Reply with the `data` it returns, as JSON.\n\n"
        f"<text>\n{text}\n</text>"
    )


def _invalid(message: str) -> MCPError:
    """An MCPError reaches the client with its message; other exceptions become "Error rendering"."""
    return MCPError(code=INVALID_PARAMS, message=message)


def describe_screenshot(
    image: Annotated[
        str,
        Field(
            description="The screenshot: an http(s) URL, a data URI, or a local file path in the server's allowed folders."
        ),
    ],
    question: Annotated[
        str | None, Field(description="What to find out about it (default: a full description).")
    ] = None,
) -> str:
    """Have a Fireworks vision model look at a screenshot (the `describe_image` tool)."""
    ask = question.strip() if question and question.strip() else SCREENSHOT_QUESTION
    local = not image.startswith(("http://", "https://", "data:"))
    note = (
        " It is a local file: the server reads it only inside its allowed folders (FW_MCP_ALLOWED_DIRS); "
        "if the tool refuses the path, tell me which folder to add there."
        if local
        else ""
    )
    return (
        "Look at a screenshot by calling the `describe_image` tool of the Fireworks server (fw-mcp) with "
        f"`image` set to {json.dumps(image)} and `prompt` set to {json.dumps(ask)}.{note} "
        "Then tell me what it found."
    )


def register_prompts(server: MCPServer) -> None:
    """Add the prompts; their names are what hosts show (e.g. as slash commands)."""
    for fn, title in (
        (summarize, "Summarise with a Fireworks model"),
        (extract_to_schema, "Extract data to a JSON Schema"),
        (describe_screenshot, "Describe a screenshot"),
    ):
        server.add_prompt(Prompt.from_function(fn, title=title))
