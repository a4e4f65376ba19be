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
from fw_mcp.fireworks.events import ClientEvent
from fw_mcp.fireworks.stream import Completion, StreamAccumulator
from fw_mcp.fireworks.wire import ChatRequest
from fw_mcp.redaction import redact
from fw_mcp.tools.progress import ProgressReporter
from fw_mcp.tools.results import partial_result
from fw_mcp.tools.runtime import Runtime, api_key_of, runtime_of

__all__ = ["Job", "tool_errors"]

logger = logging.getLogger(__name__)
P = ParamSpec("P")


class Job:
    """Use as `async with Job(ctx, max_tokens) as job: completion = await job.complete(request)`."""

    def __init__(self, ctx: Context[Any, Any], max_tokens: int | None) -> None:
        self.runtime: Runtime = runtime_of(ctx)
        self.settings = self.runtime.settings
        self.deadline = anyio.current_time() + self.settings.timeouts.total
        self.progress = ProgressReporter(ctx, self.settings.limits.progress_interval, max_tokens)
        self._options = CallOptions(api_key=api_key_of(ctx), deadline=self.deadline, on_event=self._on_event)

    async def __aenter__(self) -> Job:
        await self.progress.__aenter__()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.progress.__aexit__(exc_type, exc, tb)

    async def complete(self, request: ChatRequest) -> Completion:
        self._latest: StreamAccumulator | None = None
        with RUNNING.track():  # when a shutdown's grace period ends, the call ends with what it has
            try:
                return await self.runtime.client.chat(request, on_delta=self._on_delta, options=self._options)
            except FireworksHTTPError as exc:
                from fw_mcp.tools.unknown_model import explain_not_found

                raise await explain_not_found(
                    exc, request.model, self.runtime, self._options.api_key
                ) from None
        latest = self._latest
        raise ShuttingDown(latest.completion() if latest is not None and latest.received_output else None)

    def _on_delta(self, acc: StreamAccumulator) -> None:
        self._latest = acc
        self.progress.on_delta(acc)
        if self.runtime.watcher is not None:
            self.runtime.watcher.on_delta(acc)

    async def _on_event(self, event: ClientEvent) -> None:
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
        try:
            return _scrubbed(await fn(*args, **kwargs))
        except (StreamInterrupted, DeadlineExceeded) as exc:
            logger.warning("%s: %s", fn.__name__, exc)
            return _scrubbed(partial_result(exc, model=str(kwargs.get("model") or ""), limit=_limit(kwargs)))
        except FwMcpError as exc:
            raise ToolError(redact(str(exc))) from None

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
