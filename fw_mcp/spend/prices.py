"""What a call costs: the configured price table applied to the tokens Fireworks reported.

Amounts are integers of nano-USD (1e-9 USD) so that sums over many calls and processes are exact;
they become dollars only when shown. Every figure is an estimate from the `[prices]` table.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_CEILING, Decimal
from typing import Any

from fw_mcp.spend.config import PriceEntry

__all__ = ["MODEL_PREFIX", "NANOS_PER_USD", "Cost", "PriceTable", "Tokens", "format_usd", "no_price_note"]

NANOS_PER_USD = 1_000_000_000
_NANOS_PER_TOKEN_PER_USD_PER_MILLION = Decimal(NANOS_PER_USD) / Decimal(1_000_000)
MODEL_PREFIX = "accounts/fireworks/models/"


@dataclass(frozen=True, slots=True)
class Tokens:
    prompt: int = 0
    cached: int = 0
    completion: int = 0


@dataclass(frozen=True, slots=True)
class Cost:
    nanos: int
    prices_as_of: str

    @property
    def usd(self) -> float:
        return self.nanos / NANOS_PER_USD

    def as_dict(self) -> dict[str, Any]:
        return {"usd": round(self.usd, 9), "estimated": True, "prices_as_of": self.prices_as_of}


def _nanos(tokens: int, usd_per_million: float) -> Decimal:
    return Decimal(tokens) * Decimal(str(usd_per_million)) * _NANOS_PER_TOKEN_PER_USD_PER_MILLION


class PriceTable:
    """`[prices]` keyed by full model id; a bare name `x` in the table means accounts/fireworks/models/x."""

    def __init__(self, prices: dict[str, PriceEntry]) -> None:
        self._prices = {_full(name): entry for name, entry in prices.items()}

    def price(self, model: str) -> PriceEntry | None:
        """The entry for a model id; a deployment (`model#deployment`) is priced as its model."""
        return self._prices.get(model) or self._prices.get(model.partition("#")[0])

    def cost(self, model: str, tokens: Tokens, *, batch: bool = False) -> Cost | None:
        """The estimated cost, or None when the table has no price for the model (never a guess).

        Cached prompt tokens are billed at the cached rate; batch jobs at half of everything. Rounded up
        to the next nano-USD.
        """
        entry = self.price(model)
        if entry is None:
            return None
        cached = min(max(tokens.cached, 0), max(tokens.prompt, 0))
        amount = (
            _nanos(tokens.prompt - cached, entry.input)
            + _nanos(cached, entry.cached_rate)
            + _nanos(tokens.completion, entry.output)
        )
        if batch:
            amount /= 2
        return Cost(int(amount.to_integral_value(rounding=ROUND_CEILING)), entry.as_of)

    def ceiling(self, model: str, prompt_tokens: int, max_tokens: int, *, batch: bool = False) -> Cost | None:
        """The most a call can cost: every prompt token uncached, every allowed output token used."""
        return self.cost(model, Tokens(prompt=prompt_tokens, completion=max_tokens), batch=batch)


def _full(name: str) -> str:
    return name if "/" in name else MODEL_PREFIX + name


def no_price_note(model: str) -> str:
    short = model.removeprefix(MODEL_PREFIX).partition("#")[0]
    return (
        f"Note: no price is configured for {model}, so no cost is shown. Add one to your config file: "
        f'[prices."{short}"] input = ..., cached_input = ..., output = ... (USD per million tokens), '
        'as_of = "YYYY-MM-DD".'
    )


def format_usd(nanos: int) -> str:
    """$0.000123: enough digits that a cheap call is not shown as $0.00."""
    usd = nanos / NANOS_PER_USD
    if usd >= 1 or usd == 0:
        return f"${usd:,.2f}"
    return f"${usd:.6f}".rstrip("0").rstrip(".") if usd >= 1e-6 else f"${usd:.9f}".rstrip("0")
