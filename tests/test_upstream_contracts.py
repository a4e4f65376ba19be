"""The behaviour of our dependencies that fw-mcp works around, pinned so a change fails here, loudly.

Each workaround names the upstream behaviour it relies on and what would let us delete it (see its
docstring). When a test here fails, the dependency changed under the workaround: read the message,
then adapt the workaround or delete it. (The client's own, httpcore2's pool backend, is pinned
by the tests of fw_mcp/fireworks/transport.py.)
"""

from __future__ import annotations

import inspect
import io
import os

import anyio
import mcp
from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.tools import ToolManager
from mcp.server.mcpserver.utilities.func_metadata import func_metadata
from mcp.server.stdio import stdio_server

from fw_mcp.server import build_server
from fw_mcp.settings import Settings
from fw_mcp.simulator import SimulatorServer

JSON_LOOKING_TEXT = '{"a": 1}'


async def _text_tool(prompt: str | None = None) -> str:
    return prompt or ""


def test_the_sdk_still_json_decodes_text_arguments() -> None:
    decoded = func_metadata(_text_tool).pre_parse_json({"prompt": JSON_LOOKING_TEXT})
    assert decoded == {"prompt": {"a": 1}}, (
        "The MCP SDK no longer JSON-decodes `str | None` arguments: delete fw_mcp.server._TextSafeMetadata."
    )


async def test_text_that_looks_like_json_reaches_fireworks_as_sent(
    settings: Settings, simulator: SimulatorServer
) -> None:
    async with mcp.Client(build_server(settings)) as client:
        result = await client.call_tool("chat", {"prompt": JSON_LOOKING_TEXT, "system": "null"})
    assert not result.is_error, result.content
    messages = simulator.sim.requests[-1]["body"]["messages"]
    assert [m["content"] for m in messages] == ["null", JSON_LOOKING_TEXT]


def test_the_sdk_server_still_runs_stdio_only_on_its_own_streams() -> None:
    """fw_mcp.server.FwMcpServer.run_stdio_async repeats the SDK's, through `_lowlevel_server`."""
    assert list(inspect.signature(MCPServer.run_stdio_async).parameters) == ["self"], (
        "MCPServer.run_stdio_async now takes arguments: pass fw_mcp.stdio's streams to it and drop "
        "FwMcpServer.run_stdio_async's use of the private _lowlevel_server."
    )
    lowlevel = MCPServer("contract")._lowlevel_server
    run = inspect.signature(lowlevel.run).parameters
    assert list(run)[:3] == ["read_stream", "write_stream", "initialization_options"], list(run)
    assert callable(lowlevel.create_initialization_options)


async def test_the_sdk_stdio_server_leaves_fds_alone_when_given_streams() -> None:
    """fw_mcp.stdio claims fds 0 and 1 itself because the SDK skips its claim for explicit streams."""
    before = [_identity(fd) for fd in (0, 1)]
    stdin, stdout = anyio.wrap_file(io.StringIO()), anyio.wrap_file(io.StringIO())
    async with stdio_server(stdin=stdin, stdout=stdout) as (read_stream, write_stream):
        during = [_identity(fd) for fd in (0, 1)]
        await write_stream.aclose()
        await read_stream.aclose()
    assert during == before, (
        "The SDK's stdio_server() now diverts fds 0/1 even for explicit streams: delete fw_mcp.stdio's "
        "own claim (_claim, _release) and let the SDK's do it."
    )


def _identity(fd: int) -> tuple[int, int] | None:
    try:
        info = os.fstat(fd)
    except OSError:
        return None
    return info.st_dev, info.st_ino


def test_the_sdk_server_still_keeps_its_tools_in_a_tool_manager(settings: Settings) -> None:
    """FwMcpServer registers each tool on first use through the SDK's private `_tool_manager`, and
    loads a tool before the SDK's private `_tool_input_schema` hook (HTTP `Mcp-Param` checks) reads it."""
    plain = MCPServer("contract")
    assert isinstance(plain._tool_manager, ToolManager), (
        "MCPServer._tool_manager changed: see FwMcpServer._load"
    )
    tool = plain._tool_manager.add_tool(_text_tool, name="text")
    assert plain._tool_input_schema("text") == tool.parameters
    assert plain._lowlevel_server.get_tool_input_schema == plain._tool_input_schema, (
        "The SDK no longer reads tool schemas through MCPServer._tool_input_schema: "
        "FwMcpServer._tool_input_schema must hook what it uses now."
    )
    ours = build_server(settings)
    schema = ours._lowlevel_server.get_tool_input_schema
    assert schema is not None
    found = schema("chat")  # no tool is loaded yet: the hook loads it
    assert found is not None and "prompt" in found["properties"]
