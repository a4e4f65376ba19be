"""build_server(): the MCP server with the registry's tools, its lifespan and its transports.

The lifespan owns the process's one HTTP client; tools reach it through `Runtime`.

Nothing a tool needs is imported before `initialize` is answered (hosts wait for it; start-up is
benchmarked): each tool's module, and with it the Fireworks client, the spend ledger, the files
code..., loads on the first `tools/call` of that tool, or for all of them at the first `tools/list`.
What hosts see is the same: the SDK builds each tool's schemas from its function, as before.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, get_args

import httpx2
from mcp.server.context import CallNext, HandlerResult, ServerRequestContext
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError, UnexpectedToolError
from mcp.server.mcpserver.tools import Tool, ToolManager
from mcp.server.mcpserver.utilities.func_metadata import FuncMetadata
from mcp.types import Tool as MCPTool
from mcp.types import ToolAnnotations
from pydantic import ValidationError

from fw_mcp import __version__
from fw_mcp.calls import CALL_WATCH, CallWatch
from fw_mcp.prompts import register_prompts
from fw_mcp.registry import TOOLS, Effect, ToolSpec, instructions
from fw_mcp.resources import register_resources
from fw_mcp.settings import Settings
from fw_mcp.telemetry import setup_tracing
from fw_mcp.tools.runtime import CallWatcher, Runtime

__all__ = ["SIMULATED_NOTE", "FwMcpServer", "build_server"]

logger = logging.getLogger(__name__)

INSTRUCTIONS = instructions()
REDIS_SCHEMES = ("redis://", "rediss://", "unix://")


class _TextSafeMetadata(FuncMetadata):
    """The SDK JSON-decodes string arguments whose type is not exactly `str` (a Claude Desktop quirk).

    That would turn a prompt such as `{"a": 1}` or `null` into an object or None. Decode only
    arguments that cannot be text (lists, objects), so text arrives exactly as sent.

    Works around `FuncMetadata.pre_parse_json` (mcp 2.x), through the public `Tool.fn_metadata`
    field. Delete it when the SDK leaves `str | None` arguments as sent, or lets a tool opt out of
    the decoding; tests/test_upstream_contracts.py fails when the SDK stops decoding.
    """

    def pre_parse_json(self, data: dict[str, Any]) -> dict[str, Any]:
        textual = {
            name for name, field in self.arg_model.model_fields.items() if _accepts_text(field.annotation)
        }
        decoded = super().pre_parse_json({k: v for k, v in data.items() if k not in textual})
        return {k: (data[k] if k in textual else decoded[k]) for k in data}


def _accepts_text(annotation: Any) -> bool:
    return annotation is str or str in get_args(annotation)


SIMULATED_NOTE = (
    "SIMULATED: this fw-mcp answers from its built-in Fireworks simulator (started with --simulate). "
    "No model ran and nothing was billed; results are canned test output, not real answers."
)


class FwMcpServer(MCPServer[Runtime]):
    """MCPServer whose argument refusals are short and name the argument, with no pydantic noise.

    Its tools are the registry's `specs`, registered with the SDK when first needed (`_load`).
    """

    def __init__(self, name: str, *, specs: tuple[ToolSpec, ...], **options: Any) -> None:
        super().__init__(name, **options)
        self._specs = {spec.name: spec for spec in specs}
        self._loaded: dict[str, Tool] = {}

    def _load(self, name: str) -> Tool | None:
        """The SDK's Tool for `name`, made (its module imported) and registered on first use; None if unknown.

        Registers through the SDK's private `_tool_manager` (mcp 2.x): `MCPServer.add_tool` returns
        nothing, and the Tool it makes is needed to set its `fn_metadata`. Delete the lazy loading
        (pass `tools=` again) when the SDK can register tools on first use, or import-cheap schemas
        make it pointless; tests/test_upstream_contracts.py fails if the manager changes.
        """
        tool = self._loaded.get(name)
        spec = self._specs.get(name)
        if tool is None and spec is not None:
            tool = self._loaded[name] = _tool(spec, self._tool_manager)
        return tool

    async def list_tools(self) -> list[MCPTool]:
        """Every tool, in registry order (whichever a call loaded first)."""
        for name in self._specs:
            self._load(name)
        order = {name: i for i, name in enumerate(self._specs)}
        return sorted(await super().list_tools(), key=lambda t: order.get(t.name, len(order)))

    def _tool_input_schema(self, name: str) -> dict[str, Any] | None:
        """The SDK's hook for HTTP `Mcp-Param` header checks (mcp 2.x, private), after loading the tool."""
        self._load(name)
        return super()._tool_input_schema(name)

    async def call_tool(
        self, name: str, arguments: dict[str, Any], context: Context[Runtime, Any] | None = None
    ) -> Any:
        self._load(name)
        watch = _call_watch_of(context)
        if watch is None:
            return await self._call_tool(name, arguments, context)
        with watch.running() as scope:  # HTTP: the client hanging up cancels the call
            return await self._call_tool(name, arguments, context)
        if scope.cancelled_caught:
            raise ToolError("The client closed its connection, so the call was cancelled.")
        return None  # pragma: no cover (the scope is cancelled only by a disconnect)

    async def _call_tool(
        self, name: str, arguments: dict[str, Any], context: Context[Runtime, Any] | None
    ) -> Any:
        if (tool := self._loaded.get(name)) is not None:
            _refuse_unknown_arguments(arguments, tool.parameters)
        try:
            return await super().call_tool(name, arguments, context)
        except ToolError as exc:
            if isinstance(exc.__cause__, ValidationError):
                raise ToolError(describe_validation_error(exc.__cause__)) from exc.__cause__
            if isinstance(exc.__cause__, ToolError) and not isinstance(exc, UnexpectedToolError):
                raise ToolError(str(exc.__cause__)) from None  # drop the SDK's "Error executing tool" prefix
            raise

    async def run_stdio_async(self) -> None:
        """As `MCPServer.run_stdio_async`, over fw_mcp.stdio: event-loop pipes, no thread hop per line.

        The SDK's method takes no streams, so this repeats its body, reaching the SDK's private
        `_lowlevel_server` (mcp 2.x). Delete it when `run_stdio_async` accepts streams, or when the
        SDK's stdio transport stops handing each line to a worker thread (bench/README.md, "What the
        profiling found"); tests/test_upstream_contracts.py fails if the attribute changes.
        """
        from fw_mcp.stdio import stdio_transport

        async with stdio_transport() as (read_stream, write_stream):
            await self._lowlevel_server.run(
                read_stream, write_stream, self._lowlevel_server.create_initialization_options()
            )


