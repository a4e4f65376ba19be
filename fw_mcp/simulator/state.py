"""Shared state of one simulator: its configuration, the script queue and the request records.

The ASGI app runs on uvicorn's event loop in a background thread while tests script and inspect
it from their own thread (or another process, over ``/_sim/*``), so every access goes through
one lock and callers only ever get copies.
"""

from __future__ import annotations

import asyncio
import copy
import threading
import time
from collections.abc import Callable
from typing import Any

from .errors import ERROR_VECTORS

DEFAULT_CONFIG: dict[str, Any] = {
    "token_delay": 0.0,
    "latency": 0.0,
    "api_keys": None,
    "unknown_models": [],
    "extra_models": [],
    "chunk_words": 1,
}

SCRIPT_KEYS = frozenset(
    {
        "match",
        "path",
        "times",
        "delay",
        "status",
        "headers",
        "body",
        "body_text",
        "body_base64",
        "content_type",
        "error",
        "reply",
        "token_delay",
        "drop_after",
        "error_event_after",
        "malformed_after",
        "raw_sse",
    }
)
REPLY_KEYS = frozenset({"content", "reasoning", "think_tags", "tool_calls", "finish_reason", "usage"})


def _seconds(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool) and v >= 0


def _count(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool) and v >= 0


ENTRY_TYPES: dict[str, tuple[Callable[[Any], bool], str]] = {
    "match": (lambda v: isinstance(v, str), "a string"),
    "path": (lambda v: isinstance(v, str), "a string"),
    "delay": (_seconds, "a number of seconds >= 0"),
    "token_delay": (_seconds, "a number of seconds >= 0"),
    "status": (lambda v: _count(v) and 100 <= v <= 599, "an HTTP status code"),
    "headers": (lambda v: isinstance(v, dict), "an object of header names to values"),
    "body_text": (lambda v: isinstance(v, str), "a string"),
    "body_base64": (lambda v: isinstance(v, str), "a base64 string"),
    "content_type": (lambda v: isinstance(v, str), "a string"),
    "raw_sse": (lambda v: isinstance(v, str), "a string"),
    "drop_after": (_count, "an integer >= 0"),
    "error_event_after": (_count, "an integer >= 0"),
    "malformed_after": (_count, "an integer >= 0"),
}

# Records are kept for inspection; the cap keeps a long-running standalone simulator bounded.
MAX_RECORDS = 10_000
POLL_INTERVAL = 0.005

Record = dict[str, Any]


def check_config(values: dict[str, Any]) -> dict[str, Any]:
    """Validate configuration keys and types early, so a typo fails where it was made.

    Raises:
        ValueError: for an unknown key or a value of the wrong type or range.
    """
    out: dict[str, Any] = {}
    for key, value in values.items():
        if key not in DEFAULT_CONFIG:
            raise ValueError(f"unknown simulator config key {key!r}; known: {sorted(DEFAULT_CONFIG)}")
        if key in ("token_delay", "latency"):
            if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
                raise ValueError(f"{key} must be a number of seconds >= 0, got {value!r}")
            value = float(value)
        elif key == "chunk_words":
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"chunk_words must be an integer >= 1, got {value!r}")
        elif (key == "api_keys" and value is not None) or key in ("unknown_models", "extra_models"):
            if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
                raise ValueError(f"{key} must be a list of strings, got {value!r}")
            value = list(value)
        out[key] = value
    return out


def check_entry(entry: Any) -> dict[str, Any]:
    """Validate one script entry and return a private copy with ``times`` filled in.

    Raises:
        ValueError: for an entry that is not an object, has unknown keys or names an unknown error.
    """
    if not isinstance(entry, dict):
        raise ValueError(f"a script entry must be an object, got {type(entry).__name__}")
    unknown = set(entry) - SCRIPT_KEYS
    if unknown:
        raise ValueError(f"unknown script keys {sorted(unknown)}; known: {sorted(SCRIPT_KEYS)}")
    if "error" in entry and entry["error"] not in ERROR_VECTORS:
        raise ValueError(f"unknown error vector {entry['error']!r}; known: {sorted(ERROR_VECTORS)}")
    for key, value in entry.items():
        check = ENTRY_TYPES.get(key)
        if check is not None and not check[0](value):
            raise ValueError(f"script key {key!r} must be {check[1]}, got {value!r}")
    reply = entry.get("reply")
    if reply is not None and (not isinstance(reply, dict) or set(reply) - REPLY_KEYS):
        raise ValueError(f"reply must be an object with keys among {sorted(REPLY_KEYS)}")
    calls = (reply or {}).get("tool_calls") or []
    if not isinstance(calls, list) or not all(
        isinstance(c, dict) and isinstance(c.get("name"), str) for c in calls
    ):
        raise ValueError("reply.tool_calls must be a list of objects, each with a string name")
    times = entry.get("times", 1)
    if isinstance(times, bool) or not isinstance(times, int) or times < 1:
        raise ValueError(f"times must be an integer >= 1, got {times!r}")
    return {**copy.deepcopy(entry), "times": times}


def entry_matches(entry: dict[str, Any], path: str, raw_body: str) -> bool:
    """Whether a queued entry applies to this request; by default only chat completions do."""
    wanted_path = entry.get("path", "/chat/completions")
    return wanted_path in path and entry.get("match", "") in raw_body


