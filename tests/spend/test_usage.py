"""`fw-mcp usage` and the fireworks://usage resource read what the calls recorded."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import mcp
import pytest

from fw_mcp.cli import main
from fw_mcp.resources import USAGE_URI
from fw_mcp.server import build_server
from fw_mcp.settings import load_settings
from fw_mcp.spend.budget import open_store
from fw_mcp.spend.config import BudgetSection
from fw_mcp.spend.ledger import UsageRecord

GPT = "accounts/fireworks/models/gpt-oss-120b"
LLAMA = "accounts/fireworks/models/llama-v3p1-8b-instruct"


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "fw-mcp.toml"
    path.write_text(
        f'[budget]\nstore = "{tmp_path / "usage.db"}"\ndaily_usd = 1\n\n[budget.users."alice"]\ndaily_usd = 0.5\n'
    )
    return path


@pytest.fixture
async def recorded(config: Path) -> None:
    store = open_store(BudgetSection(store=str(config.parent / "usage.db")))
    assert store is not None
    now = datetime.now(UTC)
    for user, model, cost in [("alice", GPT, 250_000_000), ("bob", GPT, 1000), ("alice", LLAMA, 0)]:
        await store.settle(
            None, UsageRecord(user, "chat", model, 100, 30, 10, cost, priced=model == GPT, when=now)
        )
    await store.note_rate_limits({"x-ratelimit-limit-requests": "600"})
    await store.aclose()


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    assert main(list(argv)) == 0
    return capsys.readouterr().out


@pytest.mark.usefixtures("recorded")
def test_usage_json_has_totals_rows_budgets_and_rate_limits(
    config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    report = json.loads(run(capsys, "usage", "--json", "--config", str(config)))
    assert report["totals"] == {
        "calls": 3,
        "prompt_tokens": 300,
        "cached_tokens": 90,
        "completion_tokens": 30,
        "unpriced_calls": 1,
        "cost_usd": 0.250001,
    }
    assert [(r["model"], r["calls"]) for r in report["rows"]] == [(GPT, 2), (LLAMA, 1)]
    budgets = {(b["scope"], b["period"]): b for b in report["budgets"]}
    assert budgets[("server", "day")]["left_usd"] == pytest.approx(0.749999)
    assert budgets[("user alice", "day")]["left_usd"] == 0.25
    assert ("user bob", "day") not in budgets  # no limit for bob: nothing to show
    assert report["rate_limits"] == {"x-ratelimit-limit-requests": "600"}


@pytest.mark.usefixtures("recorded")
def test_usage_table_by_user(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = run(capsys, "usage", "--by", "user", "--config", str(config))
    lines = out.splitlines()
    assert lines[1].split()[:2] == ["user", "calls"]
    assert lines[2].split()[:2] == ["alice", "2"] and lines[3].split()[:2] == ["bob", "1"]
    assert "1 calls used models without a price" in out
    assert "Budget, user alice, day: $0.2500 left of $0.50" in out
    assert "limit-requests=600" in out


@pytest.mark.usefixtures("recorded")
def test_usage_by_day(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = run(capsys, "usage", "--by", "day", "--config", str(config))
    assert datetime.now(UTC).strftime("%Y-%m-%d") in out.splitlines()[2]


def test_usage_with_the_store_off_says_how_to_turn_it_on(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "off.toml"
    path.write_text('[budget]\nstore = "off"\n')
    assert main(["usage", "--config", str(path)]) != 0
    assert 'store = "off"' in capsys.readouterr().err


@pytest.mark.usefixtures("recorded")
async def test_the_usage_resource_shows_totals_without_user_names(config: Path) -> None:
    settings = load_settings(str(config))
    async with mcp.Client(build_server(settings)) as client:
        [content] = (await client.read_resource(USAGE_URI)).contents
    report = json.loads(content.text)
    assert report["totals"]["calls"] == 3 and report["by"] == "model"
    assert "alice" not in content.text and "bob" not in content.text
    assert [b["scope"] for b in report["budgets"]] == ["server"]