def _call_watch_of(context: Context[Runtime, Any] | None) -> CallWatch | None:
    """The watch an HTTP transport attached to this request (None over stdio)."""
    try:
        request = context.request_context.request if context is not None else None
    except (LookupError, ValueError, AttributeError):
        return None
    watch = getattr(getattr(request, "state", None), CALL_WATCH, None)
    return watch if isinstance(watch, CallWatch) else None


def _refuse_unknown_arguments(arguments: dict[str, Any], schema: dict[str, Any]) -> None:
    known = schema.get("properties", {})
    unknown = sorted(k for k in arguments if k not in known)
    if unknown:
        raise ToolError(
            f"Unknown argument{'s' if len(unknown) > 1 else ''} {', '.join(f'`{u}`' for u in unknown)}. "
            f"This tool takes: {', '.join(known)}."
        )


def describe_validation_error(exc: ValidationError) -> str:
    """`Invalid argument `temperature`: must be <= 2 (got 5)`, one line per problem, at most five."""
    lines = []
    for err in exc.errors(include_url=False)[:5]:
        where = _location(err["loc"])
        got = "" if err["type"] == "missing" else f" (got {_short(err.get('input'))})"
        lines.append(f"Invalid argument `{where}`: {err['msg']}{got}.")
    more = len(exc.errors()) - len(lines)
    if more > 0:
        lines.append(f"... and {more} more problems.")
    return "\n".join(lines)


