"""The baseline: a bare MCP server with one trivial tool, run over stdio as `python bench/echo_server.py`.

It is what any MCP server costs (interpreter, the SDK, JSON-RPC over pipes), so the difference
between it and fw-mcp is what fw-mcp itself adds. Deliberately imports nothing but the SDK.
"""

from mcp.server.mcpserver import MCPServer

server = MCPServer("bench-echo")


@server.tool()
async def echo(text: str) -> str:
    """Return the text unchanged."""
    return text


if __name__ == "__main__":
    server.run()
