"""Thread-free stdio for the MCP server: asyncio pipe transports under the SDK's `stdio_server`.

The SDK wraps stdin/stdout with `anyio.wrap_file`, so every line read and every write+flush is a
hop to a worker thread (a large share of the server's CPU under load; bench/README.md has the
figures). Here the SDK still parses and serialises (`stdio_server(stdin=..., stdout=...)`); only
the byte I/O moves onto the event loop, through `loop.connect_read_pipe` / `connect_write_pipe`
over private duplicates of fds 0 and 1.

Explicit streams make the SDK skip its fd claim, so `stdio_transport()` does it itself: while serving,
fd 0 reads the null device and fd 1 writes to stderr, so stray prints and children cannot corrupt the
JSON-RPC wire. Both fds, and their O_NONBLOCK flag, are restored on exit. This claim repeats the
SDK's private `mcp.server.stdio._claim_fd` (mcp 2.x), which it cannot call: delete `_claim` and
`_release` when the SDK claims the fds for explicit streams too, or exposes its claim; delete this
whole module when the SDK's own transport stops handing each line to a worker thread.
tests/test_upstream_contracts.py fails when the SDK starts claiming for explicit streams.

The fast path is taken only when it is safe (see `_refusal`); otherwise the SDK's own transport runs.
"""

from __future__ import annotations

import asyncio
import io
import logging
import os
import stat
import sys
from collections import deque
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack, asynccontextmanager, suppress
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeAlias, cast

import anyio
from mcp.server.stdio import stdio_server

if TYPE_CHECKING:  # types only: the SDK exports no public name for the streams its server runs on
    from mcp.shared._stream_protocols import ReadStream, WriteStream
    from mcp.shared.message import SessionMessage

    Streams: TypeAlias = tuple[ReadStream[SessionMessage | Exception], WriteStream[SessionMessage]]

__all__ = ["LineReader", "PipeWriter", "open_pipes", "stdio_transport"]

logger = logging.getLogger(__name__)

HIGH_WATER = 4 * 1024 * 1024
"""Pause reading when more than this many bytes of complete lines wait to be consumed."""
LOW_WATER = 1024 * 1024
"""...and resume once the backlog is down to this."""
CLOSE_TIMEOUT = 5.0
"""On exit, how long pending output may take to reach a host that is still there but not reading."""
SETTLE_TIMEOUT = 0.05
"""How long a message after a progress notification waits for the host to have read that notification."""
SETTLE_SPINS = 32
"""...looking again at once this many times first (event-loop timers tick in whole milliseconds, and
an idle host reads within a fraction of one), then at growing intervals."""
_PROGRESS = '"method":"notifications/progress"'

_serving = False  # one claim of fds 0 and 1 per process, as the SDK enforces for its own


class LineReader(asyncio.Protocol):
    """The lines of a read pipe, as the SDK's UTF-8 `TextIOWrapper` yields them, with no length limit.

    Each line keeps its "\\n" (the last one at EOF may have none) and is decoded with errors="replace".
    Only complete lines count towards flow control, so an incomplete line, however long, can always
    complete; a huge line arriving in many chunks is joined once, never re-scanned.
    """

    def __init__(self, high_water: int = HIGH_WATER, low_water: int = LOW_WATER) -> None:
        self._high, self._low = high_water, low_water
        self._lines: deque[bytes] = deque()
        self._partial: list[bytes] = []
        self._backlog = 0
        self._eof = False
        self._paused = False
        self._waiter: asyncio.Future[None] | None = None
        self._transport: asyncio.ReadTransport | None = None
        self._closed = asyncio.get_running_loop().create_future()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = cast(asyncio.ReadTransport, transport)

    def data_received(self, data: bytes) -> None:
        if self._eof:
            return
        start = 0
        while (end := data.find(b"\n", start)) >= 0:
            self._partial.append(data[start : end + 1])
            self._push(b"".join(self._partial))
            self._partial.clear()
            start = end + 1
        if start < len(data):
            self._partial.append(data[start:] if start else data)
        if self._backlog > self._high and not self._paused and self._open():
            self._paused = True
            self._transport.pause_reading()  # type: ignore[union-attr]

    def eof_received(self) -> bool | None:
        self._finish()
        return None

    def connection_lost(self, exc: Exception | None) -> None:
        if exc is not None:
            logger.debug("stdin: read failed, taken as EOF: %r", exc)
        self._finish()
        if not self._closed.done():
            self._closed.set_result(None)

    def abort(self) -> None:
        """End the lines now, dropping any backlog: the host has gone and cannot hear answers."""
        self._lines.clear()
        self._partial.clear()
        self._backlog = 0
        self._eof = True
        self._wake()
        if self._open():
            self._transport.close()  # type: ignore[union-attr]

    async def aclose(self) -> None:
        if self._open():
            self._transport.close()  # type: ignore[union-attr]
        if self._transport is not None:
            await _wait_closed(self._closed)

    def __aiter__(self) -> LineReader:
        return self

    async def __anext__(self) -> str:
        while not self._lines:
            if self._eof:
                raise StopAsyncIteration
            self._waiter = asyncio.get_running_loop().create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None
        line = self._lines.popleft()
        self._backlog -= len(line)
        if self._paused and self._backlog <= self._low:
            self._paused = False
            if self._open():
                self._transport.resume_reading()  # type: ignore[union-attr]
        return line.decode("utf-8", errors="replace")

    def _push(self, line: bytes) -> None:
        self._lines.append(line)
        self._backlog += len(line)
        self._wake()

    def _finish(self) -> None:
        if not self._eof and self._partial:
            self._push(b"".join(self._partial))
        self._partial.clear()
        self._eof = True
        self._wake()

    def _wake(self) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)

    def _open(self) -> bool:
        return self._transport is not None and not self._transport.is_closing()


