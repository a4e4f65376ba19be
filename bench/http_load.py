"""6. Streamable HTTP: `chat` throughput with 1, 2 and 4 worker processes, 64 concurrent clients.

The server is `fw-mcp serve --transport http --port 0 --workers N` with bearer tokens, one per
client (as it would be deployed for 64 users; one shared token would hit the per-token cap). The load generator is deliberately thin so that it is not what saturates first:
64 loops, each with its own keep-alive connection (a hand-rolled HTTP/1.1 client: httpx2 would
spend more CPU per call than the server), POST 2026-07-28 (stateless) `tools/call` requests with
a progress token and read the answer (JSON or an SSE stream) through to the result.
Calls finishing inside the measuring window count; latencies are per call. Before the load, one
client alone times calls on a new connection and on a kept-alive one.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import subprocess
import time
from typing import Any
from urllib.parse import urlsplit

from bench.common import LOG_DIR, PY, ROOT, SimProcess, cpu_seconds, median, ms, quantile, server_env

TOKEN = "bench-http-token-{i:04d}-0123456789abcdef"  # one per client, as 64 users would have
SERVING = re.compile(r"Serving MCP at (http://\S+/mcp)")
PROTOCOL = "2026-07-28"


def serve_help() -> str:
    done = subprocess.run([PY, "-m", "fw_mcp", "serve", "--help"], capture_output=True, text=True, cwd=ROOT)
    return done.stdout


class HttpServer:
    """`fw-mcp serve --transport http --workers N` on a free port, stopped with SIGTERM."""

    def __init__(self, base_url: str, workers: int, clients: int, cmd: list[str] | None = None) -> None:
        self.cmd = cmd or [PY, "-m", "fw_mcp"]
        self.workers = workers
        self.log = LOG_DIR / f"http-{workers}-{time.monotonic_ns()}.stderr"
        tokens = LOG_DIR / "http-tokens.txt"
        tokens.write_text("".join(f"client{i} {TOKEN.format(i=i)}\n" for i in range(clients)))
        tokens.chmod(0o600)
        self.env = {
            **os.environ,
            **server_env(base_url),
            "FW_MCP_AUTH_TOKENS_FILE": str(tokens),
            "FW_MCP_LOG_LEVEL": "INFO",
        }
        self.proc: subprocess.Popen[bytes] | None = None
        self.url = ""

    def __enter__(self) -> HttpServer:
        args = ["serve", "--transport", "http", "--port", "0", "--workers", str(self.workers)]
        with open(self.log, "wb") as errlog:
            self.proc = subprocess.Popen(
                [*self.cmd, *args],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=errlog,
                env=self.env,
                cwd=ROOT,
                start_new_session=True,
            )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            text = self.log.read_text(errors="replace")
            match = SERVING.search(text)
            if match and text.count(" ready.") >= self.workers:
                self.url = match.group(1)
                return self
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)
        self.__exit__()
        raise RuntimeError(f"the HTTP server did not start; see {self.log}:\n{self.log.read_text()[-2000:]}")

    def __exit__(self, *exc: object) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)  # our own session: the supervisor and its workers
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()


def call_body(request_id: int, prompt: str) -> dict[str, Any]:
    meta = {
        "io.modelcontextprotocol/protocolVersion": PROTOCOL,
        "io.modelcontextprotocol/clientInfo": {"name": "fw-mcp-bench", "version": "0"},
        "io.modelcontextprotocol/clientCapabilities": {},
        "progressToken": request_id,
    }
    return {
        "jsonrpc": "2.0",
        "id": request_id,
        "method": "tools/call",
        "params": {"name": "chat", "arguments": {"prompt": prompt}, "_meta": meta},
    }


class RawConnection:
    """A minimal keep-alive HTTP/1.1 client on asyncio streams: a load generator must cost far less
    CPU than the server it loads (httpx2 costs more per call than fw-mcp itself on this machine)."""

    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        self.host, self.port, self.path = parts.hostname or "127.0.0.1", parts.port or 80, parts.path
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def post(self, body: bytes, headers: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
        if self.writer is None or self.writer.is_closing():
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        assert self.reader is not None
        head = (
            f"POST {self.path} HTTP/1.1\r\nhost: {self.host}:{self.port}\r\ncontent-length: {len(body)}\r\n"
        )
        head += "".join(f"{k}: {v}\r\n" for k, v in headers.items()) + "\r\n"
        self.writer.write(head.encode() + body)
        status_line, *lines = (await self.reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
        status = int(status_line.split()[1])
        got = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines if line)}
        if "content-length" in got:
            data = await self.reader.readexactly(int(got["content-length"]))
        elif got.get("transfer-encoding") == "chunked":
            pieces = []
            while size := int((await self.reader.readuntil(b"\r\n")).split(b";")[0], 16):
                pieces.append(await self.reader.readexactly(size + 2))
            await self.reader.readuntil(b"\r\n")
            data = b"".join(p[:-2] for p in pieces)
        else:
            data = await self.reader.read()
        if got.get("connection") == "close":
            await self.close()
        return status, got, data

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            self.writer = None


async def call_chat(conn: RawConnection, request_id: int, token: str) -> int:
    """One tools/call; returns the number of progress notifications that came with it."""
    headers = {
        "authorization": f"Bearer {token}",
        "accept": "application/json, text/event-stream",
        "content-type": "application/json",
        "mcp-protocol-version": PROTOCOL,
        "mcp-method": "tools/call",
        "mcp-name": "chat",
    }
    body = json.dumps(call_body(request_id, f"http call {request_id}")).encode()
    status, got, data = await conn.post(body, headers)
    if status != 200:
        raise RuntimeError(f"HTTP {status}: {data[:300]!r}")
    if got.get("content-type", "").startswith("application/json"):
        messages = [json.loads(data)]
    else:
        messages = [
            json.loads(line[5:])
            for line in data.decode().splitlines()
            if line.startswith("data:") and line[5:].strip()
        ]
    notifications = 0
    for message in messages:
        if message.get("method") == "notifications/progress":
            notifications += 1
        elif message.get("id") == request_id:
            result = message.get("result") or {}
            if "error" in message or result.get("isError"):
                raise RuntimeError(f"call failed: {json.dumps(message)[:300]}")
            if not str((result.get("structuredContent") or {}).get("text", "")).startswith("Simulated"):
                raise RuntimeError(f"unexpected answer: {json.dumps(result)[:300]}")
            return notifications
    raise RuntimeError("no result in the response")


async def load(
    url: str, *, clients: int, warmup: float, duration: float, pids: dict[str, int]
) -> dict[str, Any]:
    done: list[tuple[float, float]] = []  # (finished at, latency)
    errors: list[str] = []
    counter = iter(range(1, 10**9))
    stop_at = time.perf_counter() + warmup + duration

    async def client(token: str) -> None:
        conn = RawConnection(url)
        try:
            while time.perf_counter() < stop_at:
                t0 = time.perf_counter()
                try:
                    await call_chat(conn, next(counter), token)
                    done.append((time.perf_counter(), time.perf_counter() - t0))
                except Exception as exc:
                    errors.append(f"{type(exc).__name__}: {str(exc)[:200]}")
                    await conn.close()
        finally:
            await conn.close()

    start = time.perf_counter()
    tree = {name: name == "server" for name in pids}  # the server's workers are its children
    cpu0 = {name: cpu_seconds(pid, tree=tree[name]) for name, pid in pids.items()}
    await asyncio.gather(*(client(TOKEN.format(i=i)) for i in range(clients)))
    cpu = {name: cpu_seconds(pid, tree=tree[name]) - cpu0[name] for name, pid in pids.items()}
    window = [lat for t, lat in done if start + warmup <= t <= start + warmup + duration]
    return {
        "calls_per_second": round(len(window) / duration, 1),
        "p50_ms": ms(median(window)),
        "p99_ms": ms(quantile(window, 0.99)),
        "calls": len(window),
        "errors": len(errors),
        "first_errors": errors[:3],
        "cpu_ms_per_call": {name: ms(v / max(len(done), 1)) for name, v in cpu.items()},
    }


async def one_client(url: str, *, calls: int) -> dict[str, Any]:
    """Calls one after another by a single client: on a new connection each time, and on one kept
    alive (as every real client does). The difference is the cost of reusing a connection."""
    token = TOKEN.format(i=0)
    fresh: list[float] = []
    kept: list[float] = []
    conn = RawConnection(url)
    try:
        for i in range(calls):
            t0 = time.perf_counter()
            await call_chat(conn, 10**8 + i, token)
            (fresh if i % 2 == 0 else kept).append(time.perf_counter() - t0)
            if i % 2 == 1:
                await conn.close()  # the next (even) call opens a new connection
    finally:
        await conn.close()
    return {"new_connection_p50_ms": ms(median(fresh)), "kept_alive_p50_ms": ms(median(kept))}


async def run(
    sim: SimProcess,
    *,
    latency: float,
    clients: int,
    warmup: float,
    duration: float,
    workers: tuple[int, ...] = (1, 2, 4),
    single_calls: int = 20,
) -> dict[str, Any]:
    help_text = serve_help()
    if "--workers" not in help_text or "--transport" not in help_text:
        return {"measured": False, "reason": "`fw-mcp serve` has no --transport http / --workers yet"}
    sim.reset()
    sim.configure(latency=latency)
    out: dict[str, Any] = {
        "measured": True,
        "upstream_latency_ms": ms(latency),
        "clients": clients,
        "seconds": duration,
        "auth": "bearer tokens (one per client, from FW_MCP_AUTH_TOKENS_FILE)",
        "cpus": os.cpu_count(),
    }
    for n in workers:
        with HttpServer(sim.base_url, n, clients) as server:
            assert server.proc is not None and sim.proc is not None
            pids = {"server": server.proc.pid, "simulator": sim.proc.pid, "load_generator": os.getpid()}
            alone = await one_client(server.url, calls=single_calls)
            result = await load(server.url, clients=clients, warmup=warmup, duration=duration, pids=pids)
            out[str(n)] = {"workers": n, **result, "one_client": alone}
    base = out[str(workers[0])]["calls_per_second"]
    for n in workers:
        out[str(n)]["speedup_vs_1"] = round(out[str(n)]["calls_per_second"] / base, 2) if base else None
    return out
