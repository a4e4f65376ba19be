"""The `describe_image` tool: a Fireworks vision model looks at images and answers about them.

Image references are resolved by `fw_mcp.images` (the sandbox for local files); URLs go to
Fireworks untouched and are never fetched here.
"""

from __future__ import annotations

from typing import Annotated, Any

import anyio
from mcp.server.mcpserver import Context
from mcp.types import CallToolResult
from pydantic import Field

from fw_mcp.errors import DeadlineExceeded, InvalidArgument
from fw_mcp.fireworks.wire import ChatRequest, ImagePart, TextPart, UserMessage
from fw_mcp.images import resolve_images
from fw_mcp.tools.arguments import MaxTokens, Model, check_input_size
from fw_mcp.tools.job import Job, tool_errors
from fw_mcp.tools.results import ChatResult, answer_result

__all__ = ["describe_image"]

DEFAULT_PROMPT = (
    "Describe this image in detail: the subject, setting, any text it contains (transcribed exactly), "
    "notable objects, colours and layout."
)
ImageRef = Annotated[str, Field(min_length=1, max_length=14_000_000)]


@tool_errors
async def describe_image(
    ctx: Context[Any, Any],
    image: Annotated[
        str | None,
        Field(
            description="One image: an http(s) URL, a data:image/...;base64, URI, or a path to a local file "
            "inside the server's allowed folders (FW_MCP_ALLOWED_DIRS).",
            min_length=1,
        ),
    ] = None,
    images: Annotated[
        list[ImageRef] | None,
        Field(description="Several images (same forms as `image`), looked at together; at most 30 in all."),
    ] = None,
    prompt: Annotated[
        str | None,
        Field(description="What to ask about the image(s). Default: a detailed description."),
    ] = None,
    model: Model = None,
    max_tokens: MaxTokens = None,
) -> Annotated[CallToolResult, ChatResult]:
    """Look at one or more images with a Fireworks vision model (default Qwen2.5-VL) and answer about them.

    Use it to describe screenshots, photos, diagrams or charts, read text in images, or compare
    images. Pass `image` (or `images` for several) as URLs, data URIs, or local file paths in the
    server's allowed folders. Returns the answer text with the model id, finish reason and usage.
    """
    settings = ctx.request_context.lifespan_context.settings
    refs = ([image] if image is not None else []) + (images or [])
    if not refs:
        raise InvalidArgument("image", "give `image` (or `images`): a URL, a data URI or a local file path.")
    question = prompt if prompt is not None and prompt.strip() else DEFAULT_PROMPT
    check_input_size(settings.limits.max_input_chars, {"prompt": question})
    resolved = settings.resolve_model(model, "describe_image")
    async with Job(ctx, max_tokens) as job:
        # Preparing the images counts against the call's deadline, like the answer does.
        if local := sum(1 for ref in refs if not ref[:8].lower().startswith(("http://", "https://"))):
            await job.progress.status(f"Preparing {local} image{'s' if local > 1 else ''}.")
        with anyio.CancelScope(deadline=job.deadline) as scope:
            parts = await resolve_images(refs, settings, argument="image" if images is None else "images")
        if scope.cancelled_caught:
            raise DeadlineExceeded(settings.timeouts.total, None)
        # Images before the text: some vision models (Llama 3.2 Vision) require that order.
        content: list[ImagePart | TextPart] = [
            *(ImagePart.model_validate(p) for p in parts),
            TextPart(text=question),
        ]
        request = ChatRequest(model=resolved, messages=[UserMessage(content=content)], max_tokens=max_tokens)
        completion = await job.complete(request)
    return answer_result(completion, resolved, job.cap())
