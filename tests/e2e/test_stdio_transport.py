"""fw_mcp.stdio, the thread-free stdio transport: its reader and writer over os.pipe(), the fd diversion
in a small script, and `python -m fw_mcp` spoken to in raw JSON-RPC lines, as hosts do. Each runs on the
default asyncio loop and on uvloop."""

from __future__ import annotations

import fcntl
import io
import itertools
import json
import os
import re
import socket
import struct
import subprocess
import sys
import termios
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Protocol

import anyio
import pytest
from anyio.abc import Process

from fw_mcp.simulator import SimulatorServer
from fw_mcp.stdio import LineReader, PipeWriter, open_pipes
from tests.e2e.helpers import ROOT, server_env
from tests.http.helpers import until

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX pipes and fds")

LOOPS = ["asyncio", "uvloop"]
INIT = {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "raw", "version": "0"}}
Json = dict[str, Any]


def run_on(loop: str, fn: Callable[..., Awaitable[Any]], *args: Any) -> Any:
    if loop == "uvloop":
        pytest.importorskip("uvloop")
    return anyio.run(fn, *args, backend="asyncio", backend_options={"use_uvloop": loop == "uvloop"})


def rpc(method: str, id_: int | None = None, params: Json | None = None) -> bytes:
    message: Json = {"jsonrpc": "2.0", "method": method, "params": params or {}}
    if id_ is not None:
        message["id"] = id_  # last, so a reply proves the whole line was read
    return (json.dumps(message, ensure_ascii=False) + "\n").encode()


HANDSHAKE = rpc("initialize", 1, INIT) + rpc("notifications/initialized")


# -- the reader and the writer, over os.pipe() ------------------------------------------------------------


@dataclass
class Host:
    """The host's ends of the pipes: `w` feeds our stdin, `r` reads our stdout."""

    w: int
    r: int
    closed: set[int] = field(default_factory=set)

    def close(self, fd: int) -> None:
        """Hang up one end (once: a number closed twice could be someone else's by then)."""
        if fd not in self.closed:
            self.closed.add(fd)
            os.close(fd)


@asynccontextmanager
async def wired(**water: int) -> AsyncIterator[tuple[LineReader, PipeWriter, Host]]:
    """A reader and a writer on fresh pipes, and the host at their other ends."""
    stdin_r, host_w = os.pipe()
    host_r, stdout_w = os.pipe()
    host = Host(host_w, host_r)
    try:
        reader, writer = await open_pipes(stdin_r, stdout_w, **water)
    finally:
        os.close(stdin_r)
        os.close(stdout_w)
    try:
        yield reader, writer, host
    finally:
        await writer.aclose()
        await reader.aclose()
        host.close(host.w)
        host.close(host.r)


def unread(fd: int) -> int:
    """Bytes written into a pipe and not read yet (FIONREAD; Linux answers on either end)."""
    return int(struct.unpack("i", fcntl.ioctl(fd, termios.FIONREAD, b"\0" * 4))[0])


def in_thread(target: Callable[[], None]) -> threading.Thread:
    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    return thread


@pytest.mark.parametrize("loop", LOOPS)
def test_reader_yields_exactly_the_lines_the_sdk_text_layer_yields(loop: str) -> None:
    data = (
        b'{"a": 1}\n\n'
        + b"caf\xc3\xa9 \xff\xfe invalid \xe2\x82\n"
        + b"euro split across writes: \xe2\x82\xac and \xf0\x9f\x98\x80\n"
        + b"x" * 300_000
        + b"\nlast line, no newline"
    )
    sdk = list(io.TextIOWrapper(io.BytesIO(data), encoding="utf-8", errors="replace"))

    async def main() -> list[str]:
        async with wired() as (reader, _, host):

            async def feed() -> None:  # 7-byte pieces first (splitting é, € and 😀), then 64 KB
                cuts = [*range(0, 200, 7), *range(200, len(data), 65536), len(data)]
                for start, end in itertools.pairwise(cuts):
                    os.write(host.w, data[start:end])
                    await until(lambda: unread(host.w) == 0)  # read before the next: pieces arrive apart
                host.close(host.w)

            async with anyio.create_task_group() as tg:
                tg.start_soon(feed)
                with anyio.fail_after(10):
                    return [line async for line in reader]
        raise AssertionError("unreachable")

    assert run_on(loop, main) == sdk
    assert sdk[-1] == "last line, no newline" and "\ufffd" in sdk[2]


