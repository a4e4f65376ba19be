"""The SSE accumulator and parser against the byte-exact wire vectors."""

from __future__ import annotations

import json

import httpx2
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fw_mcp.fireworks.client import FireworksClient, create_http_client
from fw_mcp.fireworks.stream import MalformedChunk, StreamAccumulator, split_think
from fw_mcp.fireworks.wire import ChatRequest, UserMessage
from tests.conftest import TEST_KEY, VECTORS, make_settings


def replay(name: str) -> StreamAccumulator:
    acc = StreamAccumulator()
    for block in (VECTORS / name).read_text().split("\n\n"):
        data = block.removeprefix("data: ").strip()
        if data and data != "[DONE]":
            acc.apply(json.loads(data))
    return acc


def test_basic_stream_gives_text_finish_and_usage() -> None:
    done = replay("chat_stream_basic.sse").completion()
    assert done.text == "Hello there!"
    assert done.finish_reason == "stop"
    assert done.usage.as_dict() == {
        "prompt_tokens": 12,
        "completion_tokens": 5,
        "total_tokens": 17,
        "cached_tokens": 0,
    }
    assert done.reasoning is None


def test_usage_in_extra_final_chunk_with_empty_choices() -> None:
    done = replay("chat_stream_include_usage.sse").completion()
    assert done.text == "Hi"
    assert (done.usage.prompt_tokens, done.usage.completion_tokens, done.usage.total_tokens) == (9, 1, 10)


def test_tool_call_fragments_reassemble_per_index() -> None:
    done = replay("chat_stream_tool_calls.sse").completion()
    assert [(c.id, c.name, json.loads(c.arguments)) for c in done.tool_calls] == [
        ("call_a1", "get_weather", {"location": "Paris"}),
        ("call_b2", "get_time", {"tz": "Europe/Paris"}),
    ]
    assert done.finish_reason == "tool_calls"
    assert done.text == ""


def test_reasoning_content_is_kept_apart_from_the_answer() -> None:
    done = replay("chat_stream_reasoning.sse").completion()
    assert done.text == "Hello!"
    assert done.reasoning == "The user greets me. I should greet back."


def test_think_tags_are_split_out_of_content() -> None:
    done = replay("chat_stream_think_tags.sse").completion()
    assert done.text == "Paris."
    assert done.reasoning == "Short question."


def test_cut_by_length_is_reported() -> None:
    done = replay("chat_stream_cut_by_length.sse").completion()
    assert done.finish_reason == "length"
    assert done.text == '{"name": "Jo'


def test_unclosed_think_block_is_all_reasoning() -> None:
    assert split_think("<think>still thinking") == ("", "still thinking")
    assert split_think("no tags") == ("no tags", None)


REQUEST = ChatRequest(model="m", messages=[UserMessage(content="hi")])


@pytest.mark.parametrize("chunk", [[], "x", {"choices": "nope"}, {"error": {"message": "boom"}}])
def test_malformed_chunks_are_refused(chunk: object) -> None:
    with pytest.raises(MalformedChunk):
        StreamAccumulator().apply(chunk)


def test_role_only_chunk_is_not_output() -> None:
    acc = StreamAccumulator()
    assert acc.apply({"choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}}]}) is False
    assert not acc.received_output


@pytest.mark.parametrize(
    ("vector", "text"),
    [
        ("chat_stream_basic.sse", "Hello there!"),
        ("chat_stream_think_tags.sse", "Paris."),
        ("chat_stream_include_usage.sse", "Hi"),
    ],
)
async def test_client_parses_vectors_from_the_wire(vector: str, text: str) -> None:
    raw = (VECTORS / vector).read_bytes()

    def handler(request: httpx2.Request) -> httpx2.Response:
        assert request.headers["authorization"] == f"Bearer {TEST_KEY}"
        body = json.loads(request.content)
        assert body["stream"] is True and body["stream_options"] == {"include_usage": True}
        return httpx2.Response(200, headers={"content-type": "text/event-stream"}, content=raw)

    settings = make_settings("http://fireworks.test/inference")
    async with create_http_client(settings, transport=httpx2.MockTransport(handler)) as http:
        done = await FireworksClient(settings, http).chat(REQUEST)
    assert done.text == text


async def test_client_accepts_a_non_streamed_json_completion() -> None:
    raw = (VECTORS / "chat_response_tool_calls.json").read_bytes()
    settings = make_settings("http://fireworks.test/inference/v1")

    def handler(request: httpx2.Request) -> httpx2.Response:
        assert request.url.path == "/inference/v1/chat/completions"
        return httpx2.Response(200, headers={"content-type": "application/json"}, content=raw)

    async with create_http_client(settings, transport=httpx2.MockTransport(handler)) as http:
        done = await FireworksClient(settings, http).chat(REQUEST)
    assert [(c.name, json.loads(c.arguments)) for c in done.tool_calls] == [
        ("get_weather", {"location": "Paris"})
    ]
    assert done.usage.cached_tokens == 64
    assert done.finish_reason == "tool_calls"


_PIECES = st.sampled_from(["<think>", "</think>", "<th", "ink>", "</th", " ", "\n", "a", "word ", "é", "<"])


@settings(max_examples=300, deadline=None)
@given(pieces=st.lists(_PIECES, max_size=40), cuts=st.lists(st.integers(1, 9), min_size=1, max_size=40))
def test_the_answer_split_as_it_streams_is_the_final_answer(pieces: list[str], cuts: list[int]) -> None:
    """Whatever the chunking, the answer pieces shown while streaming are the final answer (once it
    is known not to open with <think>), and the tails are the final texts' tails."""
    raw = "".join(pieces)
    acc, at, n = StreamAccumulator(), 0, 0
    while at < len(raw):
        step = cuts[n % len(cuts)]
        acc.apply({"choices": [{"index": 0, "delta": {"content": raw[at : at + step]}}]})
        at, n = at + step, n + 1
    text, _ = acc.visible()
    opening = raw.lstrip()
    undecided = len(opening) < len("<think>") and "<think>".startswith(opening)  # "", "<", "<th"...
    assert "".join(acc.answer_pieces) == ("" if undecided else text)
    assert acc.tails(16)[0] == ("" if undecided else text[-16:])


def test_tails_read_only_the_end_of_a_long_answer() -> None:
    acc = StreamAccumulator()
    for i in range(10_000):
        acc.apply({"choices": [{"index": 0, "delta": {"content": f"w{i} "}}]})
    assert acc.tails(12) == ("w9998 w9999 ", "")
    thinking = StreamAccumulator()
    for piece in ["<think>", "plan ", "more", "</thi"]:
        thinking.apply({"choices": [{"index": 0, "delta": {"content": piece}}]})
    assert thinking.tails(40) == ("", "plan more</thi") and not thinking.has_text
