"""Soak (issue 14): normal clients keep calling `chat` while attackers hit the HTTP server for 60 s.

`python -m bench.soak [--seconds 60] [--clients 50] [--attackers 20] [--baseline 20]`

The server is `fw-mcp serve --transport http` (one process, default settings, a token per client)
on loopback, against the simulator. First the normal clients alone, for `--baseline` seconds; then
the same clients with attackers among them (50 clients in all by default), each attacker looping on
one attack of issue 14:

    silent        connections that never send a byte (plus bursts over [http] max_pending_connections)
    dribble_head  a header line a second, never a complete request head
    dribble_body  a complete, authenticated head, then one body byte a second
    drop_call     a 2025-11-25 session whose tools/call connection is dropped mid-stream
    sessions      a token opening sessions as fast as it can
    bad_json      bodies nested 100,000 deep, with 4,400-digit numbers, with lone surrogates
    oversized     a Content-Length over [http] max_body_bytes

and the schema and answer attacks of bench/soak_schemas.py (`extract_json` and `call_with_tools`
with a backtracking `pattern` on an answer and on tool-call arguments, a 2**20-path `$ref` chain,
`uniqueItems` over 20,001 objects, a 5,000-entry `type` list, 300,000 violations, an unclosed
fence, an answer and a tool call's arguments nested 100,000 deep; the simulator is scripted to
give the hostile answers). Each must end as the answer the e2e tests assert.

Reported: whether any normal call failed, how much longer the slowest normal call waited than the
slowest one without attackers (bound: 2 s), the peak resident memory of the server and its schema
worker processes together (bound: 200 MB), and the server's open file descriptors before the attack
and once the attackers are gone (they must return; the pipes to the schema workers, two per worker,
are counted apart). CPU shares are given for the server process
alone and with its workers; the load average tells how busy the machine was.
Every loop is bounded by the deadline.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import time
from collections import Counter
from typing import Any
from urllib.parse import urlsplit

from bench.common import SIM_CMD, SimProcess, cpu_seconds, median, ms, proc_status, quantile, reset_peak
from bench.http_load import TOKEN, HttpServer, RawConnection, call_chat
from bench.soak_schemas import HOSTILE, call_tool, script_entries

TRANSPORT = ("silent", "dribble_head", "dribble_body", "drop_call", "sessions", "bad_json", "oversized")
ATTACKS = TRANSPORT + tuple(HOSTILE)
LEGACY = "2025-11-25"
INIT = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {"protocolVersion": LEGACY, "capabilities": {}, "clientInfo": {"name": "soak", "version": "0"}},
}
MAX_EXCESS_S = 2.0
MAX_RSS_MB = 200  # the stated bound: the idle server is ~80 MB


def fds(pid: int) -> int:
    """The server's open descriptors, less the pipes to its schema workers (two per worker, which
    live as long as the server: the pool is bounded by [limits] validation_workers, not by load)."""
    return len(os.listdir(f"/proc/{pid}/fd")) - worker_pipes(pid)


def worker_pipes(pid: int) -> int:
    count = 0
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            count += os.readlink(f"/proc/{pid}/fd/{fd}").startswith("pipe:")
        except OSError:
            continue
    return count


def children(pid: int) -> list[int]:
    """The server's child processes: its schema workers (fw_mcp/validation/pool.py)."""
    found: list[int] = []
    for task in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{task}/children") as listed:
                found += [int(p) for p in listed.read().split()]
        except OSError:
            continue
    return found