@pytest.mark.parametrize("loop", LOOPS)
def test_reader_stops_reading_on_a_backlog_of_complete_lines_and_catches_up(loop: str) -> None:
    lines = [f"{n:07d}".encode() + b"." * 992 + b"\n" for n in range(8000)]  # 8 MB of 1000-byte lines
    written = [0]

    async def main() -> tuple[int, list[str]]:
        async with wired(high_water=64 * 1024, low_water=16 * 1024) as (reader, _, host):

            def play_host() -> None:
                for line in lines:
                    os.write(host.w, line)
                    written[0] += len(line)
                host.close(host.w)

            thread = in_thread(play_host)
            # Nobody consumes: reading must stop. (LineReader's own flag: asyncio offers no public
            # "is reading" on a protocol's transport.) Without flow control this wait fails.
            await until(lambda: reader._paused)
            held = written[0]
            with anyio.fail_after(20):
                got = [line async for line in reader]
            await anyio.to_thread.run_sync(thread.join)
        return held, got

    held, got = run_on(loop, main)
    assert held < 2 * 1024 * 1024, f"{held} bytes taken in with nobody consuming: no flow control"
    assert got == [line.decode() for line in lines], "resumed, and every line arrived intact, in order"


@pytest.mark.parametrize("loop", LOOPS)
def test_an_incomplete_line_never_holds_reading_paused(loop: str) -> None:
    huge = b"z" * (3 * 1024 * 1024)  # far above the high-water mark, sent in 4 KB pieces

    async def main() -> list[str]:
        async with wired(high_water=64 * 1024, low_water=16 * 1024) as (reader, _, host):

            def play_host() -> None:
                for i in range(0, len(huge), 4096):
                    os.write(host.w, huge[i : i + 4096])
                os.write(host.w, b"\nnext\n")
                host.close(host.w)

            thread = in_thread(play_host)
            with anyio.fail_after(10):
                got = [line async for line in reader]
            await anyio.to_thread.run_sync(thread.join)
        return got

    assert run_on(loop, main) == [huge.decode() + "\n", "next\n"]


@pytest.mark.parametrize("loop", LOOPS)
def test_writer_waits_for_a_slow_host_and_close_delivers_everything(loop: str) -> None:
    lines = [f"{n:05d}:".encode() + b"w" * 40_000 + b"\n" for n in range(200)]  # 8 MB
    received = bytearray()

    async def main() -> list[int]:
        async with wired() as (_, writer, host):

            def play_host() -> None:
                while chunk := os.read(host.r, 65536):
                    received.extend(chunk)
                    time.sleep(0.0005)  # a slow host: pacing the reads, not waiting for anything

            thread = in_thread(play_host)
            unsent: list[int] = []
            sent = 0
            for line in lines:
                await writer.write(line.decode())
                await writer.flush()
                sent += len(line)
                unsent.append(sent - len(received))
            await writer.aclose()  # returns once the transport has written everything
            await anyio.to_thread.run_sync(thread.join)  # the host reads to EOF
        return unsent

    unsent = run_on(loop, main)
    assert max(unsent) < 2 * 1024 * 1024, "write() returned while megabytes were still buffered"
    assert bytes(received) == b"".join(lines), "nothing lost or reordered, and close flushed the rest"


@pytest.mark.parametrize("loop", LOOPS)
def test_once_the_host_closes_stdout_writes_fail_and_the_reader_ends(loop: str) -> None:
    async def main() -> None:
        async with wired() as (reader, writer, host):
            os.write(host.w, b"first\n")
            assert await reader.__anext__() == "first\n"
            host.close(host.r)  # the host hangs up while we are idle; our stdin stays open
            with anyio.fail_after(5):
                rest = [line async for line in reader]
            assert rest == [], "the reader ends: nobody would hear the answers"
            assert writer.host_gone
            with pytest.raises(anyio.BrokenResourceError):
                await writer.write("too late\n")
            with pytest.raises(anyio.BrokenResourceError):
                await writer.flush()

    run_on(loop, main)


