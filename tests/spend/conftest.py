"""A real redis-server for the Redis store's tests, on a Unix socket in the test's folder (no port)."""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.fail("redis-server is not installed: apt-get install -y redis-server (.ci/run does it)")
    folder = tmp_path_factory.mktemp("redis")
    socket = folder / "redis.sock"
    proc = subprocess.Popen(
        [
            binary,
            "--port",
            "0",
            "--unixsocket",
            str(socket),
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(folder),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait_for(socket, proc)
        yield f"unix://{socket}"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def _wait_for(socket: Path, proc: subprocess.Popen[bytes]) -> None:
    """Bounded wait until redis-server answers PING on its socket."""
    import redis

    deadline = time.monotonic() + 20
    while True:
        if proc.poll() is not None:
            raise RuntimeError(f"redis-server exited with {proc.returncode}")
        if socket.exists():
            try:
                with redis.Redis(unix_socket_path=str(socket), socket_timeout=1) as client:
                    if client.ping():
                        return
            except redis.ConnectionError:
                pass
        if time.monotonic() > deadline:
            raise RuntimeError("redis-server did not answer within 20 s")
        time.sleep(0.02)


@pytest.fixture
def fresh_redis(redis_url: str) -> str:
    """The session's Redis, emptied."""
    import redis

    client = redis.Redis.from_url(redis_url)
    client.flushall()
    client.close()
    return redis_url


@pytest.fixture(scope="session")
def _span_store() -> Any:
    """One SDK tracer provider for the session (OpenTelemetry allows one per process), in memory."""
    from opentelemetry import trace
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    exporter = InMemorySpanExporter()
    provider = trace.get_tracer_provider()
    if not isinstance(provider, TracerProvider):
        provider = TracerProvider()
        trace.set_tracer_provider(provider)
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return exporter


@pytest.fixture
def spans(_span_store: Any) -> Any:
    """The spans finished during this test."""
    _span_store.clear()
    return _span_store
