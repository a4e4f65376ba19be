"""Passages with line ranges on blank-line boundaries, and the bounded LRU of their embeddings."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from fw_mcp.files.cache import EmbeddingCache, cache_key
from fw_mcp.files.passages import passages


def test_paragraphs_are_gathered_until_the_size_then_cut_at_a_blank_line() -> None:
    para = "word " * 30  # 150 characters
    text = "\n\n".join([para] * 6) + "\n"
    got = list(passages("a.md", text, size=300))
    assert [(p.start_line, p.end_line) for p in got] == [(1, 3), (5, 7), (9, 11)]
    assert got[0].text == f"{para}\n\n{para}"
    assert all(p.path == "a.md" for p in got)


def test_line_numbers_count_newlines_as_grep_does() -> None:
    text = "\n\n\nfirst\r\nsecond\x0cstill second\n\n\nthird\n"
    got = list(passages("x", text, size=20))
    assert [(p.start_line, p.end_line, p.text) for p in got] == [
        (4, 5, "first\nsecond\x0cstill second"),
        (8, 8, "third"),
    ]


def test_a_huge_line_is_cut_into_pieces_that_keep_its_number() -> None:
    got = list(passages("min.js", "head\n" + "x" * 5000 + "\ntail", size=1000))
    assert all(len(p.text) <= 2000 for p in got)
    assert got[0].start_line == 1 and got[-1].end_line == 3
    assert "".join(p.text for p in got).replace("\n", "") == "head" + "x" * 5000 + "tail"


def test_whitespace_only_text_has_no_passages() -> None:
    assert list(passages("e", "\n \n\t\n", size=200)) == []


@given(st.lists(st.sampled_from(["", "a b c", "x" * 50, "  "]), max_size=80), st.integers(30, 200))
def test_passages_cover_every_non_blank_line_in_order(lines: list[str], size: int) -> None:
    text = "\n".join(lines)
    got = list(passages("p", text, size=size))
    assert all(len(p.text) <= 2 * size for p in got)
    covered = [n for p in got for n in range(p.start_line, p.end_line + 1)]
    assert covered == sorted(set(covered))
    wanted = [i for i, line in enumerate(lines, start=1) if line.strip()]
    assert set(wanted) <= set(covered)
    for p in got:
        assert p.text.split("\n") == lines[p.start_line - 1 : p.end_line]


def test_cache_keys_depend_on_model_size_and_text_only() -> None:
    assert cache_key("m", 8, "t") == cache_key("m", 8, "t")
    assert (
        len(
            {cache_key("m", 8, "t"), cache_key("m2", 8, "t"), cache_key("m", 16, "t"), cache_key("m", 8, "u")}
        )
        == 4
    )


def test_cache_drops_the_least_recently_used_past_its_byte_bound() -> None:
    probe = EmbeddingCache(10**6)
    probe.put(b"k", [0.0] * 4)
    per_entry = probe.size_bytes
    cache = EmbeddingCache(per_entry * 3)
    for key in (b"a", b"b", b"c"):
        cache.put(key, [1.0, 2.0, 3.0, 4.0])
    assert cache.get(b"a") is not None  # a is now the most recently used
    cache.put(b"d", [5.0] * 4)
    assert cache.get(b"b") is None and len(cache) == 3
    assert list(cache.get(b"d") or []) == [5.0] * 4
    assert cache.size_bytes <= per_entry * 3


def test_cache_of_zero_bytes_keeps_nothing() -> None:
    cache = EmbeddingCache(0)
    cache.put(b"a", [1.0])
    assert cache.get(b"a") is None and len(cache) == 0