@pytest.mark.parametrize("loop", LOOPS)
def test_a_write_blocked_on_a_full_pipe_fails_when_the_host_leaves(loop: str) -> None:
    async def main() -> None:
        async with wired() as (_, writer, host), anyio.create_task_group() as tg:

            async def hang_up() -> None:
                await until(lambda: unread(host.r) > 0)  # bytes in the pipe: the write now waits to drain
                host.close(host.r)

            tg.start_soon(hang_up)
            with anyio.fail_after(5), pytest.raises(anyio.BrokenResourceError):
                await writer.write("b" * 8_000_000 + "\n")  # nobody reads: waits for the drain

    run_on(loop, main)


# -- the fd diversion, in a small script ------------------------------------------------------------------

SCRIPT = """
import os, subprocess, sys
import anyio, mcp_types as types
from mcp.shared.message import SessionMessage
from fw_mcp.stdio import stdio_transport

async def main():
    before = (os.get_blocking(0), os.get_blocking(1))
    async with stdio_transport() as (read, write):
        async with write:
            async for message in read:
                print("stray print", flush=True)
                os.write(1, b"stray os.write\\n")
                subprocess.run(["echo", "stray child"], check=True)
                subprocess.run([sys.executable, "-c", "import sys; print('child read', repr(sys.stdin.read()))"])
                request = message.message
                await write.send(SessionMessage(types.JSONRPCResponse(jsonrpc="2.0", id=request.id, result={})))
    print("restored", before == (os.get_blocking(0), os.get_blocking(1)), flush=True)

anyio.run(main, backend_options={"use_uvloop": sys.argv[1] == "uvloop"})
"""


@pytest.mark.parametrize("loop", LOOPS)
async def test_stray_output_misses_the_wire_and_fds_are_restored_on_exit(loop: str, tmp_path: Path) -> None:
    if loop == "uvloop":
        pytest.importorskip("uvloop")
    script = tmp_path / "serve.py"
    script.write_text(SCRIPT)
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PYTHONPATH": str(ROOT)}
    with anyio.fail_after(20):
        async with await anyio.open_process([sys.executable, str(script), loop], env=env) as proc:
            assert proc.stdin and proc.stdout and proc.stderr
            out = bytearray()
            await proc.stdin.send(rpc("ping", 1))
            replies = await read_replies(proc.stdout, {1}, out)
            await proc.stdin.send(rpc("ping", 2))  # not stolen by the child that read stdin
            replies |= await read_replies(proc.stdout, {2}, out)
            await proc.stdin.aclose()
            out += b"".join([chunk async for chunk in proc.stdout])
            stderr = b"".join([chunk async for chunk in proc.stderr]).decode()
        assert await proc.wait() == 0, stderr
    assert replies.keys() == {1, 2}, "while serving, stdout carried the replies and only JSON-RPC"
    assert out == b"restored True\n", "after exit fd 1 is the wire again, with its blocking flags back"
    for stray in ("stray print", "stray os.write", "stray child", "child read ''"):
        assert stderr.count(stray) == 2, f"{stray!r} went to stderr, once per request"


# -- `python -m fw_mcp`, as hosts run it ------------------------------------------------------------------


class Receives(Protocol):
    async def receive(self) -> bytes: ...


class PipeEnd:
    """The host's read end of the server's stdout as a raw fd, so a test can really close it."""

    def __init__(self, fd: int) -> None:
        self.fd, self.open = fd, True

    def close(self) -> None:
        if self.open:  # once: a number closed twice could be someone else's by then
            self.open = False
            os.close(self.fd)

    async def receive(self) -> bytes:
        data = await anyio.to_thread.run_sync(os.read, self.fd, 65536)
        if not data:
            raise anyio.EndOfStream
        return data


