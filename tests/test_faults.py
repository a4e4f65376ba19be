"""Fault injection: the real server, called through the official MCP client, against a misbehaving simulator.

Each test scripts the simulator, makes calls, and checks both what the caller got and exactly which
upstream requests were made (the retry policy is asserted by count, not by feel).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import anyio
import mcp
import pytest
from mcp.types import CallToolResult

from fw_mcp.errors import FireworksHTTPError
from fw_mcp.fireworks import CallOptions, FireworksClient, FirstOutput, Retrying, create_http_client
from fw_mcp.fireworks.events import ClientEvent
from fw_mcp.fireworks.wire import ChatRequest, UserMessage
from fw_mcp.server import build_server
from fw_mcp.settings import Settings
from fw_mcp.simulator import SimulatorServer
from tests.conftest import make_settings


@asynccontextmanager
async def connect(settings: Settings) -> AsyncIterator[mcp.Client]:
    async with mcp.Client(build_server(settings)) as client:
        yield client


async def call(
    client: mcp.Client, tool: str = "chat", progress: list[Any] | None = None, **args: Any
) -> CallToolResult:
    async def on_progress(value: float, total: float | None, message: str | None) -> None:
        if progress is not None:
            progress.append((value, message))

    with anyio.fail_after(30):
        return await client.call_tool(tool, args or {"prompt": "hi"}, progress_callback=on_progress)


def text(result: CallToolResult) -> str:
    return "\n".join(b.text for b in result.content if b.type == "text")


def statuses(sim: SimulatorServer) -> list[int | None]:
    return [r["status"] for r in sim.sim.requests]


async def test_429_with_retry_after_waits_as_asked(simulator: SimulatorServer) -> None:
    simulator.sim.enqueue({"error": "429_envelope", "headers": {"retry-after": "0.4"}})
    async with connect(make_settings(simulator.base_url, retries={"backoff_base": 5.0})) as client:
        result = await call(client)
    assert not result.is_error
    first, second = simulator.sim.requests
    assert (first["status"], second["status"]) == (429, 200)
    assert second["started_at"] - first["ended_at"] >= 0.35, "Retry-After: 0.4 must be honoured"


async def test_429_without_retry_after_backs_off_and_succeeds(simulator: SimulatorServer) -> None:
    simulator.sim.enqueue({"error": "429_flat"})
    async with connect(make_settings(simulator.base_url)) as client:
        result = await call(client)
    assert not result.is_error
    assert statuses(simulator) == [429, 200]


async def test_503_then_success(simulator: SimulatorServer) -> None:
    simulator.sim.enqueue({"error": "503_overloaded", "headers": {"retry-after-ms": "50"}})
    progress: list[Any] = []
    async with connect(make_settings(simulator.base_url)) as client:
        result = await call(client, progress=progress)
    assert not result.is_error
    assert statuses(simulator) == [503, 200]
    assert any("trying again" in (m or "") for _, m in progress), "the host hears about the retry"


async def test_persistent_500_gives_up_after_the_policy_and_says_so(simulator: SimulatorServer) -> None:
    simulator.sim.enqueue({"status": 500, "body": {"error": {"message": "boom"}}, "times": 10})
    async with connect(make_settings(simulator.base_url)) as client:
        result = await call(client)
    assert result.is_error
    assert statuses(simulator) == [500, 500, 500]
    assert "HTTP 500 after 3 attempts" in text(result) and "try again" in text(result)


async def test_502_html_body_is_read_as_text(simulator: SimulatorServer) -> None:
    simulator.sim.enqueue({"error": "502_html", "times": 3})
    async with connect(make_settings(simulator.base_url, retries={"max_retries": 0})) as client:
        result = await call(client)
    assert result.is_error and "502 Bad Gateway" in text(result) and "<html>" not in text(result)


async def test_a_200_that_is_not_an_event_stream_is_retried_then_explained(
    simulator: SimulatorServer,
) -> None:
    portal = {"status": 200, "body_text": "<html>Sign in to the proxy</html>", "content_type": "text/html"}
    simulator.sim.enqueue({**portal, "times": 3})
    async with connect(make_settings(simulator.base_url)) as client:
        result = await call(client)
    assert result.is_error and "not an event stream" in text(result) and "text/html" in text(result)
    assert len(simulator.sim.requests) == 3


@pytest.mark.parametrize(
    ("entry", "advice"),
    [
        ({"error": "401_invalid_key"}, "FIREWORKS_API_KEY"),
        ({"status": 402, "body": {"error": {"message": "no plan"}}}, "billing"),
        ({"error": "404_model"}, "not deployed"),
        ({"status": 413, "body": {"error": {"message": "too big"}}}, "too large"),
        ({"error": "400_bad_value"}, "logprobs"),
        ({"status": 403, "body": {"error": {"message": "forbidden"}}}, "permission"),
        ({"error": "503_overloaded", "headers": {"x-should-retry": "false"}}, "shedding load"),
    ],
)
async def test_non_retryable_errors_make_one_request(
    simulator: SimulatorServer, entry: dict[str, Any], advice: str
) -> None:
    simulator.sim.enqueue(entry)
    async with connect(make_settings(simulator.base_url)) as client:
        result = await call(client)
    assert result.is_error and advice in text(result)
    # One chat request, never retried; a 404 also lists the models once, to name the closest ones.
    paths = [r["path"].rsplit("/", 1)[-1] for r in simulator.sim.requests]
    assert paths == (["completions", "models"] if "404" in str(entry) else ["completions"])


async def test_a_400_that_says_rate_limit_is_retried_like_429(simulator: SimulatorServer) -> None:
    simulator.sim.enqueue({"error": "400_rate_limit_in_disguise"})
    async with connect(make_settings(simulator.base_url)) as client:
        result = await call(client)
    assert not result.is_error
    assert statuses(simulator) == [400, 200]


@pytest.mark.parametrize("fault", ["drop_after", "malformed_after", "error_event_after"])
async def test_a_stream_broken_after_tokens_returns_the_partial_answer_unretried(
    simulator: SimulatorServer, fault: str
) -> None:
    simulator.sim.enqueue({"reply": {"content": "one two three four five six"}, fault: 4})
    async with connect(make_settings(simulator.base_url)) as client:
        result = await call(client)
    assert result.is_error
    assert len(simulator.sim.requests) == 1, "retrying would bill twice and change the answer"
    data = result.structured_content
    assert data["finish_reason"] == "incomplete"
    assert data["text"] and "one two three four five six".startswith(data["text"])
    assert "Partial answer:\n" + data["text"] in text(result)
    assert "incomplete" in text(result)


async def test_a_stream_broken_before_any_token_is_retried(simulator: SimulatorServer) -> None:
    simulator.sim.enqueue({"drop_after": 1})  # only the role chunk arrives
    async with connect(make_settings(simulator.base_url)) as client:
        result = await call(client)
    assert not result.is_error
    assert [r["outcome"] for r in simulator.sim.requests] == ["dropped", "completed"]


async def test_deadline_stops_a_slow_upstream_and_closes_it(simulator: SimulatorServer) -> None:
    simulator.sim.enqueue({"delay": 10})
    async with connect(make_settings(simulator.base_url, timeouts={"total": 0.5})) as client:
        result = await call(client)
    assert result.is_error and "0.5 s" in text(result) and "[timeouts] total" in text(result)
    (record,) = simulator.sim.wait_for(lambda rs: bool(rs) and rs[0]["outcome"] is not None)
    assert record["outcome"] == "disconnected"


async def test_deadline_mid_stream_keeps_what_arrived(simulator: SimulatorServer) -> None:
    simulator.sim.enqueue({"reply": {"content": " ".join(["tok"] * 50)}, "token_delay": 0.05})
    async with connect(make_settings(simulator.base_url, timeouts={"total": 0.6})) as client:
        result = await call(client)
    assert result.is_error and result.structured_content["finish_reason"] == "incomplete"
    assert result.structured_content["text"].startswith("tok")


async def test_read_timeout_before_the_first_token_is_retried_then_reported(
    simulator: SimulatorServer,
) -> None:
    simulator.sim.enqueue({"reply": {"content": "a b c"}, "token_delay": 1.0, "times": 3})
    async with connect(make_settings(simulator.base_url, timeouts={"read": 0.3})) as client:
        result = await call(client)
    assert result.is_error
    assert "no data arrived within the read timeout" in text(result) and "after 3 attempts" in text(result)
    records = simulator.sim.wait_for(lambda rs: len(rs) == 3 and all(r["outcome"] for r in rs))
    assert [r["outcome"] for r in records] == ["disconnected"] * 3


async def test_unreachable_upstream_fails_cleanly_after_retries() -> None:
    with anyio.fail_after(20):
        async with connect(make_settings("http://127.0.0.1:9/inference/v1")) as client:
            result = await call(client)
    assert result.is_error
    assert "after 3 attempts" in text(result) and "FIREWORKS_BASE_URL" in text(result)


async def test_fifty_concurrent_calls_with_ten_percent_retryable_failures(simulator: SimulatorServer) -> None:
    for n in range(0, 50, 10):
        simulator.sim.enqueue({"match": f"call-{n:02d}!", "error": "503_overloaded"})
    results: dict[int, CallToolResult] = {}
    async with connect(make_settings(simulator.base_url)) as client:

        async def one(n: int) -> None:
            results[n] = await call(client, prompt=f"call-{n:02d}!")

        with anyio.fail_after(30):
            async with anyio.create_task_group() as tg:
                for n in range(50):
                    tg.start_soon(one, n)
    assert all(not r.is_error for r in results.values()) and len(results) == 50
    assert len(simulator.sim.requests) == 55, "one extra request per injected failure, no more"
    assert statuses(simulator).count(503) == 5


async def test_the_concurrency_cap_queues_and_says_so(simulator: SimulatorServer) -> None:
    simulator.sim.configure(latency=0.3)
    progress: list[Any] = []
    settings = make_settings(simulator.base_url, limits={"max_concurrent_requests": 2})
    async with connect(settings) as client:
        with anyio.fail_after(30):
            async with anyio.create_task_group() as tg:
                for _ in range(5):
                    tg.start_soon(lambda: call(client, progress=progress))
    records = await simulator.sim.wait_for_requests_async(5, finished=True)  # its bookkeeping may lag
    assert len(records) == 5 and all(r["status"] == 200 for r in records)
    # Sweep over starts and ends (an end first on a tie): how many were in flight at once. (Counting
    # the records that overlap one record is not that: one may end and another start during it.)
    edges = sorted([(r["started_at"], 1) for r in records] + [(r["ended_at"], -1) for r in records])
    in_flight = [sum(step for _, step in edges[: i + 1]) for i in range(len(edges))]
    assert max(in_flight) <= 2, "never more than the cap in flight"
    assert any("Waiting for a free upstream slot" in (m or "") for _, m in progress)


async def test_results_are_capped_and_say_so(simulator: SimulatorServer) -> None:
    simulator.sim.enqueue({"reply": {"content": "x" * 5000}})
    async with connect(make_settings(simulator.base_url, limits={"max_result_chars": 1000})) as client:
        result = await call(client)
    assert not result.is_error
    assert result.structured_content["truncated"] is True
    assert len(result.structured_content["text"]) < 1100
    assert "max_result_chars" in text(result)


async def test_length_finish_is_reported(simulator: SimulatorServer) -> None:
    async with connect(make_settings(simulator.base_url)) as client:
        result = await call(client, prompt="tell me a long story please", max_tokens=2)
    assert result.structured_content["finish_reason"] == "length"
    assert "cut at max_tokens" in text(result)


async def test_oversized_input_is_refused_before_upstream(simulator: SimulatorServer) -> None:
    async with connect(make_settings(simulator.base_url, limits={"max_input_chars": 100})) as client:
        result = await call(client, prompt="x" * 101)
        tools = await call(
            client,
            "call_with_tools",
            messages=[{"role": "user", "content": "y" * 200}],
            tools=[{"name": "f"}],
        )
    assert result.is_error and "max_input_chars" in text(result)
    assert tools.is_error and "max_input_chars" in text(tools)
    assert simulator.sim.requests == []


async def test_a_simulated_server_labels_every_result(simulator: SimulatorServer) -> None:
    server = build_server(make_settings(simulator.base_url), simulated=True)
    async with mcp.Client(server) as client:
        ok = await call(client)
        assert (client.instructions or "").startswith("SIMULATED:")
    assert ok.content[-1].text.startswith("SIMULATED:") and ok.structured_content["simulated"] is True
    plain = build_server(make_settings(simulator.base_url))
    async with mcp.Client(plain) as client:
        assert "SIMULATED" not in text(await call(client))


async def test_sequential_calls_reuse_one_upstream_connection(simulator: SimulatorServer) -> None:
    """The stream is read to its end after [DONE], so the connection goes back to the pool:
    no new TCP (and, against Fireworks, TLS) handshake per call."""
    async with connect(make_settings(simulator.base_url)) as client:
        for _ in range(4):
            assert not (await call(client)).is_error
    peers = {r["peer"] for r in simulator.sim.requests}
    assert len(simulator.sim.requests) == 4 and len(peers) == 1, peers


async def test_the_client_reports_its_events_as_data(simulator: SimulatorServer) -> None:
    """Retrying (with attempt, delay and cause), then the first output (answer or reasoning)."""
    events: list[ClientEvent] = []

    async def on_event(event: ClientEvent) -> None:
        events.append(event)

    simulator.sim.enqueue({"error": "503_overloaded", "headers": {"retry-after-ms": "20"}})
    simulator.sim.enqueue({"reply": {"content": "fine", "reasoning": "let me think"}})
    simulator.sim.enqueue({"reply": {"content": "plain"}})
    settings = make_settings(simulator.base_url)
    request = ChatRequest(
        model="accounts/fireworks/models/deepseek-v3p1", messages=[UserMessage(content="hi")]
    )
    async with create_http_client(settings) as http:
        client = FireworksClient(settings, http)
        await client.chat(request, options=CallOptions(on_event=on_event))
        await client.chat(request, options=CallOptions(on_event=on_event))
    retry, first, second = events
    assert isinstance(retry, Retrying) and (retry.attempt, retry.of, retry.delay) == (1, 3, 0.02)
    assert isinstance(retry.cause, FireworksHTTPError) and retry.cause.status_code == 503
    assert first == FirstOutput(reasoning=True) and second == FirstOutput(reasoning=False)


async def test_a_200_json_body_that_is_not_json_is_retried_then_a_transport_error(
    simulator: SimulatorServer,
) -> None:
    broken = {"status": 200, "body_text": "{not json", "content_type": "application/json", "times": 3}
    simulator.sim.enqueue(broken)
    async with connect(make_settings(simulator.base_url)) as client:
        result = await call(client)
    assert result.is_error and "after 3 attempts" in text(result) and "not valid JSON" in text(result)
    assert "Error executing tool" not in text(result)
    assert len(simulator.sim.requests) == 3
