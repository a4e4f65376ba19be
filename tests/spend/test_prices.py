"""Costs from the price table: cached tokens at the cached rate, batch at half, no price -> no cost."""

from __future__ import annotations

import pytest

from fw_mcp.settings import load_settings
from fw_mcp.spend.config import PriceEntry
from fw_mcp.spend.prices import PriceTable, Tokens, format_usd, no_price_note

GPT = "accounts/fireworks/models/gpt-oss-120b"


@pytest.fixture
def table() -> PriceTable:
    return PriceTable(load_settings().prices)


def test_cached_prompt_tokens_are_billed_at_the_cached_rate(table: PriceTable) -> None:
    # 600 uncached * 0.15 + 400 cached * 0.015 + 500 * 0.60 per million tokens.
    cost = table.cost(GPT, Tokens(prompt=1000, cached=400, completion=500))
    assert cost is not None and cost.nanos == 90_000 + 6_000 + 300_000
    assert cost.as_dict() == {"usd": 0.000396, "estimated": True, "prices_as_of": "2026-11"}


def test_batch_is_billed_at_half(table: PriceTable) -> None:
    full = table.cost(GPT, Tokens(prompt=1000, cached=400, completion=500))
    half = table.cost(GPT, Tokens(prompt=1000, cached=400, completion=500), batch=True)
    assert full is not None and half is not None and half.nanos * 2 == full.nanos


def test_cached_input_defaults_to_half_the_input_price() -> None:
    table = PriceTable({"m": PriceEntry(input=1.0, output=2.0, as_of="2026-11-30")})
    cost = table.cost("accounts/fireworks/models/m", Tokens(prompt=1_000_000, cached=1_000_000))
    assert cost is not None and cost.usd == 0.5


def test_a_deployment_is_priced_as_its_model_and_a_full_id_key_works() -> None:
    table = PriceTable({"accounts/acme/models/tuned": PriceEntry(input=2.0, output=2.0, as_of="2026-11")})
    cost = table.cost("accounts/acme/models/tuned#dep-1", Tokens(prompt=1_000_000))
    assert cost is not None and cost.usd == 2.0


def test_a_model_without_a_price_gets_no_cost_and_a_note_saying_how_to_add_one(table: PriceTable) -> None:
    assert table.cost("accounts/fireworks/models/llama-v3p1-8b-instruct", Tokens(prompt=10)) is None
    note = no_price_note("accounts/fireworks/models/llama-v3p1-8b-instruct")
    assert '[prices."llama-v3p1-8b-instruct"]' in note and "as_of" in note


def test_more_cached_tokens_than_prompt_tokens_never_gives_a_negative_cost(table: PriceTable) -> None:
    cost = table.cost(GPT, Tokens(prompt=10, cached=50, completion=0))
    assert cost is not None and cost.nanos == 150  # 10 cached * 0.015


def test_costs_round_up_to_a_whole_nano_dollar() -> None:
    table = PriceTable({"m": PriceEntry(input=0.0001, output=0, as_of="2026-11")})
    cost = table.cost("accounts/fireworks/models/m", Tokens(prompt=1))
    assert cost is not None and cost.nanos == 1


def test_every_model_in_the_defaults_with_a_price_has_one_dated() -> None:
    settings = load_settings()
    assert settings.prices, "default.toml ships prices"
    for model in ("chat", "extract_json", "call_with_tools", "describe_image"):
        entry = PriceTable(settings.prices).price(settings.resolve_model(None, model))
        assert entry is not None and entry.as_of


@pytest.mark.parametrize(
    ("nanos", "shown"),
    [
        (0, "$0.00"),
        (396_000, "$0.000396"),
        (1_500_000_000, "$1.50"),
        (120, "$0.00000012"),
        (1_000_000, "$0.001"),
    ],
)
def test_amounts_are_shown_with_enough_digits(nanos: int, shown: str) -> None:
    assert format_usd(nanos) == shown