def tree_cpu(pid: int) -> float:
    """CPU seconds of the server, its live workers, and the workers it has reaped (cutime, cstime)."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    reaped = (int(fields[13]) + int(fields[14])) / os.sysconf("SC_CLK_TCK")
    return cpu_seconds(pid, tree=True) + reaped


async def sample_workers(pid: int, until: float, peaks: dict[str, int]) -> None:
    """Every 0.2 s until `until`: the most workers alive at once and the largest sum of their peak
    resident memory (workers come and go: one whose call is cancelled is killed and replaced)."""
    while time.perf_counter() < until:
        alive, memory = 0, 0
        for child in children(pid):
            try:
                memory += proc_status(child).get("VmHWM", 0)
                alive += 1
            except OSError:
                continue
        peaks["workers"] = max(peaks["workers"], alive)
        peaks["memory"] = max(peaks["memory"], memory)
        await asyncio.sleep(0.2)


def _headers(token: str, **extra: str) -> dict[str, str]:
    return {
        "authorization": f"Bearer {token}",
        "accept": "application/json, text/event-stream",
        "content-type": "application/json",
        **extra,
    }


class Attacker:
    """One attacker: a kind, a token, its own connections, and what the server did to it."""

    def __init__(self, url: str, kind: str, token: str, stop_at: float, seen: Counter[str]) -> None:
        parts = urlsplit(url)
        self.url, self.host, self.port = url, parts.hostname or "127.0.0.1", parts.port or 80
        self.kind, self.token, self.stop_at, self.seen = kind, token, stop_at, seen
        self.calls = 0

    def left(self) -> float:
        return max(0.0, self.stop_at - time.perf_counter())

    async def run(self) -> None:
        attack = getattr(self, self.kind) if self.kind in TRANSPORT else self.hostile
        while self.left() > 0:
            try:
                await asyncio.wait_for(attack(), timeout=self.left() + 0.1)
            except (TimeoutError, OSError, asyncio.IncompleteReadError) as exc:
                ended = isinstance(exc, TimeoutError) and self.left() <= 0
                self.seen[f"{self.kind}: {'still going at the end' if ended else type(exc).__name__}"] += 1
                await asyncio.sleep(0.05)

    async def _closed(self, reader: asyncio.StreamReader) -> bytes:
        """Everything the server sent until it closed the connection."""
        data = b""
        while chunk := await reader.read(65536):
            data += chunk
        return data

    async def hostile(self) -> None:
        """One hostile extract_json / call_with_tools call; counts whether it ended as expected."""
        attack, conn = HOSTILE[self.kind], RawConnection(self.url)
        self.calls += 1
        try:
            is_error, text = await call_tool(conn, self.calls, self.token, attack.tool, attack.arguments)
        finally:
            await conn.close()
        if attack.expect in text and is_error == attack.is_error:
            self.seen[f"{self.kind}: answered as expected"] += 1
        else:
            self.seen[f"{self.kind}: unexpected: {text[:160]}"] += 1

    async def silent(self) -> None:
        count = 300 if self.seen[f"{self.kind}: burst"] < 3 else 1  # a few bursts over the pending cap
        if count > 1:
            self.seen[f"{self.kind}: burst"] += 1
        conns = [await asyncio.open_connection(self.host, self.port) for _ in range(count)]
        await asyncio.gather(*(self._closed(reader) for reader, _ in conns))
        for _, writer in conns:
            writer.close()
        self.seen[f"{self.kind}: closed by the server"] += count

    async def dribble_head(self) -> None:
        reader, writer = await asyncio.open_connection(self.host, self.port)
        writer.write(b"POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        closed = asyncio.ensure_future(self._closed(reader))
        for n in range(1000):
            if closed.done():
                break
            writer.write(f"X-Slow-{n}: 1\r\n".encode())
            await asyncio.wait([closed], timeout=1.0)
        writer.close()
        self.seen[f"{self.kind}: closed by the server" if closed.done() else f"{self.kind}: outlasted"] += 1
        closed.cancel()

    async def dribble_body(self) -> None:
        reader, writer = await asyncio.open_connection(self.host, self.port)
        head = "".join(f"{k}: {v}\r\n" for k, v in _headers(self.token).items())
        writer.write(
            f"POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\n{head}content-length: 1000\r\n\r\n{{".encode()
        )
        answer = asyncio.ensure_future(self._closed(reader))
        for _ in range(1000):
            if answer.done():
                break
            writer.write(b" ")
            await asyncio.wait([answer], timeout=1.0)
        writer.close()
        status = answer.result()[9:12].decode() if answer.done() else "none"
        self.seen[f"{self.kind}: HTTP {status}"] += 1
        answer.cancel()

    async def drop_call(self) -> None:
        conn = RawConnection(self.url)
        status, got, _ = await conn.post(json.dumps(INIT).encode(), _headers(self.token))
        if status != 200:
            self.seen[f"{self.kind}: initialize HTTP {status}"] += 1
            await conn.close()
            await asyncio.sleep(0.5)
            return
        session = _headers(
            self.token, **{"mcp-session-id": got["mcp-session-id"], "mcp-protocol-version": LEGACY}
        )
        note = {"jsonrpc": "2.0", "method": "notifications/initialized"}
        await conn.post(json.dumps(note).encode(), session)
        await conn.close()
        for n in range(1000):
            if self.left() <= 0:
                break
            reader, writer = await asyncio.open_connection(self.host, self.port)
            call = {
                "jsonrpc": "2.0",
                "id": n,
                "method": "tools/call",
                "params": {"name": "chat", "arguments": {"prompt": "x"}},
            }
            body = json.dumps(call).encode()
            head = "".join(f"{k}: {v}\r\n" for k, v in session.items())
            writer.write(
                f"POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\n{head}content-length: {len(body)}\r\n\r\n".encode()
                + body
            )
            await reader.readuntil(b"\r\n\r\n")  # the SSE stream has started: hang up mid-call
            writer.close()
            self.seen[f"{self.kind}: dropped"] += 1
            await asyncio.sleep(0.02)
        reader, writer = await asyncio.open_connection(self.host, self.port)  # end the session
        head = "".join(f"{k}: {v}\r\n" for k, v in session.items())
        writer.write(f"DELETE /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\n{head}connection: close\r\n\r\n".encode())
        await self._closed(reader)
        writer.close()

    async def sessions(self) -> None:
        async def open_one() -> None:
            conn = RawConnection(self.url)
            try:
                status, _, _ = await conn.post(json.dumps(INIT).encode(), _headers(self.token))
                self.seen[f"{self.kind}: HTTP {status}"] += 1
            finally:
                await conn.close()

        await asyncio.gather(*(open_one() for _ in range(8)))  # eight at a time
        await asyncio.sleep(0.02)

    async def bad_json(self) -> None:
        call = '{"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": '
        bodies = [
            call + '{"a": ' + "[" * 100_000 + "]" * 100_000 + "}}",
            call + '{"n": ' + "9" * 4400 + "}}",
            call + '{"name": "chat", "arguments": {"prompt": "\\ud83d"}}}',
        ]
        conn = RawConnection(self.url)
        try:
            for body in bodies:
                status, _, _ = await conn.post(
                    body.encode(), _headers(self.token, **{"mcp-protocol-version": LEGACY})
                )
                self.seen[f"{self.kind}: HTTP {status}"] += 1
        finally:
            await conn.close()

    async def oversized(self) -> None:
        reader, writer = await asyncio.open_connection(self.host, self.port)
        head = "".join(f"{k}: {v}\r\n" for k, v in _headers(self.token).items())
        writer.write(
            f"POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\n{head}content-length: 50000000\r\n\r\n".encode()
        )
        answer = await self._closed(reader)
        writer.close()
        self.seen[f"{self.kind}: HTTP {answer[9:12].decode() or 'none'}"] += 1


async def normal_clients(url: str, tokens: list[str], seconds: float) -> tuple[list[float], list[str]]:
    latencies: list[float] = []
    errors: list[str] = []
    stop_at = time.perf_counter() + seconds
    counter = iter(range(1, 10**9))

    async def client(token: str) -> None:
        conn = RawConnection(url)
        try:
            while time.perf_counter() < stop_at:
                t0 = time.perf_counter()
                try:
                    await asyncio.wait_for(call_chat(conn, next(counter), token), timeout=60)
                    latencies.append(time.perf_counter() - t0)
                except Exception as exc:
                    errors.append(f"{type(exc).__name__}: {str(exc)[:200]}")
                    await conn.close()
        finally:
            await conn.close()

    await asyncio.gather(*(client(t) for t in tokens))
    return latencies, errors


def summary(latencies: list[float], errors: list[str]) -> dict[str, Any]:
    return {
        "calls": len(latencies),
        "failed": len(errors),
        "first_errors": errors[:3],
        "p50_ms": ms(median(latencies)),
        "p99_ms": ms(quantile(latencies, 0.99)),
        "max_ms": ms(max(latencies, default=float("nan"))),
    }


async def soak(
    sim: SimProcess, url: str, pid: int, *, clients: int, attackers: int, seconds: float, baseline: float
) -> dict[str, Any]:
    normal = [TOKEN.format(i=i) for i in range(clients - attackers)]
    cpu0, tree0, own0 = cpu_seconds(pid), tree_cpu(pid), time.process_time()
    alone = summary(*await normal_clients(url, normal, baseline))
    cpu_alone, own_alone = cpu_seconds(pid) - cpu0, time.process_time() - own0
    tree_alone = tree_cpu(pid) - tree0
    await asyncio.to_thread(sim.control, "script", script_entries(HOSTILE))
    fds_before, rss_before = fds(pid), proc_status(pid)["VmRSS"]
    peak_reset = all([reset_peak(pid), *(reset_peak(child) for child in children(pid))])
    seen: Counter[str] = Counter()
    stop_at = time.perf_counter() + seconds
    crew = [
        Attacker(url, ATTACKS[i % len(ATTACKS)], TOKEN.format(i=clients - attackers + i), stop_at, seen)
        for i in range(attackers)
    ]
    cpu0, tree0, own0 = cpu_seconds(pid), tree_cpu(pid), time.process_time()
    load0 = os.getloadavg()
    attacks = [asyncio.ensure_future(attacker.run()) for attacker in crew]
    peaks = {"workers": 0, "memory": 0}
    sampler = asyncio.ensure_future(sample_workers(pid, stop_at, peaks))
    latencies, errors = await normal_clients(url, normal, seconds)
    await asyncio.gather(*attacks, sampler)
    cpu_attack, own_attack = cpu_seconds(pid) - cpu0, time.process_time() - own0
    tree_attack = tree_cpu(pid) - tree0
    under_attack = summary(latencies, errors)
    peak, workers = proc_status(pid)["VmHWM"], peaks["memory"]
    settle_until = time.monotonic() + 30  # [http] request_timeout (10 s) closes what is left
    for _ in range(300):
        if fds(pid) <= fds_before or time.monotonic() > settle_until:
            break
        await asyncio.sleep(0.2)
    excess = (max(latencies, default=0.0) - max(alone["max_ms"] / 1000, 0.0)) if latencies else float("nan")
    return {
        "clients": clients,
        "attackers": attackers,
        "seconds": seconds,
        "baseline_seconds": baseline,
        "normal_alone": alone,
        "normal_under_attack": under_attack,
        "server_cpu_share_alone_under_attack": [
            round(cpu_alone / baseline, 2),
            round(cpu_attack / seconds, 2),
        ],
        "server_and_workers_cpu_share_alone_under_attack": [
            round(tree_alone / baseline, 2),
            round(tree_attack / seconds, 2),
        ],
        "schema_workers_at_once": peaks["workers"],
        "load_average_at_attack_start_and_end": [round(load0[0], 2), round(os.getloadavg()[0], 2)],
        "load_generator_cpu_share_alone_under_attack": [
            round(own_alone / baseline, 2),
            round(own_attack / seconds, 2),
        ],
        "slowest_call_excess_s": round(excess, 3),
        "no_normal_call_failed": under_attack["failed"] == 0,
        "excess_within_2s": excess <= MAX_EXCESS_S,
        "rss_before_mb": round(rss_before / 2**20, 1),
        "peak_rss_mb": round(peak / 2**20, 1),
        "workers_peak_rss_mb": round(workers / 2**20, 1),
        "peak_is_since_attack_start": peak_reset,
        "rss_bound_mb": MAX_RSS_MB,
        "rss_within_bound": peak + workers <= MAX_RSS_MB * 2**20,
        "fds_before": fds_before,
        "fds_after": fds(pid),
        "fds_returned": fds(pid) <= fds_before,
        "worker_pipes_after": worker_pipes(pid),
        "attacks": dict(sorted(seen.items())),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.soak", description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--baseline", type=float, default=20.0)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--attackers", type=int, default=20)
    parser.add_argument("--latency", type=float, default=0.05, help="simulated upstream time to first token")
    args = parser.parse_args(argv)
    with (
        SimProcess(SIM_CMD, latency=args.latency) as sim,
        HttpServer(sim.base_url, 1, args.clients) as server,
    ):
        assert server.proc is not None
        report = asyncio.run(
            soak(
                sim,
                server.url,
                server.proc.pid,
                clients=args.clients,
                attackers=args.attackers,
                seconds=args.seconds,
                baseline=args.baseline,
            )
        )
    print(json.dumps(report, indent=2))
    verdicts = ("no_normal_call_failed", "excess_within_2s", "rss_within_bound", "fds_returned")
    return 0 if all(report[name] for name in verdicts) else 1


if __name__ == "__main__":
    raise SystemExit(main())
