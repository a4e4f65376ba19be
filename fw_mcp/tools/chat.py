"""The `chat` tool: one answer from a Fireworks text model."""

from __future__ import annotations

from typing import Annotated, Any

from mcp.server.mcpserver import Context
from mcp.types import CallToolResult

from fw_mcp.fireworks.wire import ChatRequest
from fw_mcp.tools.arguments import (
    CacheKey,
    MaxTokens,
    Messages,
    Model,
    Prompt,
    ReasoningEffort,
    Stop,
    System,
    Temperature,
    TopK,
    TopP,
    build_messages,
    check_input_size,
    check_reasoning_effort,
    stop_list,
)
from fw_mcp.tools.job import Job, tool_errors
from fw_mcp.tools.results import ChatResult, answer_result

__all__ = ["chat"]


@tool_errors
async def chat(
    ctx: Context[Any, Any],
    prompt: Prompt = None,
    messages: Messages = None,
    system: System = None,
    model: Model = None,
    temperature: Temperature = None,
    top_p: TopP = None,
    top_k: TopK = None,
    max_tokens: MaxTokens = None,
    stop: Stop = None,
    reasoning_effort: ReasoningEffort = None,
    cache_key: CacheKey = None,
) -> Annotated[CallToolResult, ChatResult]:
    """Ask an open model on Fireworks AI (DeepSeek, Qwen, Kimi, Llama, GLM, gpt-oss...) and get its answer.

    Use it for a second opinion, drafting, summarising, translating, or to run a prompt on a specific
    open model. Give `prompt` for a single question, or `messages` for a whole conversation. Returns
    the answer text; the model's reasoning (when it shows any) comes separately, with the model id,
    the finish reason (`length` means the answer was cut at max_tokens) and token usage.
    """
    settings = ctx.request_context.lifespan_context.settings
    turns = build_messages(prompt, messages, system)
    check_input_size(
        settings.limits.max_input_chars, {"prompt": prompt, "messages": messages, "system": system}
    )
    resolved = settings.resolve_model(model, "chat")
    check_reasoning_effort(reasoning_effort, resolved, settings.reasoning.efforts_for(resolved))
    request = ChatRequest(
        model=resolved,
        messages=turns,
        temperature=temperature,
        top_p=top_p,
        top_k=top_k,
        max_tokens=max_tokens,
        stop=stop_list(stop),
        reasoning_effort=reasoning_effort,
        prompt_cache_key=cache_key,
    )
    async with Job(ctx, max_tokens) as job:
        completion = await job.complete(request)
    return answer_result(completion, resolved, job.cap())