class PipeWriter(asyncio.Protocol):
    """The `write(str)` / `flush()` half of `anyio.AsyncFile` that the SDK's writer task uses.

    `write` hands the bytes to the transport in call order and waits while the transport is over
    its high-water mark, so a slow host cannot make us buffer without bound. Once the host has
    closed its end, writes raise `anyio.BrokenResourceError` and `on_lost` runs (once); after our
    own `aclose()` they raise `anyio.ClosedResourceError`, which the SDK's writer task handles.
    """

    def __init__(self, on_lost: Callable[[], None] | None = None, fd: int | None = None) -> None:
        self.on_lost = on_lost
        self._fd = fd
        self._queue_request = None if fd is None else _queue_request(fd)
        self._after_progress = False
        self._transport: asyncio.WriteTransport | None = None
        self._paused = False
        self._drainers: deque[asyncio.Future[None]] = deque()
        self._closing = False
        self._host_gone = False
        self._cause: BaseException | None = None
        self._closed = asyncio.get_running_loop().create_future()

    @property
    def host_gone(self) -> bool:
        """True once the host closed its end (or a write failed) before our own close."""
        return self._host_gone

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = cast(asyncio.WriteTransport, transport)

    def pause_writing(self) -> None:
        self._paused = True

    def resume_writing(self) -> None:
        self._paused = False
        self._wake_drainers()

    def connection_lost(self, exc: Exception | None) -> None:
        if not self._closing:
            logger.debug("stdout: the host closed it (%r)", exc)
            self._lose(exc)
        self._wake_drainers()
        if not self._closed.done():
            self._closed.set_result(None)

    async def write(self, data: str) -> None:
        progress = _PROGRESS in data[:64]
        if self._after_progress and not progress:
            await self._until_host_read()
        self._after_progress = progress
        self._check()
        cast(asyncio.WriteTransport, self._transport).write(data.encode("utf-8"))
        self._check()  # the write itself may have failed (EPIPE)
        while self._paused:
            waiter = asyncio.get_running_loop().create_future()
            self._drainers.append(waiter)
            try:
                await waiter
            finally:
                with suppress(ValueError):
                    self._drainers.remove(waiter)
            self._check()

    async def flush(self) -> None:
        """Bytes are handed to the transport by `write`; only report a host that has gone."""
        self._check()

    async def _until_host_read(self) -> None:
        """Wait (at most SETTLE_TIMEOUT) until the host has read everything written so far.

        Works around the MCP TypeScript SDK (1.x `Protocol`): it handles a notification a tick after
        the messages read with it, so a result in the same read as the last progress notification
        unregisters the progress token first, and the notification is dropped ("Received a progress
        notification for an unknown token"). A separate read keeps them in order.
        """
        loop = asyncio.get_running_loop()
        deadline, pause, spins = loop.time() + SETTLE_TIMEOUT, 0.001, 0
        while self._unread() and loop.time() < deadline and not self._closing:
            if spins < SETTLE_SPINS:
                spins += 1
                await asyncio.sleep(0)  # one turn of the loop: other calls' work runs meanwhile
            else:
                await asyncio.sleep(pause)
                pause = min(pause * 2, 0.005)

    def _unread(self) -> int:
        """Bytes written but not yet read by the host: ours still buffered, plus the pipe's or socket's."""
        buffered = self._transport.get_write_buffer_size() if self._transport is not None else 0
        if self._fd is None or self._queue_request is None:
            return buffered
        return buffered + _kernel_unread(self._fd, self._queue_request)

    async def aclose(self) -> None:
        """Close after pending bytes are written (at most CLOSE_TIMEOUT, then drop them)."""
        if self._transport is None or self._closing:
            return
        self._closing = True
        if not self._transport.is_closing():
            self._transport.close()
        await _wait_closed(self._closed, self._transport.abort)

    def _check(self) -> None:
        if not self._closing and self._transport is not None and self._transport.is_closing():
            self._lose(None)  # closed by a failure; connection_lost is still to come
        if self._host_gone:
            raise anyio.BrokenResourceError("the host closed stdout") from self._cause
        if self._closing or self._transport is None:
            raise anyio.ClosedResourceError

    def _lose(self, exc: BaseException | None) -> None:
        if self._host_gone:
            return
        self._host_gone, self._cause = True, exc
        if self.on_lost is not None:
            self.on_lost()

    def _wake_drainers(self) -> None:
        for waiter in self._drainers:
            if not waiter.done():
                waiter.set_result(None)