def _location(loc: tuple[int | str, ...]) -> str:
    """Path like messages[2].role; drops pydantic's union-branch tags (`str`, `list[...]`)."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part.isidentifier() and part not in {"str", "int", "float", "bool", "dict", "list", "none"}:
            out += f".{part}" if out else part
    return out or "arguments"


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def build_server(
    settings: Settings,
    *,
    http: httpx2.AsyncClient | None = None,
    simulated: bool = False,
    watcher: CallWatcher | None = None,
) -> FwMcpServer:
    """The server for these settings. `http` lets tests hand in a client; otherwise one is made.

    `watcher` sees each call's output and client events as data (`fw-mcp call` renders them).

    `simulated` (serve --simulate) labels every result, so nobody mistakes the simulator for a model.
    """

    @asynccontextmanager
    async def lifespan(_server: MCPServer[Runtime]) -> AsyncIterator[Runtime]:
        stop_tracing = setup_tracing()
        runtime = Runtime(settings, watcher=watcher, http=http)  # its parts are made on first use
        try:
            if settings.budget.store.startswith(REDIS_SCHEMES):
                _ = runtime.spend  # checks now that the Redis client is installed (a start-up error)
            yield runtime
        finally:
            try:
                await runtime.aclose()
            finally:
                if stop_tracing is not None:
                    stop_tracing()

    server = FwMcpServer(
        "fw-mcp",
        title="Fireworks AI",
        version=__version__,
        instructions=INSTRUCTIONS,
        lifespan=lifespan,
        specs=TOOLS,
    )
    if simulated:
        server.middleware.append(_label_simulated)
    register_resources(server, settings, http)
    register_prompts(server)
    return server


def _tool(spec: ToolSpec, manager: ToolManager) -> Tool:
    """The SDK's Tool for one of ours, added to `manager`: upstream calls, hinted by what the tool
    changes (its registry `effect`), text arguments never JSON-decoded."""
    fn = spec.load()
    annotations = ToolAnnotations(
        read_only_hint=spec.effect is Effect.READS,
        destructive_hint=spec.effect is Effect.DESTROYS,
        open_world_hint=True,
    )
    # Dedented: a docstring's indentation would reach the model as leading spaces.
    description = inspect.cleandoc(fn.__doc__ or "")
    tool = manager.add_tool(fn, name=spec.name, description=description, annotations=annotations)
    tool.fn_metadata = _TextSafeMetadata.model_construct(**dict(tool.fn_metadata))
    return tool


async def _label_simulated(ctx: ServerRequestContext[Any, Any], call_next: CallNext) -> HandlerResult:
    """Mark results at the protocol layer, so no tool can forget to (SDK middleware, both eras).

    Claude Code forwards only `structuredContent` to the model and Claude Desktop only the text,
    so the mark goes in both: a `simulated: true` field (the output schemas allow extra fields) and
    a closing text block. Hosts show the instructions (initialize / server/discover) at connect.
    """
    result = await call_next(ctx)
    if ctx.method not in ("tools/call", "initialize", "server/discover") or result is None:
        return result
    data = (
        dict(result)
        if isinstance(result, dict)
        else result.model_dump(by_alias=True, exclude_none=True, mode="json")
    )
    if ctx.method == "tools/call" and isinstance(data.get("content"), list):
        data["content"] = [*data["content"], {"type": "text", "text": SIMULATED_NOTE}]
        if isinstance(data.get("structuredContent"), dict):
            data["structuredContent"] = {**data["structuredContent"], "simulated": True}
    elif ctx.method != "tools/call":
        data["instructions"] = f"{SIMULATED_NOTE}\n\n{data.get('instructions') or ''}".strip()
    return data
