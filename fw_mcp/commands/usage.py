"""`fw-mcp usage`: calls, tokens, cached tokens, estimated cost and budget left, from the spend store."""

from __future__ import annotations

import argparse
import json
from typing import TYPE_CHECKING, Any

from fw_mcp.commands._common import EXIT_OK, add_config_flag, describe

if TYPE_CHECKING:
    from fw_mcp.commands._checks import Check
    from fw_mcp.settings import Settings

__all__ = ["add_arguments", "render", "run", "spend_check"]

EXAMPLES = """\
  fw-mcp usage                  this month's calls, tokens and cost per model, and the budget left
  fw-mcp usage --by day         per day (also: --by user, --by tool)
  fw-mcp usage --days 7 --json  the last 7 days as JSON (what the fireworks://usage resource holds)
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    describe(
        parser,
        description="Show what fw-mcp spent, as counted in the spend store ([budget] store: by default "
        "the SQLite file in $XDG_STATE_HOME/fw-mcp/usage.db, shared by every fw-mcp process on this "
        "machine). Costs are estimates from the [prices] table.",
        examples=EXAMPLES,
    )
    parser.add_argument(
        "--by", choices=["model", "user", "day", "tool"], default="model", help="group rows by"
    )
    parser.add_argument("--days", type=int, default=31, metavar="N", help="the last N days, today included")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    add_config_flag(parser)


def run(args: argparse.Namespace) -> int:
    import anyio

    from fw_mcp.settings import load_settings
    from fw_mcp.spend.usage import read_usage

    if args.days < 1:
        raise SystemExit("fw-mcp usage: --days must be at least 1")
    settings = load_settings(getattr(args, "config", None))  # reads the store only: no key needed
    report = anyio.run(lambda: read_usage(settings, by=args.by, days=args.days))
    print(json.dumps(report, indent=2) if args.json else render(report))
    return EXIT_OK


def render(report: dict[str, Any]) -> str:
    by = report["by"]
    header = (by, "calls", "prompt", "cached", "completion", "cost (est.)")
    rows = [header] + [_row(r[by], r) for r in report["rows"]] + [_row("total", report["totals"])]
    widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
    lines = [
        "  ".join(
            c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths, strict=True))
        )
        for r in rows
    ]
    lines.insert(len(lines) - 1, "-" * len(lines[0]))
    out = [f"Since {report['since']} ({report['store']}):", *lines]
    if report["totals"]["unpriced_calls"]:
        out.append(
            f"{report['totals']['unpriced_calls']} calls used models without a price: add them to [prices]."
        )
    for budget in report["budgets"]:
        out.append(
            f"Budget, {budget['scope']}, {budget['period']}: ${budget['left_usd']:.4f} left of "
            f"${budget['limit_usd']:.2f} (resets {budget['resets_at']})."
        )
    if not report["budgets"]:
        out.append("No budget is set ([budget] daily_usd / monthly_usd).")
    if report["rate_limits"]:
        seen = ", ".join(
            f"{k.removeprefix('x-ratelimit-')}={v}" for k, v in sorted(report["rate_limits"].items())
        )
        out.append(f"Fireworks rate limits seen last: {seen}.")
    return "\n".join(out)


def _row(name: str, r: dict[str, Any]) -> tuple[str, ...]:
    cost = f"${r['cost_usd']:.6f}"
    return (
        name or "-",
        f"{r['calls']:,}",
        f"{r['prompt_tokens']:,}",
        f"{r['cached_tokens']:,}",
        f"{r['completion_tokens']:,}",
        cost,
    )


async def spend_check(settings: Settings) -> Check:
    """For `fw-mcp doctor`: the spend store answers, the budget left, and the rate limits seen last."""
    from fw_mcp.commands._checks import Check, Status
    from fw_mcp.errors import FwMcpError
    from fw_mcp.spend.usage import read_usage

    limited = settings.budget.has_limits
    try:
        report = await read_usage(settings, days=1)
    except FwMcpError as exc:
        if settings.budget.store == "off":
            status = Status.FAIL if limited else Status.PASS
            return Check("spend", status, 'not recorded ([budget] store = "off")', 'set [budget] store = ""')
        fix = 'fix the store, or set [budget] on_store_error = "allow"' if limited else "fix the store"
        detail = f"{exc} ({'calls are refused' if limited else 'calls are not counted'})"
        return Check("spend", Status.FAIL if limited else Status.WARN, detail, fix)
    parts = [report["store"].removeprefix("the ")]
    parts += [
        f"{b['scope']} {b['period']}: ${b['left_usd']:.4f} left of ${b['limit_usd']:.2f}"
        for b in report["budgets"]
    ]
    if not limited:
        parts.append("no budget set")
    if report["rate_limits"]:
        seen = ", ".join(
            f"{k.removeprefix('x-ratelimit-')}={v}" for k, v in sorted(report["rate_limits"].items())
        )
        parts.append(f"Fireworks rate limits seen last: {seen}")
    return Check("spend", Status.PASS, "; ".join(parts))