def _queue_request(fd: int) -> int | None:
    """The ioctl that counts a write end's unread bytes: FIONREAD on a pipe, SIOCOUTQ on a socket.

    Linux only (elsewhere FIONREAD on a pipe's write end does not count its contents): None there.
    """
    if sys.platform != "linux":
        return None
    import termios

    try:
        return termios.TIOCOUTQ if stat.S_ISSOCK(os.fstat(fd).st_mode) else termios.FIONREAD
    except OSError:
        return None


def _kernel_unread(fd: int, request: int) -> int:
    import fcntl

    try:
        raw = fcntl.ioctl(fd, request, b"\0\0\0\0")
    except OSError:
        return 0
    return int.from_bytes(raw, sys.byteorder, signed=True)


async def _wait_closed(closed: asyncio.Future[None], abort: Callable[[], None] | None = None) -> None:
    """Wait for connection_lost, shielded from cancellation; `abort` a close that takes too long."""
    with anyio.CancelScope(shield=True):
        with anyio.move_on_after(CLOSE_TIMEOUT):
            await asyncio.shield(closed)
        if not closed.done() and abort is not None:
            logger.warning("stdio: output still unread after %.0f s at exit; dropping it", CLOSE_TIMEOUT)
            abort()
            await asyncio.shield(closed)


@dataclass(frozen=True)
class _Claim:
    """fd diverted while serving; `saved` keeps the wire, to put back with its blocking flag."""

    fd: int
    saved: int
    blocking: bool


def _refusal() -> str | None:
    """Why the fast path is unsafe here, or None.

    fds 0 and 1 must be pipes or sockets (hosts use pipes; Node/libuv socketpairs), and fds 0, 1, 2
    distinct open files: O_NONBLOCK is shared by every fd on an open file, so it would leak into
    stderr logging (`2>&1`), and a socket serving as both stdin and stdout would confuse the
    write transport's hang-up detection.
    """
    if sys.platform == "win32":
        return "Windows"
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return "not an asyncio event loop"
    seen: set[tuple[int, int]] = set()
    for fd in (0, 1, 2):
        try:
            info = os.fstat(fd)
        except OSError:
            if fd < 2:
                return f"fd {fd} is closed"
            continue
        if fd < 2 and not (stat.S_ISFIFO(info.st_mode) or stat.S_ISSOCK(info.st_mode)):
            return f"fd {fd} is neither a pipe nor a socket"
        if (info.st_dev, info.st_ino) in seen:
            return f"fd {fd} is the same file as a lower fd"
        seen.add((info.st_dev, info.st_ino))
    return None


def _dup_above_std(fd: int) -> int:
    import fcntl

    return fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 3)


def _claim(fd: int, open_diversion: Callable[[], int]) -> _Claim:
    """Keep a private duplicate of fd, then point fd at the diversion."""
    saved = _dup_above_std(fd)
    try:
        claim = _Claim(fd, saved, os.get_blocking(fd))
        diversion = open_diversion()
        try:
            os.dup2(diversion, fd)
        finally:
            os.close(diversion)
    except BaseException:
        os.close(saved)
        raise
    return claim


def _release(claim: _Claim) -> None:
    try:
        os.dup2(claim.saved, claim.fd)
        os.set_blocking(claim.fd, claim.blocking)
    except OSError as exc:
        logger.warning("stdio: could not restore fd %d: %s", claim.fd, exc)
    finally:
        os.close(claim.saved)


