"""The `fireworks://models` resource and the task prompts, through an in-process MCP client."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import mcp
import pytest
from mcp.shared.exceptions import MCPError

from fw_mcp.fireworks.client import create_http_client
from fw_mcp.resources import MODELS_URI
from fw_mcp.server import build_server
from fw_mcp.settings import Settings
from fw_mcp.simulator import SimulatorServer
from tests.conftest import make_settings


@asynccontextmanager
async def connect(settings: Settings) -> AsyncIterator[mcp.Client]:
    """The server as hosts see it, over one HTTP client the test owns."""
    async with create_http_client(settings) as http, mcp.Client(build_server(settings, http=http)) as client:
        yield client


async def user_message(client: mcp.Client, name: str, arguments: dict[str, str]) -> str:
    [message] = (await client.get_prompt(name, arguments)).messages
    assert message.role == "user"
    return message.content.text


async def test_models_resource_is_listed_and_holds_the_catalogue(settings: Settings) -> None:
    async with connect(settings) as client:
        [listed] = [r for r in (await client.list_resources()).resources if str(r.uri) == MODELS_URI]
        [content] = (await client.read_resource(MODELS_URI)).contents
    assert str(listed.uri) == MODELS_URI and listed.mime_type == "application/json" and listed.description
    data = json.loads(content.text)
    assert {m["name"] for m in data["models"]} >= {"deepseek-v3p1", "qwen2p5-vl-32b-instruct"}
    assert data["aliases"]["kimi"] == "accounts/fireworks/models/kimi-k2-instruct-0905"
    assert data["defaults"]["describe_image"] == "accounts/fireworks/models/qwen2p5-vl-32b-instruct"


async def test_models_resource_without_a_key_says_how_to_set_it(simulator: SimulatorServer) -> None:
    async with connect(make_settings(simulator.base_url, key=None)) as client:
        with pytest.raises(MCPError, match="FIREWORKS_API_KEY is not set"):
            await client.read_resource(MODELS_URI)


async def test_prompts_are_listed_with_their_arguments(settings: Settings) -> None:
    async with connect(settings) as client:
        prompts = {p.name: p for p in (await client.list_prompts()).prompts}
    assert set(prompts) == {"summarize", "extract_to_schema", "describe_screenshot"}
    args = {name: {(a.name, a.required) for a in p.arguments or []} for name, p in prompts.items()}
    assert args["summarize"] == {("text", True), ("style", False)}
    assert args["extract_to_schema"] == {("text", True), ("schema", True)}
    assert args["describe_screenshot"] == {("image", True), ("question", False)}
    assert all(p.description and p.title for p in prompts.values())


async def test_summarize_steers_to_the_chat_tool(settings: Settings) -> None:
    async with connect(settings) as client:
        text = await user_message(client, "summarize", {"text": "CRDTs merge freely.", "style": "one line"})
    assert "`chat` tool" in text and "as one line" in text and "CRDTs merge freely." in text


async def test_extract_steers_to_extract_json_with_the_schema(settings: Settings) -> None:
    schema = {"type": "object", "properties": {"age": {"type": "integer"}}}
    async with connect(settings) as client:
        text = await user_message(
            client, "extract_to_schema", {"text": "Ann is 31", "schema": json.dumps(schema)}
        )
        with pytest.raises(MCPError, match="`schema` is not valid JSON"):
            await client.get_prompt("extract_to_schema", {"text": "x", "schema": "{not json"})
    assert "`extract_json` tool" in text and json.dumps(schema, indent=2) in text and "Ann is 31" in text


async def test_describe_screenshot_steers_to_describe_image(settings: Settings) -> None:
    async with connect(settings) as client:
        local = await user_message(client, "describe_screenshot", {"image": "/tmp/shot.png"})
        remote = await user_message(
            client, "describe_screenshot", {"image": "https://example.com/a.png", "question": "Any errors?"}
        )
    assert "`describe_image` tool" in local and '"/tmp/shot.png"' in local and "FW_MCP_ALLOWED_DIRS" in local
    assert '"Any errors?"' in remote and "FW_MCP_ALLOWED_DIRS" not in remote
