"""Request validation with the API's answers: 400 for a bad body, 404 for an unknown model.

The rules follow ``shared/reference/fireworks-api.md``. They are deliberately as strict as the
real service (unknown fields are refused), so a client that passes here sends only real fields.
"""

from __future__ import annotations

import re
from typing import Any

from .catalogue import ModelSpec, served
from .errors import error_vector, invalid_request
from .images import MAX_BASE64_CHARS, MAX_IMAGES, ImageError, check_image_data, check_image_url

ALLOWED_FIELDS = frozenset(
    [
        "model",
        "messages",
        "temperature",
        "top_p",
        "top_k",
        "min_p",
        "typical_p",
        "repetition_penalty",
        "presence_penalty",
        "frequency_penalty",
        "logit_bias",
        "mirostat_target",
        "mirostat_lr",
        "max_tokens",
        "max_completion_tokens",
        "stop",
        "n",
        "seed",
        "stream",
        "stream_options",
        "context_length_exceeded_behavior",
        "logprobs",
        "top_logprobs",
        "tools",
        "tool_choice",
        "parallel_tool_calls",
        "response_format",
        "reasoning_effort",
        "thinking",
        "reasoning_history",
        "prompt_cache_key",
        "prompt_cache_isolation_key",
        "prompt_cache_max_len",
        "perf_metrics_in_response",
        "prediction",
        "service_tier",
        "metadata",
        "user",
        # Declared by the official SDK too (fireworks-ai 1.2, CompletionCreateParams).
        "echo",
        "echo_last",
        "ignore_eos",
        "prompt_truncate_len",
        "raw_output",
        "return_token_ids",
        "safe_tokenization",
        "speculation",
        "functions",
        "function_call",
    ]
)
BOOLEAN_FIELDS = (
    "stream",
    "parallel_tool_calls",
    "perf_metrics_in_response",
    "echo",
    "ignore_eos",
    "raw_output",
    "return_token_ids",
    "safe_tokenization",
)
# field: (low, high, integer only)
RANGES: dict[str, tuple[float, float, bool]] = {
    "temperature": (0, 2, False),
    "top_p": (0, 1, False),
    "min_p": (0, 1, False),
    "typical_p": (0, 1, False),
    "repetition_penalty": (0, 2, False),
    "presence_penalty": (-2, 2, False),
    "frequency_penalty": (-2, 2, False),
    "top_k": (0, 100, True),
    "top_logprobs": (0, 5, True),
    "n": (1, 128, True),
}
CHOICES: dict[str, tuple[str, ...]] = {
    "context_length_exceeded_behavior": ("truncate", "error"),
    "reasoning_history": ("disabled", "interleaved", "preserved"),
}
ROLES = ("system", "user", "assistant", "tool")
TOOL_NAME_RE = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")
MODEL_RE = re.compile(r"^accounts/[^/\s#]+/(models/[^/\s#]+(#\S+)?|routers/[^/\s#]+)$")
FORMAT_TYPES = ("text", "json_object", "json_schema", "grammar")


class RequestError(Exception):
    """A request the API refuses: carries the HTTP status and the JSON body to send."""

    def __init__(self, status: int, body: dict[str, Any]) -> None:
        super().__init__(str(body))
        self.status = status
        self.body = body


def bad(message: str) -> RequestError:
    """A 400 with the API's invalid-request envelope."""
    return RequestError(400, invalid_request(message))


def is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def validate_chat(
    body: Any,
    unknown_models: list[str] | tuple[str, ...] = (),
    extra_models: list[str] | tuple[str, ...] = (),
) -> None:
    """Check a chat-completions body as the API does; only the catalogue's models (and ``extra_models``)
    are served.

    Raises:
        RequestError: 400 for a malformed body, 404 for a model that does not exist.
    """
    if not isinstance(body, dict):
        raise bad("Request body must be a JSON object")
    for name in body:
        if name not in ALLOWED_FIELDS:
            raise bad(f"Extra inputs are not permitted, field: '{name}'")
    if not isinstance(body.get("model"), str) or not body["model"]:
        raise bad("Field required: 'model' (a string such as accounts/fireworks/models/deepseek-v3p1)")
    if not isinstance(body.get("messages"), list) or not body["messages"]:
        raise bad("Field required: 'messages' (a non-empty list)")
    check_sampling(body)
    check_reasoning(body)
    check_messages(body["messages"])
    check_images(body["messages"])
    check_tools(body)
    check_response_format(body.get("response_format"))
    spec = served(body["model"], extra_models) if MODEL_RE.match(body["model"]) else None
    if spec is None or body["model"] in unknown_models:
        raise RequestError(404, error_vector("404_model")["body"])
    check_model_reasoning(body, spec)