def env_on(loop: str, simulator: SimulatorServer, level: str = "DEBUG") -> dict[str, str]:
    """The environment of `python -m fw_mcp` on this event loop, logging at `level`."""
    if loop == "uvloop":
        pytest.importorskip("uvloop")
    env = server_env(simulator.base_url, FW_MCP_LOG_LEVEL=level, FW_MCP_EVENT_LOOP=loop)
    return {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), **env}


@asynccontextmanager
async def serving(
    env: dict[str, str], stderr: IO[bytes], *args: str, **streams: Any
) -> AsyncIterator[Process]:
    command = [sys.executable, "-m", "fw_mcp", *args]
    async with await anyio.open_process(command, env=env, cwd=ROOT, stderr=stderr, **streams) as proc:
        yield proc


async def read_replies(stdout: Receives, want: set[int], buf: bytearray) -> dict[int, Json]:
    """Replies by id until all of `want` arrived; every complete line must be JSON-RPC."""
    replies: dict[int, Json] = {}
    with anyio.fail_after(30):
        while not want <= replies.keys():
            buf += await stdout.receive()
            *lines, rest = bytes(buf).split(b"\n")
            buf[:] = rest
            for line in lines:
                message = json.loads(line)
                assert message["jsonrpc"] == "2.0"
                if "id" in message:
                    replies[message["id"]] = message
    return replies


def assert_fast_path(stderr: str, loop: str) -> None:
    chosen = [line for line in stderr.splitlines() if "fw_mcp.stdio: stdio:" in line]
    assert chosen and "asyncio pipes" in chosen[0], chosen
    assert ("uvloop" in chosen[0]) == (loop == "uvloop"), chosen


async def exit_code(proc: Process, within: float = 10) -> int:
    with anyio.fail_after(within):
        return await proc.wait()


@pytest.mark.parametrize("loop", LOOPS)
async def test_a_20_mb_request_line_arrives_intact(
    loop: str, simulator: SimulatorServer, tmp_path: Path
) -> None:
    """The refusal counts the characters received: one lost byte or one bad decode would change it.

    A 1.1 MB ASCII prompt calibrates what the count adds to the prompt's own length.
    """
    huge = "aé€😀" * 2_000_000 + "end"  # 20 MB of UTF-8, multi-byte characters split across reads
    ascii_prompt = "a" * 1_100_000
    with (tmp_path / "stderr").open("wb") as errlog:
        async with serving(env_on(loop, simulator, "INFO"), errlog) as proc:
            assert proc.stdin and proc.stdout
            out = bytearray()
            await proc.stdin.send(HANDSHAKE)
            await proc.stdin.send(
                rpc("tools/call", 2, {"name": "chat", "arguments": {"prompt": ascii_prompt}})
            )
            await proc.stdin.send(rpc("tools/call", 3, {"name": "chat", "arguments": {"prompt": huge}}))
            await proc.stdin.send(rpc("ping", 4))
            replies = await read_replies(proc.stdout, {1, 2, 3, 4}, out)
            await proc.stdin.aclose()
            assert await exit_code(proc) == 0
    overhead = counted(replies[2]) - len(ascii_prompt)
    assert counted(replies[3]) == len(huge) + overhead
    assert replies[4]["result"] == {}, "and the next line is read as usual"
    assert simulator.sim.requests == [], "refused before any upload"


def counted(reply: Json) -> int:
    """The character count in an input-size refusal."""
    text = reply["result"]["content"][0]["text"]
    match = re.search(r"the input is ([\d,]+) characters", text)
    assert reply["result"]["isError"] and match, text
    return int(match.group(1).replace(",", ""))


