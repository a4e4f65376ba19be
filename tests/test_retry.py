"""The retry policy: which statuses, what wait."""

from __future__ import annotations

import email.utils
import random
import time

import pytest

from fw_mcp.errors import FireworksHTTPError
from fw_mcp.fireworks.retry import backoff_delay, retry_after_seconds, should_retry_status
from fw_mcp.settings import load_settings

POLICY = load_settings().retries


@pytest.mark.parametrize("status", [408, 409, 429, 500, 502, 503, 504, 520])
def test_transient_statuses_are_retried(status: int) -> None:
    assert should_retry_status(status, {}, is_rate_limit=False)


@pytest.mark.parametrize("status", [400, 401, 402, 403, 404, 412, 413])
def test_client_errors_are_not_retried(status: int) -> None:
    assert not should_retry_status(status, {}, is_rate_limit=False)


def test_x_should_retry_overrides_the_status() -> None:
    assert not should_retry_status(503, {"x-should-retry": "false"}, is_rate_limit=False)
    assert should_retry_status(400, {"x-should-retry": "true"}, is_rate_limit=False)


def test_a_400_that_says_rate_limit_counts_as_429() -> None:
    error = FireworksHTTPError(400, "rate limit exceeded, please try again later")
    assert error.is_rate_limit
    assert should_retry_status(400, {}, is_rate_limit=error.is_rate_limit)
    assert "Over your account's rate limit" in str(error)


def test_retry_after_forms() -> None:
    assert retry_after_seconds({"retry-after-ms": "250"}) == 0.25
    assert retry_after_seconds({"retry-after": "2"}) == 2.0
    now = time.time()
    date = email.utils.formatdate(now + 30, usegmt=True)
    assert 28 <= (retry_after_seconds({"retry-after": date}, now=now) or 0) <= 31
    assert retry_after_seconds({"retry-after": "soon"}) is None
    assert retry_after_seconds({}) is None


def test_asked_wait_is_honoured_up_to_the_cap() -> None:
    assert backoff_delay(0, POLICY, asked=3.0) == 3.0
    assert backoff_delay(0, POLICY, asked=0.0) == 0.0


@pytest.mark.parametrize("asked", [None, 61.0, -1.0])
def test_backoff_is_exponential_with_jitter_when_no_usable_hint(asked: float | None) -> None:
    rng = random.Random(7)
    for n, base in enumerate([0.5, 1.0, 2.0, 4.0, 8.0, 8.0]):
        delay = backoff_delay(n, POLICY, asked=asked, rng=rng)
        assert 0.75 * base <= delay <= base