class Simulator:
    """Thread-safe state of a simulated Fireworks endpoint: config, script queue and records."""

    def __init__(self, **config: Any) -> None:
        self._lock = threading.Condition()
        self._initial = {**copy.deepcopy(DEFAULT_CONFIG), **check_config(config)}
        self._config = copy.deepcopy(self._initial)
        self._script: list[dict[str, Any]] = []
        self._records: list[Record] = []
        self._seq = 0

    # -- configuration -------------------------------------------------------------------
    def configure(self, **config: Any) -> None:
        """Change configuration keys for the following requests.

        Raises:
            ValueError: for an unknown key or a bad value.
        """
        checked = check_config(config)
        with self._lock:
            self._config.update(checked)

    @property
    def config(self) -> dict[str, Any]:
        """A copy of the current configuration."""
        with self._lock:
            return copy.deepcopy(self._config)

    def reset(self) -> None:
        """Forget the script and the records and restore the configuration given at construction."""
        with self._lock:
            self._script.clear()
            self._records.clear()
            self._seq = 0
            self._config = copy.deepcopy(self._initial)
            self._lock.notify_all()

    # -- script --------------------------------------------------------------------------
    def enqueue(self, *entries: dict[str, Any]) -> None:
        """Append script entries, consumed first-in first-out by the requests they match.

        Raises:
            ValueError: when any entry is malformed (then none is queued).
        """
        checked = [check_entry(entry) for entry in entries]
        with self._lock:
            self._script.extend(checked)

    @property
    def script(self) -> list[dict[str, Any]]:
        """A copy of the entries still queued."""
        with self._lock:
            return copy.deepcopy(self._script)

    def take(self, path: str, raw_body: str) -> dict[str, Any] | None:
        """Consume one use of the first queued entry matching this request, if any."""
        with self._lock:
            for index, entry in enumerate(self._script):
                if entry_matches(entry, path, raw_body):
                    entry["times"] -= 1
                    if entry["times"] <= 0:
                        del self._script[index]
                    return copy.deepcopy(entry)
        return None

    # -- records -------------------------------------------------------------------------
    def open_record(self, **fields: Any) -> Record:
        """Append a new record for an API request and return it for later updates."""
        with self._lock:
            self._seq += 1
            record: Record = {
                "seq": self._seq,
                "status": None,
                "ended_at": None,
                "events_sent": 0,
                "outcome": None,
                "disconnected_at": None,
                "script": None,
                **fields,
            }
            self._records.append(record)
            del self._records[:-MAX_RECORDS]
            self._lock.notify_all()
            return record

    def update_record(self, record: Record, **fields: Any) -> None:
        """Change fields of a record under the lock, so readers never see half an update."""
        with self._lock:
            record.update(fields)
            self._lock.notify_all()

    def count_events(self, record: Record, n: int = 1) -> None:
        """Count SSE data events written to the client."""
        with self._lock:
            record["events_sent"] += n

    @property
    def requests(self) -> list[Record]:
        """A copy of the records of API requests received so far, oldest first."""
        with self._lock:
            return copy.deepcopy(self._records)

    def wait_for(self, predicate: Callable[[list[Record]], bool], timeout: float = 5.0) -> list[Record]:
        """Block until ``predicate(records)`` holds and return a copy of the records.

        Raises:
            TimeoutError: when the predicate still fails after ``timeout`` seconds.
        """
        deadline = time.monotonic() + timeout
        with self._lock:
            while not predicate(self._records):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError(f"simulator records did not reach the expected state in {timeout}s")
                self._lock.wait(remaining)
            return copy.deepcopy(self._records)

    def wait_for_requests(self, n: int, timeout: float = 5.0, *, finished: bool = False) -> list[Record]:
        """Block until at least ``n`` requests were recorded (and, if ``finished``, all have ended).

        Raises:
            TimeoutError: when that does not happen within ``timeout`` seconds.
        """
        return self.wait_for(_enough(n, finished), timeout)

    async def wait_for_async(
        self,
        predicate: Callable[[list[Record]], bool],
        timeout: float = 5.0,  # noqa: ASYNC109 - same signature as the blocking wait_for
    ) -> list[Record]:
        """Like ``wait_for`` but polls without blocking the caller's event loop.

        Raises:
            TimeoutError: when the predicate still fails after ``timeout`` seconds.
        """
        deadline = time.monotonic() + timeout
        while True:
            with self._lock:
                if predicate(self._records):
                    return copy.deepcopy(self._records)
            if time.monotonic() >= deadline:
                raise TimeoutError(f"simulator records did not reach the expected state in {timeout}s")
            await asyncio.sleep(POLL_INTERVAL)

    async def wait_for_requests_async(
        self,
        n: int,
        timeout: float = 5.0,  # noqa: ASYNC109 - same signature as wait_for_requests
        *,
        finished: bool = False,
    ) -> list[Record]:
        """Like ``wait_for_requests`` but for async callers.

        Raises:
            TimeoutError: when that does not happen within ``timeout`` seconds.
        """
        return await self.wait_for_async(_enough(n, finished), timeout)


def _enough(n: int, finished: bool) -> Callable[[list[Record]], bool]:
    """At least ``n`` records, all ended when ``finished`` is asked for."""

    def ready(records: list[Record]) -> bool:
        if len(records) < n:
            return False
        return not finished or all(r["ended_at"] is not None for r in records)

    return ready