def check_sampling(body: dict[str, Any]) -> None:
    """Numeric ranges, token limits, stop sequences and the small enumerations."""
    for name, (low, high, integer) in RANGES.items():
        if name in body and body[name] is not None:
            value = body[name]
            if not is_number(value) or (integer and not isinstance(value, int)):
                raise bad(f"{name} must be {'an integer' if integer else 'a number'}: {value!r}")
            if not low <= value <= high:
                raise bad(f"{name} must be between {low} and {high}: {value}")
    if "max_tokens" in body and "max_completion_tokens" in body:
        raise bad("Only one of max_tokens and max_completion_tokens may be set")
    for name in ("max_tokens", "max_completion_tokens", "prompt_truncate_len", "echo_last"):
        value = body.get(name)
        if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value < 1):
            raise bad(f"{name} must be an integer of at least 1: {value!r}")
    logprobs = body.get("logprobs")
    if (
        logprobs is not None
        and not isinstance(logprobs, bool)
        and (not isinstance(logprobs, int) or not 0 <= logprobs <= 5)
    ):
        raise bad(f"logprobs must be between 0 and 5: {logprobs}")
    check_stop(body.get("stop"))
    for name, allowed in CHOICES.items():
        if name in body and body[name] not in allowed:
            raise bad(f"{name} must be one of {', '.join(allowed)}: {body[name]!r}")
    for name in BOOLEAN_FIELDS:
        if body.get(name) is not None and not isinstance(body[name], bool):
            raise bad(f"{name} must be a boolean: {body[name]!r}")
    options = body.get("stream_options")
    if options is not None and (
        not isinstance(options, dict) or not isinstance(options.get("include_usage", False), bool)
    ):
        raise bad('stream_options must be an object such as {"include_usage": true}')


def check_stop(stop: Any) -> None:
    if stop is None or isinstance(stop, str):
        return
    if not isinstance(stop, list) or not all(isinstance(s, str) for s in stop):
        raise bad("stop must be a string or a list of strings")
    if len(stop) > 4:
        raise bad(f"stop may hold at most 4 sequences, got {len(stop)}")


def check_reasoning(body: dict[str, Any]) -> None:
    """``reasoning_effort`` and ``thinking`` are two spellings of one switch: only one is allowed."""
    if "reasoning_effort" in body and "thinking" in body:
        raise bad("Only one of reasoning_effort and thinking may be set")
    effort = body.get("reasoning_effort")
    if (
        effort is not None
        and not isinstance(effort, bool | int)
        and effort not in ("low", "medium", "high", "none")
    ):
        raise bad(
            f"reasoning_effort must be one of low, medium, high, none (or a boolean or integer): {effort!r}"
        )
    thinking = body.get("thinking")
    if thinking is not None:
        if not isinstance(thinking, dict) or thinking.get("type") not in ("enabled", "disabled"):
            raise bad('thinking must be an object such as {"type": "enabled", "budget_tokens": 1024}')
        budget = thinking.get("budget_tokens")
        if budget is not None and (not isinstance(budget, int) or budget < 1024):
            raise bad(f"thinking.budget_tokens must be an integer of at least 1024: {budget!r}")


def check_model_reasoning(body: dict[str, Any], spec: ModelSpec) -> None:
    """The model's own rules: `true`/`false` become medium/none first, then each model says yes or no."""
    effort = body.get("reasoning_effort")
    thinking = body.get("thinking")
    if isinstance(thinking, dict):  # the other spelling of the same switch
        budget = thinking.get("budget_tokens")
        effort = "none" if thinking["type"] == "disabled" else budget if budget is not None else True
    if effort is None:
        return
    if isinstance(effort, bool):
        if not spec.booleans:
            raise bad(f"Invalid reasoning effort: {str(effort).lower()}")
        effort = "medium" if effort else "none"
    if isinstance(effort, str) and effort not in spec.efforts:
        raise bad(f"Invalid reasoning effort: {effort}")
    if isinstance(effort, int) and not spec.integers:
        raise bad(f"Invalid reasoning effort: {effort}")


