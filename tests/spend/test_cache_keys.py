"""Prompt-cache keys: stable across a conversation's turns, different across conversations and users."""

from __future__ import annotations

from fw_mcp.spend.cache_keys import conversation_key, isolation_key

M = "accounts/fireworks/models/deepseek-v3p1"
SYSTEM = {"role": "system", "content": "You are terse."}
FIRST = {"role": "user", "content": "Summarise the plan."}


def test_the_key_is_the_same_on_every_turn_of_a_conversation() -> None:
    turn1 = [SYSTEM, FIRST]
    turn2 = [*turn1, {"role": "assistant", "content": "Plan: ..."}, {"role": "user", "content": "Shorter."}]
    turn3 = [*turn2, {"role": "assistant", "content": "..."}, {"role": "user", "content": "Thanks."}]
    keys = {conversation_key(M, turns) for turns in (turn1, turn2, turn3)}
    assert len(keys) == 1 and next(iter(keys)).startswith("fw-mcp-")


def test_a_different_start_or_model_gives_a_different_key() -> None:
    base = conversation_key(M, [SYSTEM, FIRST])
    assert conversation_key(M, [{"role": "system", "content": "Be verbose."}, FIRST]) != base
    assert conversation_key(M, [SYSTEM, {"role": "user", "content": "Other."}]) != base
    assert conversation_key(M, [FIRST]) != base
    assert conversation_key("accounts/fireworks/models/glm-4p6", [SYSTEM, FIRST]) != base


def test_an_explicit_cache_key_wins() -> None:
    assert conversation_key(M, [SYSTEM, FIRST], explicit="my-session-7") == "my-session-7"


def test_huge_parts_are_hashed_within_bounds_but_still_told_apart() -> None:
    big = "x" * 10_000_000
    a = conversation_key(M, [{"role": "user", "content": [{"type": "text", "text": big}]}])
    b = conversation_key(M, [{"role": "user", "content": [{"type": "text", "text": big + "y"}]}])
    assert a != b  # same first 64 KiB, different length


def test_isolation_keys_differ_per_user_and_are_stable_and_opaque() -> None:
    alice, bob = isolation_key("alice"), isolation_key("https://idp|alice-sub")
    assert alice is not None and bob is not None and alice != bob
    assert isolation_key("alice") == alice and "alice" not in alice
    assert isolation_key(None) is None and isolation_key("") is None
