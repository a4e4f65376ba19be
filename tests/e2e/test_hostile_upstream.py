"""Issue 14, items 2, 3, 5 and 7: a hostile or broken upstream, over stdio as hosts run the server.

The simulator plays the upstream: deep JSON in an event, a gzip bomb, a stream that never ends, a
key echoed in an error, a 200 whose body is not JSON. Each call ends as the documented error (with
the partial answer where there is one), and `ping` is answered within a second while it runs.
"""

from __future__ import annotations

import base64
import gzip
import json
from pathlib import Path
from typing import Any

from fw_mcp.simulator import SimulatorServer
from tests.conftest import TEST_KEY
from tests.e2e.attack import config_file, message, ping_during
from tests.e2e.helpers import server_env, stdio_session


def event(content: str) -> str:
    chunk = {
        "id": "c1",
        "object": "chat.completion.chunk",
        "model": "m",
        "choices": [{"index": 0, "delta": {"content": content}}],
    }
    return f"data: {json.dumps(chunk)}\n\n"


def events_sent(sim: SimulatorServer, n: int = 1) -> Any:
    return lambda: sim.sim.wait_for_async(lambda rs: bool(rs) and rs[0]["events_sent"] >= n, timeout=20)


def first_request_ended(sim: SimulatorServer) -> Any:
    return lambda: sim.sim.wait_for_async(lambda rs: bool(rs) and rs[0]["ended_at"] is not None, timeout=20)


async def chat(simulator: SimulatorServer, busy: Any, env: dict[str, str] | None = None) -> tuple[Any, str]:
    async with stdio_session({**server_env(simulator.base_url), **(env or {})}, mode="legacy") as s:
        result = await ping_during(s, "chat", {"prompt": "hi"}, busy)
        stderr = s.stderr()
    return result, stderr


async def test_a_deeply_nested_event_ends_the_answer_as_incomplete(simulator: SimulatorServer) -> None:
    deep = "data: " + "[" * 100_000 + "]" * 100_000 + "\n\n"
    simulator.sim.enqueue({"raw_sse": event("Hello ") + event("world") + deep, "token_delay": 0.5})
    result, _ = await chat(simulator, events_sent(simulator))
    assert result.is_error and result.structured_content is not None
    assert result.structured_content["finish_reason"] == "incomplete"
    assert result.structured_content["text"] == "Hello world", "the partial answer is kept"
    assert "nested more than 100 levels deep" in message(result)


async def test_a_gzip_bomb_is_read_with_a_bound_and_retried(
    simulator: SimulatorServer, tmp_path: Path
) -> None:
    bomb = gzip.compress(b'{"choices": [' + b" " * (64 << 20) + b"]}", compresslevel=9)
    assert len(bomb) < 100_000, "small on the wire"
    entry = {"body_base64": base64.b64encode(bomb).decode(), "headers": {"content-encoding": "gzip"}}
    simulator.sim.enqueue({**entry, "times": 3})
    env = config_file(tmp_path, limits={"max_stream_bytes": 1 << 20}, retries={"backoff_base": 1.0})
    result, _ = await chat(simulator, first_request_ended(simulator), env)
    assert result.is_error
    text = message(result)
    assert "after 3 attempts: the answer passed 1,048,576 bytes ([limits] max_stream_bytes)" in text
    assert len(simulator.sim.requests) == 3, "an unusable 200 follows the retry policy"


async def test_an_endless_stream_ends_as_incomplete_at_its_size_cap(
    simulator: SimulatorServer, tmp_path: Path
) -> None:
    simulator.sim.enqueue({"raw_sse": event("x" * 1000) * 300, "token_delay": 0.005})
    env = config_file(tmp_path, limits={"max_stream_bytes": 64 * 1024})
    result, _ = await chat(simulator, events_sent(simulator), env)
    assert result.is_error and result.structured_content is not None
    assert result.structured_content["finish_reason"] == "incomplete"
    kept = result.structured_content["text"]
    assert 30_000 < len(kept) < 64 * 1024 and set(kept) == {"x"}, "the text so far, and no more"
    assert "passed 65,536 bytes ([limits] max_stream_bytes)" in message(result)
    record = await simulator.sim.wait_for_async(lambda rs: rs[0]["outcome"] is not None, timeout=10)
    assert record[0]["events_sent"] < 300, "the upstream stream was closed, not read to its end"


async def test_an_error_event_echoing_the_key_is_redacted(simulator: SimulatorServer) -> None:
    echo = {"error": {"message": f"invalid request from key {TEST_KEY}", "type": "invalid_request_error"}}
    raw = event("Partial ") + f"data: {json.dumps(echo)}\n\n"
    simulator.sim.enqueue({"raw_sse": raw, "token_delay": 0.5})
    result, stderr = await chat(simulator, events_sent(simulator))
    assert result.is_error and result.structured_content is not None
    assert result.structured_content["finish_reason"] == "incomplete"
    assert "invalid request from key [redacted]" in message(result)
    assert TEST_KEY not in json.dumps(result.model_dump(mode="json"))
    assert "[redacted]" in stderr and TEST_KEY not in stderr, "logged, and redacted in the log too"


async def test_a_key_straddling_the_500_character_cut_is_redacted_whole(
    simulator: SimulatorServer, tmp_path: Path
) -> None:
    body = {"error": {"message": "x" * 495 + TEST_KEY + " was refused"}}
    simulator.sim.enqueue({"status": 400, "body": body, "delay": 1.0})
    result, stderr = await chat(simulator, lambda: simulator.sim.wait_for_requests_async(1, timeout=20))
    text = message(result)
    assert result.is_error and "Fireworks returned HTTP 400" in text
    assert TEST_KEY[:6] not in text and TEST_KEY[:6] not in stderr, "no part of the key survives the cut"


async def test_a_200_that_is_not_json_is_a_retried_transport_error(
    simulator: SimulatorServer, tmp_path: Path
) -> None:
    simulator.sim.enqueue(
        {"body_text": "<html>maintenance</html>", "content_type": "application/json", "times": 3}
    )
    env = config_file(tmp_path, retries={"backoff_base": 1.0})
    result, _ = await chat(simulator, first_request_ended(simulator), env)
    text = message(result)
    assert result.is_error
    assert "Could not get an answer from Fireworks" in text and "after 3 attempts" in text
    assert "the answer was not valid JSON" in text
    assert [r["status"] for r in simulator.sim.requests] == [200, 200, 200]