def _stdout_diversion() -> int:
    try:
        return os.dup(2)
    except OSError:
        return os.open(os.devnull, os.O_WRONLY)


async def open_pipes(
    read_fd: int, write_fd: int, *, high_water: int = HIGH_WATER, low_water: int = LOW_WATER
) -> tuple[LineReader, PipeWriter]:
    """A LineReader and a PipeWriter that own duplicates of these fds (the fds stay the caller's).

    The writer aborts the reader when the host closes its end: nobody would hear the answers.
    """
    loop = asyncio.get_running_loop()
    async with AsyncExitStack() as undo:  # unwinds only if a step fails
        read_file = io.FileIO(_dup_above_std(read_fd), "rb")  # a fd, no path: nothing blocks
        undo.callback(read_file.close)
        write_file = io.FileIO(_dup_above_std(write_fd), "wb")
        undo.callback(write_file.close)
        _, reader = await loop.connect_read_pipe(lambda: LineReader(high_water, low_water), read_file)
        undo.push_async_callback(reader.aclose)
        fd = write_file.fileno()
        _, writer = await loop.connect_write_pipe(lambda: PipeWriter(reader.abort, fd), write_file)
        undo.pop_all()
    return reader, writer


@dataclass(frozen=True)
class _Pipes:
    claims: list[_Claim]
    reader: LineReader
    writer: PipeWriter


async def _open_claimed() -> _Pipes:
    """Divert fds 0 and 1 and serve their wire through pipes; undo everything if any step fails."""
    global _serving
    _serving = True
    claims: list[_Claim] = []
    try:
        claims.append(_claim(0, lambda: os.open(os.devnull, os.O_RDONLY)))
        claims.append(_claim(1, _stdout_diversion))
        reader, writer = await open_pipes(claims[0].saved, claims[1].saved)
    except BaseException:
        _release_all(claims)
        raise
    return _Pipes(claims, reader, writer)


async def _close_claimed(pipes: _Pipes) -> None:
    """Flush and close the pipes, then give fds 0 and 1 back their wire."""
    try:
        await pipes.writer.aclose()
        await pipes.reader.aclose()
    finally:
        _release_all(pipes.claims)


def _release_all(claims: list[_Claim]) -> None:
    global _serving
    for claim in reversed(claims):
        _release(claim)
    _serving = False


def _host_hung_up(exc: BaseException, writer: PipeWriter) -> bool:
    """The failure is only the writes refused after the host closed our stdout."""
    if not writer.host_gone:
        return False
    if isinstance(exc, BaseExceptionGroup):
        return exc.split(anyio.BrokenResourceError)[1] is None
    return isinstance(exc, anyio.BrokenResourceError)


@asynccontextmanager
async def stdio_transport() -> AsyncIterator[Streams]:
    """`mcp.server.stdio.stdio_server()`, with asyncio pipes instead of worker threads when safe.

    A host that closes our stdout ends the session quietly, instead of leaving us reading forever.

    Raises:
        RuntimeError: another stdio_transport() in this process is serving fds 0 and 1.
    """
    if _serving:
        raise RuntimeError("another stdio_transport() in this process is already serving fds 0 and 1")
    refusal, pipes = _refusal(), None
    if refusal is None:
        try:
            pipes = await _open_claimed()
        except (OSError, ValueError, NotImplementedError) as exc:
            refusal = f"could not open pipes: {exc!r}"
    if pipes is None:
        logger.debug("stdio: the SDK's threaded transport (%s)", refusal)
        async with stdio_server() as (read_stream, write_stream):
            yield _answering(read_stream, write_stream), write_stream
        return
    loop = type(asyncio.get_running_loop())
    logger.debug("stdio: asyncio pipes on fds 0 and 1 (%s.%s)", loop.__module__, loop.__qualname__)
    try:
        async with stdio_server(stdin=cast(Any, pipes.reader), stdout=cast(Any, pipes.writer)) as (
            read_stream,
            write_stream,
        ):
            yield _answering(read_stream, write_stream), write_stream
    except BaseException as exc:
        if not _host_hung_up(exc, pipes.writer):
            raise
        logger.info("The host closed stdout: stopping.")
    finally:
        await _close_claimed(pipes)


def _answering(
    read_stream: ReadStream[SessionMessage | Exception], write_stream: WriteStream[SessionMessage]
) -> Any:
    """Lines the SDK's parser refuses are answered with their id (see fw_mcp.stdio_answers)."""
    from fw_mcp.stdio_answers import AnsweringReadStream

    return AnsweringReadStream(read_stream, write_stream)
