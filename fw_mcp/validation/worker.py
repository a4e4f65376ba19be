"""A validation worker process: `python -m fw_mcp.validation.worker`, started by `pool.py`.

It reads jobs from stdin and writes replies to stdout, one length-prefixed pickle each: a job is
(seconds, function, arguments), run under a Budget of that many seconds; a reply is ("ok", value),
("budget", keyword counts, seconds), ("invalid", argument, problem) or ("error", exception name).
It runs at a lower priority than the server, so the event loop wins the CPU when both want it, and
ends when its stdin closes (the server stopped or killed it).
"""

from __future__ import annotations

import os
import pickle
import sys
import threading
from typing import IO, Any

from fw_mcp.errors import InvalidArgument
from fw_mcp.validation.budget import Budget, BudgetExceeded, budget

__all__ = ["main", "read_frame", "write_frame"]

NICENESS = 10  # below the server: a costly check never takes the CPU the event loop needs


def read_frame(stream: IO[bytes]) -> bytes | None:
    """One length-prefixed frame, or None at the end of the stream (or a frame cut short)."""
    head = stream.read(8)
    if head is None or len(head) < 8:
        return None
    size = int.from_bytes(head, "big")
    body = stream.read(size)
    return body if body is not None and len(body) == size else None


def write_frame(stream: IO[bytes], data: bytes) -> None:
    stream.write(len(data).to_bytes(8, "big") + data)
    stream.flush()


def run(frame: bytes) -> tuple[Any, ...]:
    """One job, its outcome as a reply tuple (exceptions do not pickle reliably: tuples do)."""
    try:
        seconds, fn, args = pickle.loads(frame)
        with budget(Budget(seconds, threading.Event())):
            return ("ok", fn(*args))
    except BudgetExceeded as exc:
        return ("budget", dict(exc.counts), exc.seconds)
    except InvalidArgument as exc:
        return ("invalid", exc.argument, exc.problem)
    except Exception as exc:  # a reply the server can map to a refusal; this process lives on
        return ("error", type(exc).__name__)


def main() -> None:
    replies = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)  # a stray print would corrupt the replies: stdout now goes to stderr
    if hasattr(os, "nice"):
        os.nice(NICENESS)
    jobs = sys.stdin.buffer
    while (frame := read_frame(jobs)) is not None:
        reply = run(frame)
        try:
            data = pickle.dumps(reply, protocol=pickle.HIGHEST_PROTOCOL)
        except Exception as exc:  # a value that cannot be sent back
            data = pickle.dumps(("error", type(exc).__name__))
        write_frame(replies, data)


if __name__ == "__main__":
    main()