@pytest.mark.parametrize("loop", LOOPS)
async def test_batched_and_fragmented_requests_are_all_answered(
    loop: str, simulator: SimulatorServer, tmp_path: Path
) -> None:
    with (tmp_path / "stderr").open("wb") as errlog:
        async with serving(env_on(loop, simulator), errlog) as proc:
            assert proc.stdin and proc.stdout
            out = bytearray()
            await proc.stdin.send(HANDSHAKE + rpc("tools/list", 2) + rpc("ping", 3) + rpc("prompts/list", 4))
            replies = await read_replies(proc.stdout, {1, 2, 3, 4}, out)
            call = rpc("tools/call", 5, {"name": "chat", "arguments": {"prompt": "in pieces"}})
            for i in range(0, len(call), 9):
                await proc.stdin.send(call[i : i + 9])
                await anyio.sleep(0.002)  # pacing, so the server reads fragments: nothing is waited for
            replies |= await read_replies(proc.stdout, {5}, out)
            await proc.stdin.aclose()
            assert await exit_code(proc) == 0
    assert {t["name"] for t in replies[2]["result"]["tools"]} >= {"chat", "extract_json"}
    assert replies[3]["result"] == {} and "prompts" in replies[4]["result"]
    assert replies[5]["result"]["structuredContent"]["text"].startswith("Simulated")
    assert_fast_path((tmp_path / "stderr").read_text(), loop)


@pytest.mark.parametrize("loop", LOOPS)
async def test_eof_on_stdin_ends_the_server_cleanly(
    loop: str, simulator: SimulatorServer, tmp_path: Path
) -> None:
    with (tmp_path / "stderr").open("wb") as errlog:
        async with serving(env_on(loop, simulator), errlog) as proc:
            assert proc.stdin and proc.stdout
            out = bytearray()
            await proc.stdin.send(HANDSHAKE + rpc("tools/list", 2))
            await read_replies(proc.stdout, {1, 2}, out)
            await proc.stdin.aclose()
            code = await exit_code(proc, within=5)
            rest = b"".join([chunk async for chunk in proc.stdout])
    stderr = (tmp_path / "stderr").read_text()
    assert code == 0, stderr
    assert not rest and not out, "nothing after the replies"
    assert "Traceback" not in stderr
    assert_fast_path(stderr, loop)


@pytest.mark.parametrize("busy", [False, True], ids=["idle", "mid-call"])
@pytest.mark.parametrize("loop", LOOPS)
async def test_the_host_closing_stdout_makes_the_server_exit(
    loop: str, busy: bool, simulator: SimulatorServer, tmp_path: Path
) -> None:
    simulator.sim.enqueue({"reply": {"content": " ".join(["word"] * 200)}, "token_delay": 0.01})
    host_r, server_w = os.pipe()
    host_end = PipeEnd(host_r)
    with (tmp_path / "stderr").open("wb") as errlog:
        try:
            async with serving(env_on(loop, simulator), errlog, stdout=server_w) as proc:
                os.close(server_w)
                assert proc.stdin
                await proc.stdin.send(HANDSHAKE)
                await read_replies(host_end, {1}, bytearray())
                if busy:  # progress and then the result are on their way when the host leaves
                    call = {"name": "chat", "arguments": {"prompt": "hi"}, "_meta": {"progressToken": 7}}
                    await proc.stdin.send(rpc("tools/call", 2, call))
                    await simulator.sim.wait_for_async(lambda rs: bool(rs) and rs[0]["events_sent"] >= 3)
                host_end.close()  # stdin stays open: only the hang-up can end the server
                code = await exit_code(proc, within=5)
        finally:
            host_end.close()
    stderr = (tmp_path / "stderr").read_text()
    assert code == 0, stderr
    assert "stdout: the host closed it" in stderr
    assert "Traceback" not in stderr and "unexpected error" not in stderr


@pytest.mark.parametrize("loop", LOOPS)
async def test_bad_bytes_and_malformed_json_do_not_kill_the_server(
    loop: str, simulator: SimulatorServer, tmp_path: Path
) -> None:
    with (tmp_path / "stderr").open("wb") as errlog:
        async with serving(env_on(loop, simulator), errlog) as proc:
            assert proc.stdin and proc.stdout
            out = bytearray()
            await proc.stdin.send(HANDSHAKE)
            await proc.stdin.send(b"\xff\xfe\x00 not utf-8 \xc3\n")
            await proc.stdin.send(b'{"jsonrpc": "2.0", "id": 9, "method": \n')  # cut short
            await proc.stdin.send(b"\n")
            await proc.stdin.send(rpc("tools/list", 2) + rpc("ping", 3))
            replies = await read_replies(proc.stdout, {1, 2, 3, 9}, out)
            await proc.stdin.aclose()
            assert await exit_code(proc) == 0
    assert "chat" in {t["name"] for t in replies[2]["result"]["tools"]}
    assert replies[9]["error"]["code"] == -32700, "a request cut short still gets an answer"
    assert_fast_path((tmp_path / "stderr").read_text(), loop)


