"""The one redactor: what it knows, where it is applied (errors, logs), and that it acts before cuts."""

from __future__ import annotations

import io
import json
import logging
from pathlib import Path

import httpx2
import mcp
import pytest

from fw_mcp.errors import FireworksHTTPError, StreamInterrupted
from fw_mcp.fireworks import CallOptions, FireworksClient
from fw_mcp.fireworks.failures import MAX_ERROR_BODY
from fw_mcp.fireworks.wire import ChatRequest, UserMessage
from fw_mcp.logs import RedactSecrets
from fw_mcp.redaction import REDACTOR, Redactor
from fw_mcp.server import build_server
from fw_mcp.simulator import SimulatorServer
from tests.cli.helpers import spawn
from tests.conftest import TEST_KEY, make_settings

PER_REQUEST = "fw_someone_elses_key_9876543210"


def test_permanent_in_flight_and_recent_secrets() -> None:
    r = Redactor()
    r.add("configured-key-123", "short", None)
    assert r.redact("a configured-key-123 b short") == "a [redacted] b short", "short strings are not secrets"
    with r.in_flight("per-request-key-1"):
        assert r.redact("x per-request-key-1 y") == "x [redacted] y"
    assert r.redact("later: per-request-key-1") == "later: [redacted]", "remembered for late log lines"
    r.add("abcdefgh", "abcdefgh-longer")
    assert r.redact("abcdefgh-longer") == "[redacted]", "the longest secret is replaced whole"


def test_the_log_filter_redacts_messages_arguments_and_tracebacks() -> None:
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.addFilter(RedactSecrets())
    log = logging.getLogger("fw_mcp.test_redaction")
    log.addHandler(handler)
    log.propagate = False
    try:
        with REDACTOR.in_flight(PER_REQUEST):
            log.warning("upstream said %s", f"bad key {PER_REQUEST}")
            try:
                raise ValueError(f"echo {PER_REQUEST}")
            except ValueError:
                log.exception("failed")
    finally:
        log.removeHandler(handler)
    text = out.getvalue()
    assert PER_REQUEST not in text
    assert "upstream said bad key [redacted]" in text and "ValueError: echo [redacted]" in text


async def test_a_per_request_key_echoed_in_an_error_event_is_redacted(simulator: SimulatorServer) -> None:
    chunk = {"choices": [{"index": 0, "delta": {"content": "Hi"}}]}
    echo = {"error": {"message": f"quota exceeded for {PER_REQUEST}"}}
    raw = f"data: {json.dumps(chunk)}\n\ndata: {json.dumps(echo)}\n\n"
    simulator.sim.enqueue({"raw_sse": raw})
    settings = make_settings(simulator.base_url)
    async with httpx2.AsyncClient(base_url=settings.base_url + "/") as http:
        client = FireworksClient(settings, http)
        request = ChatRequest(
            model="accounts/fireworks/models/deepseek-v3p1", messages=[UserMessage(content="hi")]
        )
        with pytest.raises(StreamInterrupted) as caught:
            await client.chat(request, options=CallOptions(api_key=PER_REQUEST))
    assert "quota exceeded for [redacted]" in str(caught.value)
    assert caught.value.partial is not None and caught.value.partial.text == "Hi"
    assert simulator.sim.requests[0]["api_key"] == PER_REQUEST


async def test_a_result_echoing_the_key_is_redacted(simulator: SimulatorServer) -> None:
    simulator.sim.enqueue({"reply": {"content": f"The key you use is {TEST_KEY}."}})
    async with mcp.Client(build_server(make_settings(simulator.base_url))) as client:
        result = await client.call_tool("chat", {"prompt": "what key?"})
    assert not result.is_error
    assert "The key you use is [redacted]." in result.content[0].text  # type: ignore[union-attr]
    assert result.structured_content is not None
    assert result.structured_content["text"] == "The key you use is [redacted]."


def test_a_secret_cut_at_the_head_bound_is_removed_whole() -> None:
    r = Redactor()
    secret = "fw_straddling_secret_0123456789"
    r.add(secret)
    text = "a" * 90 + secret + " after"
    head = r.redact_head(text, 100)
    assert "fw_stra" not in head and head == "a" * 90 + "[redacted]", "the key straddles the cut at 100"
    assert r.redact_head(("a" * 90 + secret[:12]), 100) == "a" * 90 + "[redacted]", "a key already cut"
    many = (secret + " ") * 20
    assert secret[:5] not in r.redact_head(many, 200), "redaction shortens the text: no key moves in"
    assert r.redact_head("fw_s is a prefix too short to matter", 100).startswith("fw_s is")


async def error_message_for(simulator: SimulatorServer, body: str, key: str | None) -> str:
    """The message of the FireworksHTTPError for a 400 with this text body, the call using `key`."""
    simulator.sim.enqueue({"status": 400, "body_text": body, "content_type": "text/plain"})
    settings = make_settings(simulator.base_url)
    async with httpx2.AsyncClient(base_url=settings.base_url + "/") as http:
        client = FireworksClient(settings, http)
        request = ChatRequest(
            model="accounts/fireworks/models/deepseek-v3p1", messages=[UserMessage(content="hi")]
        )
        with pytest.raises(FireworksHTTPError) as caught:
            await client.chat(request, options=CallOptions(api_key=key))
    return str(caught.value)


@pytest.mark.parametrize("per_request", [False, True])
async def test_a_key_straddling_the_error_body_bound_is_redacted(
    simulator: SimulatorServer, per_request: bool
) -> None:
    """Whitespace collapses, so a key cut at the 64 KiB read bound would open the message."""
    key = PER_REQUEST if per_request else TEST_KEY
    body = " " * (MAX_ERROR_BODY - 10) + key + " was refused"
    text = await error_message_for(simulator, body, PER_REQUEST if per_request else None)
    assert key[:6] not in text and "[redacted]" in text


@pytest.mark.parametrize("per_request", [False, True])
async def test_a_key_straddling_the_message_cut_is_redacted(
    simulator: SimulatorServer, per_request: bool
) -> None:
    key = PER_REQUEST if per_request else TEST_KEY
    body = json.dumps({"error": {"message": "m" * 495 + key}})
    text = await error_message_for(simulator, body, PER_REQUEST if per_request else None)
    assert "m" * 495 in text and key[:4] not in text.split("m" * 495)[1]


def test_the_cli_redacts_the_key_in_its_error_line(tmp_path: Path) -> None:
    key = "fw_cli_secret_key_0123456789"
    ran = spawn("--config", str(tmp_path / f"{key}.toml"), "models", env={"FIREWORKS_API_KEY": key})
    assert ran.code != 0 and "does not exist" in ran.err
    assert key not in ran.err and "[redacted].toml" in ran.err
