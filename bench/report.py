"""The summary table (printed and in results.json), the machine description, and the optional plot."""

from __future__ import annotations

import contextlib
import os
import platform
import subprocess
import sys
from pathlib import Path
from typing import Any


def machine() -> dict[str, Any]:
    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = ""
    with contextlib.suppress(OSError):
        mem = subprocess.run(["free", "-h"], capture_output=True, text=True, check=False).stdout.rstrip()
    commit = ""
    with contextlib.suppress(OSError):
        root = Path(__file__).resolve().parents[1]
        done = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "--short", "HEAD"], capture_output=True, text=True
        )
        commit = done.stdout.strip()
    return {
        "commit": commit,
        "nproc": os.cpu_count(),
        "cpu": cpu or platform.processor(),
        "memory": mem,
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "loadavg_at_start": [round(x, 2) for x in os.getloadavg()],
    }


def _yes(met: Any) -> str:
    return "-" if met is None else ("yes" if met else "NO")


def summary(results: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per target: what was measured, the figure, the target, met or not."""
    rows: list[dict[str, Any]] = []

    def row(name: str, value: Any, target: str, met: Any, detail: str = "") -> None:
        rows.append({"measurement": name, "value": value, "target": target, "met": met, "detail": detail})

    if o := results.get("overhead"):
        m = o["median_ms"]
        row(
            "1 per-call: ours / (direct + echo)",
            o["ratio"],
            "<= 1.15",
            o["met"],
            f"ours {m['ours']} ms, direct {m['direct']} ms, echo {m['echo']} ms "
            f"({o['upstream_latency_ms']:.0f} ms upstream); fw-mcp adds {o['added_ms']} ms",
        )
        if "ratio_budget" in o:
            row(
                "1 per-call with a budget: ours_budget / ours",
                o["ratio_budget"],
                f"<= {o['budget_target']}",
                o["budget_met"],
                f"ours_budget {m['ours_budget']} ms (SQLite store, daily limit set); "
                f"the budget adds {o['budget_added_ms']} ms",
            )
    if c := results.get("concurrency"):
        for n in ("32", "256"):
            if n in c:
                r = c[n]
                row(
                    f"2 concurrency {n}: ours / direct",
                    r["ratio"],
                    f"<= {r['target']}",
                    r["met"],
                    f"batch wall {r['median_wall_ms']['ours']} vs {r['median_wall_ms']['direct']} ms "
                    f"({c['upstream_latency_ms']:.0f} ms upstream); errors {r['errors']['ours']}",
                )
    if s := results.get("streaming"):
        f = s["first_token_to_progress_ms"]
        row(
            "3 first token -> first progress, p50",
            f"{f['p50']} ms",
            "< 100 ms",
            s["met"]["first_token"],
            f"p90 {f['p90']} ms, max {f['max']} ms",
        )
        row(
            "3 progress notifications per second",
            s["notifications_per_second"],
            "<= ~10",
            s["met"]["rate"],
            f"{s['notifications_per_call']['median']:.0f} per {s['stream_seconds']} s stream",
        )
        row(
            "3 final text == streamed text",
            "yes" if s["text_matches"] else "no",
            "yes",
            s["met"]["text"],
            f"{s['calls']} calls; upstream TCP connections per call: {s['upstream_connections_per_call']}",
        )
        if cpu := s.get("cpu"):
            row(
                "3 CPU per streamed token: server / direct",
                f"{cpu['server_us_per_token']} / {cpu['direct_client_us_per_token']} us",
                "report",
                None,
                f"{cpu['tokens']}-token answers; a 10-token call costs the server "
                f"{cpu['server_ms_per_short_call']} ms CPU, a direct client {cpu['direct_client_ms_per_short_call']} ms",
            )
    if st := results.get("startup"):
        m = st["median_ms"]
        row(
            "4 start-up: ours / echo",
            st["ratio"],
            "<= 1.15",
            st["met"],
            f"median of {st['rounds']} paired runs (p10-p90 {st['paired_ratio_p10_p90']}); spawn to "
            f"initialize answer: ours {m['ours']} ms, echo {m['echo']} ms; CPU until then "
            f"x{st['cpu_ratio']}; fastest runs x{st.get('ratio_of_minimums')}; "
            + (
                f"instructions (callgrind) x{st['instructions_ratio']}; "
                if st.get("instructions_ratio")
                else ""
            )
            + f"fw-mcp imports {st['extra_imports']['modules']} more modules "
            f"({st['extra_imports']['self_ms_total']} ms)",
        )
    if mem := results.get("memory"):
        row(
            "5 RSS growth after 1,000 calls",
            f"{100 * mem['growth_vs_idle']:+.1f} %",
            "< 10 %",
            mem["growth_met"],
            f"idle (after tools/list) {mem['idle_rss_mb']} MB -> {mem['after_calls_rss_mb']} MB; before tools/list {mem.get('before_tools_list_rss_mb')} MB (bare echo idle {mem['echo_idle_rss_mb']} MB)",
        )
        img = mem["image"]
        if img["calls"]:
            row(
                "5 peak RSS sending a 9 MB image (x size)",
                img["peak_times_image"],
                f"<= {img['target_times_image']:.0f}",
                img["met"],
                f"+{img['peak_over_before_mb']} MB over {img['rss_before_first_mb']} MB, {len(img['calls'])} calls; "
                f"still resident after them: +{img['retained_after_mb']} MB (x{img['retained_times_image']}); "
                f"loading Pillow (first image): +{img['first_image_call_mb']} MB",
            )
        else:
            row("5 peak RSS sending a 9 MB image", "not measured", "<= 5x", None, img["problem"] or "")
    if h := results.get("http"):
        if h.get("measured"):
            ws = [k for k in ("1", "2", "4") if k in h]
            row(
                "6 HTTP calls/s (1/2/4 workers)",
                " / ".join(str(h[k]["calls_per_second"]) for k in ws),
                "report",
                None,
                "p50 "
                + " / ".join(str(h[k]["p50_ms"]) for k in ws)
                + " ms, p99 "
                + " / ".join(str(h[k]["p99_ms"]) for k in ws)
                + " ms; errors "
                + " / ".join(str(h[k]["errors"]) for k in ws)
                + f"; {h['cpus']} CPUs; one client alone, 1 worker: "
                + f"{h[ws[0]]['one_client']['new_connection_p50_ms']} ms per call on a new connection, "
                + f"{h[ws[0]]['one_client']['kept_alive_p50_ms']} ms on a kept-alive one",
            )
        else:
            row("6 HTTP throughput", "NOT MEASURED", "report", None, h.get("reason", ""))
    if se := results.get("search"):
        first, second = se["first"], se["second"]
        row(
            "7 search over this repo: first / second (cached)",
            f"{se['first_ms']:.0f} / {se['second_ms']:.0f} ms",
            "2nd sends only the query",
            se["met"],
            f"{first['searched']['files']} files, {first['searched']['passages']} passages; upstream requests "
            f"{first['requests']} ({first['embedding_inputs']} texts embedded) then {second['requests']} "
            f"({second['embedding_inputs']} text embedded, 1 rerank); median of {se['rounds']} servers",
        )
    if b := results.get("batch"):
        if b.get("peak_over_idle_mb") is not None:
            row(
                "8 batch: peak RSS over idle, submit + results",
                f"{b['peak_over_idle_mb']} MB",
                f"< {b['target_mb']:.0f} MB",
                b["met"],
                f"{b['input_bytes'] / 2**20:.0f} MB input ({b['requests']:,} requests), "
                f"{b['results_bytes'] / 2**20:.0f} MB results; submit +{b['submit_peak_over_idle_mb']} MB "
                f"({b['submit_seconds']} s), results to a file +{b['results_peak_over_idle_mb']} MB "
                f"({b['results_seconds']} s); idle {b['idle_rss_mb']} MB; simulator peak "
                f"{b.get('simulator_peak_rss_mb')} MB",
            )
        else:
            row(
                "8 batch: peak RSS over idle",
                "not measured",
                f"< {b['target_mb']:.0f} MB",
                b["met"],
                b["problem"] or "",
            )
    return rows


def table(rows: list[dict[str, Any]]) -> str:
    width = max((len(r["measurement"]) for r in rows), default=10)
    lines = [f"{'measurement':<{width}}  {'value':>14}  {'target':>9}  met"]
    lines.append("-" * len(lines[0]))
    for r in rows:
        lines.append(f"{r['measurement']:<{width}}  {r['value']!s:>14}  {r['target']:>9}  {_yes(r['met'])}")
        if r["detail"]:
            lines.append(f"{'':<{width}}    {r['detail']}")
    return "\n".join(lines)


def markdown(rows: list[dict[str, Any]]) -> str:
    out = ["| measurement | value | target | met | detail |", "|---|---|---|---|---|"]
    out += [
        f"| {r['measurement']} | {r['value']} | {r['target']} | {_yes(r['met'])} | {r['detail']} |"
        for r in rows
    ]
    return "\n".join(out)


def plot(results: dict[str, Any], path: Path) -> bool:
    """Ratios against their targets, the per-call breakdown, and HTTP throughput. False without matplotlib."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.5))
    ratios: list[tuple[str, float, float, float | None]] = []  # name, ratio, target, floor
    if o := results.get("overhead"):
        ratios.append(("per call", o["ratio"], 1.15, None))
        if "ratio_budget" in o:
            ratios.append(("budget on", o["ratio_budget"], o["budget_target"], None))
    for n in ("32", "256"):
        if n in results.get("concurrency", {}):
            r = results["concurrency"][n]
            ratios.append((f"{n} at once", r["ratio"], r["target"], r.get("reference_direct_plus_echo")))
    if st := results.get("startup"):
        ratios.append(("start-up", st["ratio"], 1.15, None))
    ax = axes[0]
    if ratios:
        xs = range(len(ratios))
        colors = ["tab:green" if v <= t else "tab:red" for _, v, t, _ in ratios]
        ax.bar(xs, [v for _, v, _, _ in ratios], color=colors)
        ax.scatter(xs, [t for _, _, t, _ in ratios], marker="_", s=900, color="black", label="target")
        floors = [(x, f) for x, (_, _, _, f) in zip(xs, ratios, strict=True) if f is not None]
        if floors:
            ax.scatter(
                *zip(*floors, strict=True), marker="x", color="grey", label="(direct + bare echo) / direct"
            )
        ax.set_xticks(list(xs), [n for n, _, _, _ in ratios])
        ax.axhline(1.0, color="grey", lw=0.5)
        top = max(max(v, t, f or 0) for _, v, t, f in ratios)
        ax.set_ylim(0, top * 1.35)
        ax.set_title("fw-mcp / baseline (lower is better)")
        ax.legend(loc="upper left", fontsize=8)
    ax = axes[1]
    if o := results.get("overhead"):
        m = o["median_ms"]
        ax.bar(["direct + echo"], [m["direct"]], color="tab:blue", label="direct HTTP")
        ax.bar(
            ["direct + echo"], [m["echo"]], bottom=[m["direct"]], color="tab:orange", label="bare MCP echo"
        )
        ax.bar(["fw-mcp chat"], [m["ours"]], color="tab:purple", label="fw-mcp")
        ax.set_ylabel("median ms per call")
        ax.set_title(f"one call, {o['upstream_latency_ms']:.0f} ms upstream")
        ax.legend()
    ax = axes[2]
    h = results.get("http", {})
    if h.get("measured"):
        ws = [k for k in ("1", "2", "4") if k in h]
        ax.bar([f"{k} worker{'s' if k != '1' else ''}" for k in ws], [h[k]["calls_per_second"] for k in ws])
        ax.set_ylabel("chat calls / s")
        ax.set_title(f"streamable HTTP, {h['clients']} clients, {h['cpus']} CPUs")
    else:
        ax.text(0.5, 0.5, "HTTP not measured", ha="center", va="center")
        ax.set_axis_off()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return True
