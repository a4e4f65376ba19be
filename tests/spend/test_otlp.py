"""End to end: `python -m fw_mcp` exports its spans over OTLP/HTTP to a receiver on loopback."""

from __future__ import annotations

from pathlib import Path

from fw_mcp.simulator import SimulatorServer
from tests.conftest import TEST_KEY
from tests.e2e.helpers import server_env, stdio_session
from tests.spend.otlp_receiver import OtlpReceiver

GPT = "accounts/fireworks/models/gpt-oss-120b"
USAGE = {
    "prompt_tokens": 12,
    "completion_tokens": 3,
    "total_tokens": 15,
    "prompt_tokens_details": {"cached_tokens": 8},
}


async def test_a_tool_call_exports_its_fireworks_span_under_the_tools_call_span(
    simulator: SimulatorServer, tmp_path: Path
) -> None:
    simulator.sim.enqueue({"reply": {"content": "hello there", "usage": USAGE}})
    with OtlpReceiver() as receiver:
        env = server_env(
            simulator.base_url,
            OTEL_EXPORTER_OTLP_ENDPOINT=receiver.endpoint,
            OTEL_SERVICE_NAME="fw-mcp-test",
            OTEL_BSP_SCHEDULE_DELAY="50",
        )
        async with stdio_session(env) as session:
            result = await session.call("chat", {"prompt": "secret prompt", "model": "gpt-oss"})
            assert not result.is_error
        spans = {s.name: s for s in receiver.wait_for(2)}
    tool, request = spans["tools/call chat"], spans[f"chat {GPT}"]
    assert request.trace_id == tool.trace_id and request.parent_span_id == tool.span_id
    assert request.kind == 3 and request.service == "fw-mcp-test"  # SPAN_KIND_CLIENT
    assert request.attributes["gen_ai.provider.name"] == "fireworks"
    assert request.attributes["gen_ai.usage.input_tokens"] == 12
    assert request.attributes["gen_ai.usage.cache_read.input_tokens"] == 8
    assert request.attributes["gen_ai.response.finish_reasons"] == ("stop",)
    everything = repr(receiver.spans)
    assert (
        "secret prompt" not in everything and "hello there" not in everything and TEST_KEY not in everything
    )
