"""JSON Schema work on untrusted schemas and answers, bounded: metered keywords, RE2, a budget, and a
pool of worker processes for what is too costly for the event loop's process.

Nothing here imports the tools or the MCP SDK: a worker process (`python -m fw_mcp.validation.worker`)
loads only this package, jsonschema and RE2, so it starts in a tenth of a second.
"""

__all__: list[str] = []