def check_messages(messages: list[Any]) -> None:
    """Roles, tool-result ids and content shapes of every message."""
    for i, message in enumerate(messages):
        where = f"messages[{i}]"
        if not isinstance(message, dict):
            raise bad(f"{where} must be an object")
        if message.get("role") not in ROLES:
            raise bad(f"{where}.role must be one of {', '.join(ROLES)}: {message.get('role')!r}")
        if message["role"] == "tool" and not isinstance(message.get("tool_call_id"), str):
            raise bad(f"{where}: a tool message needs tool_call_id (the id of the call it answers)")
        content = message.get("content")
        if content is None:
            if message["role"] != "assistant" or not message.get("tool_calls"):
                raise bad(f"{where}.content may be null only on an assistant message with tool_calls")
        elif isinstance(content, list):
            for j, part in enumerate(content):
                check_part(part, f"{where}.content[{j}]")
        elif not isinstance(content, str):
            raise bad(f"{where}.content must be a string or a list of content parts")
        calls = message.get("tool_calls")
        if calls is not None and (not isinstance(calls, list) or not all(isinstance(c, dict) for c in calls)):
            raise bad(f"{where}.tool_calls must be a list of objects")


def check_part(part: Any, where: str) -> None:
    if not isinstance(part, dict) or part.get("type") not in ("text", "image_url"):
        raise bad(f"{where} must be a part of type text or image_url")
    if part["type"] == "text" and not isinstance(part.get("text"), str):
        raise bad(f"{where}.text must be a string")
    if part["type"] == "image_url" and not isinstance(part.get("image_url"), dict):
        raise bad(f"{where}.image_url must be an object with a url")


def check_images(messages: list[dict[str, Any]]) -> None:
    """At most 30 images and 10,000,000 base64 characters in all; every payload decodes."""
    parts = [
        (f"messages[{i}].content[{j}]", p["image_url"].get("url"))
        for i, m in enumerate(messages)
        if isinstance(m.get("content"), list)
        for j, p in enumerate(m["content"])
        if p["type"] == "image_url"
    ]
    if len(parts) > MAX_IMAGES:
        raise bad(f"Too many images: {len(parts)} in this request, at most {MAX_IMAGES} are allowed")
    try:
        total = sum(check_image_url(url, where) for where, url in parts)
        if total > MAX_BASE64_CHARS:
            raise bad(
                f"Images too large: {total} base64 characters in total, at most {MAX_BASE64_CHARS} "
                "are allowed; send fewer or smaller images"
            )
        for where, url in parts:
            check_image_data(url, where)
    except ImageError as exc:
        raise bad(str(exc)) from exc


def check_tools(body: dict[str, Any]) -> None:
    """Function definitions and a tool_choice that names one of them."""
    tools = body.get("tools")
    names: list[str] = []
    if tools is not None:
        if not isinstance(tools, list):
            raise bad("tools must be a list")
        for i, tool in enumerate(tools):
            fn = tool.get("function") if isinstance(tool, dict) else None
            if not isinstance(tool, dict) or tool.get("type") != "function" or not isinstance(fn, dict):
                raise bad(f'tools[{i}] must be {{"type": "function", "function": {{...}}}}')
            if not isinstance(fn.get("name"), str) or not TOOL_NAME_RE.match(fn["name"]):
                raise bad(f"tools[{i}].function.name must match ^[a-zA-Z0-9_-]{{1,64}}$: {fn.get('name')!r}")
            if "parameters" in fn and not isinstance(fn["parameters"], dict):
                raise bad(f"tools[{i}].function.parameters must be a JSON Schema object")
            names.append(fn["name"])
    choice = body.get("tool_choice")
    if choice is None or choice in ("auto", "none", "required", "any"):
        return
    named = choice.get("function", {}).get("name") if isinstance(choice, dict) else None
    if not isinstance(choice, dict) or choice.get("type") != "function" or named not in names:
        raise bad(
            "tool_choice must be auto, none, required, any or "
            '{"type": "function", "function": {"name": ...}} naming one of the tools'
        )


def check_response_format(fmt: Any) -> None:
    if fmt is None:
        return
    if not isinstance(fmt, dict) or fmt.get("type") not in FORMAT_TYPES:
        raise bad(f"response_format.type must be one of {', '.join(FORMAT_TYPES)}")
    if fmt["type"] == "json_schema":
        spec = fmt.get("json_schema")
        if not isinstance(spec, dict) or not isinstance(spec.get("schema"), dict):
            raise bad("response_format.json_schema.schema is required and must be an object")
    if fmt["type"] == "grammar" and not isinstance(fmt.get("grammar"), str):
        raise bad("response_format.grammar is required and must be a string (GBNF)")