@pytest.mark.parametrize("loop", LOOPS)
async def test_socketpairs_as_node_hosts_give_them(
    loop: str, simulator: SimulatorServer, tmp_path: Path
) -> None:
    host_in, server_in = socket.socketpair()
    host_out, server_out = socket.socketpair()
    with server_in, server_out, (tmp_path / "stderr").open("wb") as errlog:
        streams = {"stdin": server_in.fileno(), "stdout": server_out.fileno()}
        async with serving(env_on(loop, simulator), errlog, **streams) as proc:
            server_in.close()
            server_out.close()
            to_server = await anyio.abc.SocketStream.from_socket(host_in)
            from_server = await anyio.abc.SocketStream.from_socket(host_out)
            async with to_server, from_server:
                await to_server.send(HANDSHAKE + rpc("tools/list", 2))
                replies = await read_replies(from_server, {1, 2}, bytearray())
                await to_server.send_eof()
                assert await exit_code(proc) == 0
    assert replies[1]["result"]["serverInfo"]["name"] == "fw-mcp"
    assert_fast_path((tmp_path / "stderr").read_text(), loop)


async def test_a_regular_file_as_stdin_takes_the_sdk_transport(
    simulator: SimulatorServer, tmp_path: Path
) -> None:
    """`python -m fw_mcp < requests.jsonl > out.txt`.

    At EOF the SDK cancels requests still in flight, so pings after tools/list keep EOF away while it
    is answered (they may be cancelled themselves).
    """
    requests, out, err = tmp_path / "requests.jsonl", tmp_path / "out.txt", tmp_path / "stderr"
    requests.write_bytes(
        HANDSHAKE + rpc("tools/list", 2) + b"".join(rpc("ping", 100 + n) for n in range(500))
    )
    with requests.open("rb") as stdin, out.open("wb") as stdout, err.open("wb") as stderr:
        proc = await anyio.run_process(
            [sys.executable, "-m", "fw_mcp"],
            stdin=stdin,
            stdout=stdout,
            stderr=stderr,
            env=env_on("asyncio", simulator),
            cwd=ROOT,
            check=False,
        )
    assert proc.returncode == 0, err.read_text()
    replies = {m["id"]: m for m in map(json.loads, out.read_text().splitlines())}
    assert {1, 2} <= replies.keys()
    assert "chat" in {t["name"] for t in replies[2]["result"]["tools"]}
    assert "stdio: the SDK's threaded transport (fd 0 is neither a pipe nor a socket)" in err.read_text()


async def test_stdout_shared_with_stderr_takes_the_sdk_transport(simulator: SimulatorServer) -> None:
    """`2>&1`: our O_NONBLOCK would leak into stderr logging, so the SDK's transport serves."""
    async with await anyio.open_process(
        [sys.executable, "-m", "fw_mcp"], env=env_on("asyncio", simulator), cwd=ROOT, stderr=subprocess.STDOUT
    ) as proc:
        assert proc.stdin and proc.stdout
        await proc.stdin.send(HANDSHAKE + rpc("tools/list", 2))
        output = ""
        with anyio.fail_after(20):
            while '"id":2' not in output:
                output += (await proc.stdout.receive()).decode()
        await proc.stdin.aclose()
        assert await exit_code(proc) == 0
        output += b"".join([chunk async for chunk in proc.stdout]).decode()
    replies = {m["id"]: m for m in (json.loads(x) for x in output.splitlines() if x.startswith("{"))}
    assert replies.keys() == {1, 2}
    assert "stdio: the SDK's threaded transport (fd 2 is the same file as a lower fd)" in output
