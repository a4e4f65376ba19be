"""The tool registry: every MCP tool fw-mcp serves, declared once, in `TOOLS`.

Everything that lists the tools reads this table: the server (which tools it registers, and its
instructions), settings' `[models]` (one default model per `model_key`), the model catalogue and
`fw-mcp doctor` (each tool's default, and the capability it needs), `fw-mcp call` (which tools
stream their answer) and the Inspector check in CI (`.ci/inspector.sh`).

The table is plain data, and a tool's function is named by its import path: settings and the CLI
read the registry without importing the MCP SDK or any tool module (start-up time is benchmarked).

Adding a tool, say `embed`:

1. `fw_mcp/tools/embed.py`: the tool function, its arguments as pydantic `Field`s with descriptions,
   its docstring written for the model that reads it; it builds a request model, never wire dicts.
2. Its entry below: name, `"fw_mcp.tools.embed:embed"`, the `[models]` key of its default model,
   the capability that model needs, whether its answer streams, a one-line summary.
3. That key with a default model in `configs/default.toml` (and its packaged copy,
   `fw_mcp/configs/default.toml`), documented in `configs/fw-mcp.example.toml`.
4. The request model and the client method in `fw_mcp/fireworks/`, and the simulator route.
5. Its tests (`tests/e2e/test_stdio_tools.py` lists the tools a host sees from this table).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from importlib import import_module
from typing import Any

__all__ = [
    "TOOLS",
    "Capability",
    "Effect",
    "ToolSpec",
    "get_tool",
    "instructions",
    "model_keys",
    "streamed_tools",
]


class Capability(StrEnum):
    """What a tool's model must be able to do; `fw-mcp doctor` checks the default model has it."""

    TEXT = "text"
    VISION = "vision"
    TOOLS = "tools"  # function calling
    EMBEDDINGS = "embeddings"
    RERANK = "rerank"


class Effect(StrEnum):
    """What a tool changes besides calling a model, for the hints hosts use to ask before a call."""

    READS = "reads"  # changes nothing
    CREATES = "creates"  # adds something (a batch job and its dataset on the account)
    DESTROYS = "destroys"  # may replace or end something (overwrite a file, cancel a job)


@dataclass(frozen=True)
class ToolSpec:
    """One tool. `function` is `"module:attribute"`, imported only by `load()` (when serving)."""

    name: str
    function: str
    model_key: str | None  # None: the tool calls no model (batch_status reads a job's state)
    capability: Capability
    streamed: bool
    summary: str
    effect: Effect = Effect.READS  # what hosts are told through the read-only / destructive hints

    def load(self) -> Callable[..., Any]:
        """The tool's function (imports its module, and with it the MCP SDK)."""
        module, _, attribute = self.function.partition(":")
        fn: Callable[..., Any] = getattr(import_module(module), attribute)
        return fn


# In the order hosts list them. `streamed`: the answer is the model's text as it streams (extract_json
# answers with validated, re-indented JSON, call_with_tools with checked calls: their streams are not
# the answer).
TOOLS: tuple[ToolSpec, ...] = (
    ToolSpec(
        name="chat",
        function="fw_mcp.tools.chat:chat",
        model_key="chat",
        capability=Capability.TEXT,
        streamed=True,
        summary="an answer from an open text model",
    ),
    ToolSpec(
        name="extract_json",
        function="fw_mcp.tools.extract_json:extract_json",
        model_key="extract_json",
        capability=Capability.TEXT,
        streamed=False,
        summary="data matching a JSON Schema, extracted from text",
    ),
    ToolSpec(
        name="describe_image",
        function="fw_mcp.tools.describe_image:describe_image",
        model_key="describe_image",
        capability=Capability.VISION,
        streamed=True,
        summary="what a vision model sees in images (URLs, data URIs, or local files in allowed folders)",
    ),
    ToolSpec(
        name="call_with_tools",
        function="fw_mcp.tools.call_with_tools:call_with_tools",
        model_key="call_with_tools",
        capability=Capability.TOOLS,
        streamed=False,
        summary="the function calls a model chooses from tools you describe",
    ),
    ToolSpec(
        name="embed",
        function="fw_mcp.tools.embed:embed",
        model_key="embed",
        capability=Capability.EMBEDDINGS,
        streamed=False,
        summary="embedding vectors for texts (optionally written to a file in the output folder)",
        effect=Effect.DESTROYS,  # writes into the output folder, replacing a file when `overwrite` says so
    ),
    ToolSpec(
        name="rerank",
        function="fw_mcp.tools.rerank:rerank",
        model_key="rerank",
        capability=Capability.RERANK,
        streamed=False,
        summary="documents ordered by relevance to a query",
    ),
    ToolSpec(
        name="search",
        function="fw_mcp.tools.search:search",
        model_key="embed",  # and [models] rerank, the rerank tool's key, for the final ordering
        capability=Capability.EMBEDDINGS,
        streamed=False,
        summary="semantic search over local files in allowed folders: the best passages, with line ranges",
    ),
    # Batch inference runs chat models: batch_submit's default is [models] chat. The other batch tools
    # call no model (model_key None): they read, cancel or list jobs.
    ToolSpec(
        name="batch_submit",
        function="fw_mcp.tools.batch_submit:batch_submit",
        model_key="chat",
        capability=Capability.TEXT,
        streamed=False,
        summary="many chat requests run on Fireworks' batch engine at half the price (results within 24 h)",
        effect=Effect.CREATES,
    ),
    ToolSpec(
        name="batch_status",
        function="fw_mcp.tools.batch_status:batch_status",
        model_key=None,
        capability=Capability.TEXT,
        streamed=False,
        summary="a batch job's state and progress, optionally waiting for it to end",
    ),
    ToolSpec(
        name="batch_results",
        function="fw_mcp.tools.batch_results:batch_results",
        model_key=None,
        capability=Capability.TEXT,
        streamed=False,
        summary="a finished batch job's answers, a page at a time or all written to a file in the output folder",
        effect=Effect.DESTROYS,  # output_path writes into the output folder, replacing a file with `overwrite`
    ),
    ToolSpec(
        name="batch_cancel",
        function="fw_mcp.tools.batch_jobs:batch_cancel",
        model_key=None,
        capability=Capability.TEXT,
        streamed=False,
        summary="cancel a batch job",
        effect=Effect.DESTROYS,
    ),
    ToolSpec(
        name="batch_list",
        function="fw_mcp.tools.batch_jobs:batch_list",
        model_key=None,
        capability=Capability.TEXT,
        streamed=False,
        summary="the account's recent batch jobs",
    ),
)


def get_tool(name: str) -> ToolSpec:
    """The tool called `name`.

    Raises:
        KeyError: no tool has that name.
    """
    for spec in TOOLS:
        if spec.name == name:
            return spec
    raise KeyError(name)


def model_keys() -> tuple[str, ...]:
    """The keys of `[models]`: one default model per key, in registry order (tools may share one)."""
    return tuple(dict.fromkeys(spec.model_key for spec in TOOLS if spec.model_key is not None))


def streamed_tools() -> frozenset[str]:
    """Tools whose progress messages carry the answer's text as it streams."""
    return frozenset(spec.name for spec in TOOLS if spec.streamed)


def instructions() -> str:
    """The server's instructions to hosts: which tool is for what."""
    uses = "; ".join(f"`{spec.name}`: {spec.summary}" for spec in TOOLS)
    return f"Tools that run open models on Fireworks AI. {uses}. Answers stream as progress."
