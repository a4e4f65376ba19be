"""Repeated custom ids are found in bounded memory: past the in-memory bound, by digests sorted in
chunks on disk, then named with their lines by a second pass."""

from __future__ import annotations

import io
import json

import pytest

from fw_mcp.errors import InvalidArgument
from fw_mcp.tools.batch_ids import IdLedger, digest
from fw_mcp.tools.batch_input import check_lines

MODEL = "accounts/fireworks/models/gpt-oss-120b"


def jsonl(ids: list[str]) -> io.BytesIO:
    body = {"messages": [{"role": "user", "content": "hi"}]}
    return io.BytesIO(b"".join(json.dumps({"custom_id": i, "body": body}).encode() + b"\n" for i in ids))


def test_past_the_bound_the_ledger_drops_its_set_and_finds_repeats_across_spilled_chunks() -> None:
    ledger = IdLedger(in_memory=3, chunk=4)
    ids = [f"id-{n}" for n in range(20)] + ["id-1", "id-17", "id-17"]
    assert all(ledger.add(i) for i in ids)  # past the bound, add cannot tell: the merge does
    assert not ledger.exact
    sample, repeats = ledger.repeated()
    assert sample == {digest("id-1"), digest("id-17")} and repeats == 3


def test_within_the_bound_a_repeat_is_refused_on_its_line() -> None:
    ledger = IdLedger(in_memory=10)
    assert ledger.add("a") and ledger.add("b") and not ledger.add("a")
    assert ledger.exact and ledger.repeated() == (set(), 0)


@pytest.mark.parametrize("in_memory", [5, 200_000])
def test_a_file_names_the_same_repeated_lines_whichever_way_ids_are_kept(in_memory: int) -> None:
    ids = [f"id-{n}" for n in range(50)]
    ids[29], ids[44] = "id-1", "id-39"  # lines 30 and 45 repeat lines 2 and 40
    with pytest.raises(InvalidArgument) as refused:
        check_lines(jsonl(ids), MODEL, 1 << 20, "input_path", ids=IdLedger(in_memory=in_memory, chunk=8))
    text = str(refused.value)
    assert "2 problems found, nothing was uploaded" in text
    assert "line 30: `custom_id` 'id-1' is used twice" in text
    assert "line 45: `custom_id` 'id-39' is used twice" in text
    if in_memory == 5:
        assert "first on line 2" in text and "first on line 40" in text


def test_past_the_sample_unnamed_repeats_are_still_counted() -> None:
    ids = [f"id-{n}" for n in range(10)] * 4  # 30 lines repeat an earlier id
    with pytest.raises(InvalidArgument) as refused:
        check_lines(jsonl(ids), MODEL, 1 << 20, "input_path", ids=IdLedger(in_memory=2, chunk=8))
    assert "30 problems found" in str(refused.value) and "... and 10 more" in str(refused.value)


def test_a_file_of_unique_ids_past_the_bound_passes() -> None:
    ids = [f"id-{n}" for n in range(100)]
    assert check_lines(jsonl(ids), MODEL, 1 << 20, "input_path", ids=IdLedger(in_memory=5, chunk=16)) == 100
