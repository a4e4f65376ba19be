"""One tool call's upstream work: a shared deadline, progress, and errors turned into results.

Tools stay free of HTTP: they build a request model and call `Job.complete`, which the client serves.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Awaitable, Callable
from types import TracebackType
from typing import Any, ParamSpec

import anyio
from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import CallToolResult, TextContent

from fw_mcp.calls import RUNNING
from fw_mcp.errors import DeadlineExceeded, FireworksHTTPError, FwMcpError, ShuttingDown, StreamInterrupted
from fw_mcp.fireworks.client import CallOptions
from fw_mcp.fireworks.events import ClientEvent, Retrying
from fw_mcp.fireworks.stream import Completion, StreamAccumulator
from fw_mcp.fireworks.wire import ChatRequest
from fw_mcp.redaction import redact
from fw_mcp.spend.cache_keys import conversation_key, isolation_key
from fw_mcp.spend.meter import Account, Meter, Request, accounting, current_account
from fw_mcp.tools.progress import ProgressReporter
from fw_mcp.tools.results import partial_result, with_spend
from fw_mcp.tools.runtime import Runtime, api_key_of, identity_of, runtime_of

__all__ = ["Job", "tool_errors"]

logger = logging.getLogger(__name__)
P = ParamSpec("P")
_HOLD_GRACE = 60.0  # a hold outlives its call's deadline by this much, then expires (a crashed process)


class Job:
    """Use as `async with Job(ctx, max_tokens) as job: completion = await job.complete(request)`.

    Every request is metered (fw_mcp.spend): its maximum cost is held against the budgets before it
    goes upstream, it carries prompt-cache keys, fallback models answer when the chosen one cannot,
    and the real cost is settled into the tool call's account.
    """

    def __init__(self, ctx: Context[Any, Any], max_tokens: int | None) -> None:
        self.runtime: Runtime = runtime_of(ctx)
        self.settings = self.runtime.settings
        self.deadline = anyio.current_time() + self.settings.timeouts.total
        self.progress = ProgressReporter(ctx, self.settings.limits.progress_interval, max_tokens)
        self._options = CallOptions(api_key=api_key_of(ctx), deadline=self.deadline, on_event=self._on_event)
        identity = identity_of(ctx)
        self._isolation_key = isolation_key(identity)
        self._attempts = 1
        account = current_account() or Account()
        self.meter = Meter(
            self.runtime.spend,
            tool=account.tool,
            user=identity or "",
            fallbacks=[
                self.settings.resolve_model(m, "chat")
                for m in self.settings.fallback.models_for(account.tool)
            ],
            base_url=self.settings.base_url,
            ttl=lambda: max(self.deadline - anyio.current_time(), 0.0) + _HOLD_GRACE,
            account=account,
        )

    async def __aenter__(self) -> Job:
        await self.progress.__aenter__()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.progress.__aexit__(exc_type, exc, tb)

    async def complete(self, request: ChatRequest) -> Completion:
        self._latest: StreamAccumulator | None = None
        messages = [m.wire() for m in request.messages]  # the client serialises the whole request
        tools = [t.wire() for t in request.tools] if request.tools else None
        max_tokens = request.max_tokens or request.max_completion_tokens
        shape = Request("chat", request.model, messages, max_tokens, tools)

        async def send(model: str) -> Completion:
            key = conversation_key(model, messages, request.prompt_cache_key)
            update: dict[str, Any] = {"model": model, "prompt_cache_key": key}
            if self._isolation_key is not None:
                update["prompt_cache_isolation_key"] = self._isolation_key
            self._attempts = 1
            chosen = request.model_copy(update=update)
            return await self.runtime.client.chat(chosen, on_delta=self._on_delta, options=self._options)

        with RUNNING.track():  # when a shutdown's grace period ends, the call ends with what it has
            try:
                return await self.meter.run(shape, send, attempts=lambda: self._attempts)
            except FireworksHTTPError as exc:
                from fw_mcp.tools.unknown_model import explain_not_found

                raise await explain_not_found(
                    exc, request.model, self.runtime, self._options.api_key
                ) from None
            finally:
                with anyio.CancelScope(shield=True):
                    await self.runtime.spend.note_rate_limits(self.runtime.client.rate_limits)
        latest = self._latest
        raise ShuttingDown(latest.completion() if latest is not None and latest.received_output else None)

    def _on_delta(self, acc: StreamAccumulator) -> None:
        self._latest = acc
        self.progress.on_delta(acc)
        if self.runtime.watcher is not None:
            self.runtime.watcher.on_delta(acc)

    async def _on_event(self, event: ClientEvent) -> None:
        if isinstance(event, Retrying):
            self._attempts = event.attempt + 1
        await self.progress.event(event)
        if self.runtime.watcher is not None:
            await self.runtime.watcher.on_event(event)

    def cap(self) -> int:
        return self.settings.limits.max_result_chars


def tool_errors(
    fn: Callable[P, Awaitable[CallToolResult]],
) -> Callable[P, Awaitable[CallToolResult]]:
    """Our errors become what the model should read: a clean message, or the partial answer."""

    @functools.wraps(fn)
    async def wrapper(*args: P.args, **kwargs: P.kwargs) -> CallToolResult:
        with accounting(fn.__name__) as account:  # what the call's requests cost, for its result
            try:
                result = await fn(*args, **kwargs)
            except (StreamInterrupted, DeadlineExceeded) as exc:
                logger.warning("%s: %s", fn.__name__, exc)
                result = partial_result(exc, model=str(kwargs.get("model") or ""), limit=_limit(kwargs))
            except FwMcpError as exc:
                raise ToolError(redact(str(exc))) from None
            return _scrubbed(with_spend(result, account))

    return wrapper


def _scrubbed(result: CallToolResult) -> CallToolResult:
    """A result leaves the process too: its text blocks and structured strings pass the one redactor."""
    for block in result.content:
        if isinstance(block, TextContent):
            block.text = redact(block.text)
    if result.structured_content is not None:
        result.structured_content = _scrub(result.structured_content)
    return result


def _scrub(value: Any) -> Any:
    """Every string in a JSON value, redacted (depth is bounded: [limits] max_json_depth)."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {k: _scrub(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_scrub(v) for v in value]
    return value


def _limit(kwargs: dict[str, Any]) -> int:
    ctx = kwargs.get("ctx")
    return runtime_of(ctx).settings.limits.max_result_chars if isinstance(ctx, Context) else 100_000
