"""The retry policy, as the official Fireworks SDK does it: which failures to retry and how long to wait.

Pure functions of status, headers and attempt number, so the policy is tested without a network.
"""

from __future__ import annotations

import email.utils
import random
import time
from collections.abc import Mapping

from fw_mcp.settings import RetriesSection

__all__ = ["backoff_delay", "retry_after_seconds", "should_retry_status"]

# 408 timeout, 409 conflict, 429 rate limit, and every 5xx (503 on serverless is load shedding).
_RETRY_STATUSES = frozenset({408, 409, 429})


def should_retry_status(status: int, headers: Mapping[str, str], is_rate_limit: bool) -> bool:
    """`x-should-retry` wins; else 408/409/429/5xx, and a 400 that says "rate limit"."""
    override = headers.get("x-should-retry", "").strip().lower()
    if override in ("true", "false"):
        return override == "true"
    if is_rate_limit:
        return True
    return status in _RETRY_STATUSES or status >= 500


def retry_after_seconds(headers: Mapping[str, str], now: float | None = None) -> float | None:
    """What the server asked us to wait: `retry-after-ms`, else `retry-after` (seconds or HTTP date)."""
    raw_ms = headers.get("retry-after-ms")
    if raw_ms:
        try:
            return float(raw_ms) / 1000.0
        except ValueError:
            pass
    raw = headers.get("retry-after", "").strip()
    if not raw:
        return None
    try:
        return float(raw)
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(raw)
    except (TypeError, ValueError, IndexError):
        return None
    return when.timestamp() - (time.time() if now is None else now)


def backoff_delay(
    retry_number: int,
    policy: RetriesSection,
    asked: float | None = None,
    rng: random.Random | None = None,
) -> float:
    """Seconds to wait before retry number `retry_number` (0 for the first retry).

    Honour what the server asked when it is between 0 and `max_retry_after`; otherwise
    `min(base * 2**n, max)` times a jitter factor in [0.75, 1] so a burst of clients spreads out.
    """
    if asked is not None and 0 <= asked <= policy.max_retry_after:
        return asked
    jitter = 1 - 0.25 * (rng or random).random()
    return float(min(policy.backoff_base * 2**retry_number, policy.backoff_max) * jitter)
