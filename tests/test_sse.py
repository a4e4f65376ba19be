"""SSE framing over bytes (fw_mcp/fireworks/sse.py): the wire vectors in every chunking, the
WHATWG line rules, and the size bound."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fw_mcp.fireworks.sse import EventTooLarge, SSEDecoder
from tests.conftest import VECTORS

SSE_VECTORS = sorted(VECTORS.glob("*.sse"))


def decode(chunks: list[bytes], max_event_bytes: int = 1024 * 1024) -> list[bytes]:
    decoder = SSEDecoder(max_event_bytes)
    out: list[bytes] = []
    for chunk in chunks:
        out += decoder.feed(chunk)
    return out + decoder.flush()


def expected_data(raw: bytes) -> list[bytes]:
    """The vectors are data-only events separated by blank lines."""
    blocks = [b for b in raw.replace(b"\r\n", b"\n").split(b"\n\n") if b.strip()]
    return [b.strip().removeprefix(b"data:").strip() for b in blocks]


@pytest.mark.parametrize("path", SSE_VECTORS, ids=lambda p: p.name)
def test_wire_vectors_whole_bytewise_and_in_odd_pieces(path) -> None:  # type: ignore[no-untyped-def]
    raw = path.read_bytes()
    want = expected_data(raw)
    assert want and want[-1] == b"[DONE]"
    assert decode([raw]) == want
    assert decode([raw[i : i + 1] for i in range(len(raw))]) == want
    assert decode([raw[i : i + 7] for i in range(0, len(raw), 7)]) == want
    for data in want[:-1]:
        json.loads(data)  # every event before [DONE] is one JSON chunk


def test_crlf_cr_and_a_crlf_split_between_chunks() -> None:
    assert decode([b"data: a\r\n\r\ndata: b\r\rdata: c\n\n"]) == [b"a", b"b", b"c"]
    # CR at the end of one chunk, LF at the start of the next: one line end, not two
    assert decode([b"data: a\r", b"\ndata: b\r", b"\n\r\n"]) == [b"a\nb"]
    assert decode([b"data: a\r", b"\r"]) == [b"a"]


def test_comments_other_fields_and_multi_line_data() -> None:
    stream = b": keep-alive\nevent: message\nid: 7\nretry: 100\ndata: one\ndata:two\ndata\n\n"
    assert decode([stream]) == [b"one\ntwo\n"]
    assert decode([b": only a comment\n\n"]) == [], "an event without data is not dispatched"
    assert decode([b"data:  two spaces\n\n"]) == [b" two spaces"], "only one leading space is dropped"


def test_an_unterminated_last_event_is_returned_at_the_end() -> None:
    assert decode([b"data: [DONE]"]) == [b"[DONE]"]
    assert decode([b"data: x\n"]) == [b"x"]


def test_an_endless_line_is_refused_not_buffered() -> None:
    decoder = SSEDecoder(max_event_bytes=64 * 1024)
    decoder.feed(b"data: ")
    with pytest.raises(EventTooLarge):
        for _ in range(100):
            decoder.feed(b"x" * 1024)


def test_an_event_of_many_lines_is_bounded_too() -> None:
    with pytest.raises(EventTooLarge):
        decode([b"data: " + b"y" * 1000 + b"\n"] * 100, max_event_bytes=64 * 1024)
    assert len(decode([b"data: " + b"y" * 1000 + b"\n"] * 50 + [b"\n"], max_event_bytes=64 * 1024)) == 1


events = st.lists(
    st.lists(
        st.binary(max_size=40).filter(lambda b: b"\n" not in b and b"\r" not in b), min_size=1, max_size=3
    ),
    max_size=8,
)


@settings(max_examples=300, deadline=None)
@given(events=events, newline=st.sampled_from([b"\n", b"\r\n", b"\r"]), cuts=st.lists(st.integers(0, 400)))
def test_any_events_any_line_ends_any_chunking(
    events: list[list[bytes]], newline: bytes, cuts: list[int]
) -> None:
    raw = b"".join(b"".join(b"data: " + line + newline for line in ev) + newline for ev in events)
    points = sorted({min(c, len(raw)) for c in cuts})
    chunks = [raw[a:b] for a, b in zip([0, *points], [*points, len(raw)], strict=True)]
    assert decode(chunks) == [b"\n".join(ev) for ev in events]
