"""Spend counters in Redis, for replicas on several machines (`[budget] store = "redis://..."`).

The check and the hold of a reservation run in one Lua script, so Redis applies them atomically:
fifty calls at once on ten replicas cannot all see the same room under the limit. Every key carries
one hash tag, so the scripts also work on a Redis Cluster (all keys in one slot).
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from fw_mcp.spend.ledger import (
    BatchOwner,
    Check,
    Refusal,
    Scope,
    StoreError,
    UsageRecord,
    UsageRow,
    scopes_for,
)

__all__ = ["RedisStore", "redact_url"]

_PREFIX = "fw-mcp:{spend}:"
_SEP = "\t"
_KEEP_SECONDS = {"day": 40 * 86400, "month": 400 * 86400}
_TIMEOUT = 3.0

# KEYS: n spent counters, then their n hold hashes. ARGV: now, expires, rid, nanos, n, n limits (-1: none),
# n TTLs. Returns {0} when held, or {i, spent} for the first limit crossed.
_RESERVE = """
local now, expires, rid, nanos, n = tonumber(ARGV[1]), ARGV[2], ARGV[3], tonumber(ARGV[4]), tonumber(ARGV[5])
local function held(key)
  local total, all = 0, redis.call('HGETALL', key)
  for i = 1, #all, 2 do
    local sep = string.find(all[i + 1], ':', 1, true)
    local amount, until_ = tonumber(string.sub(all[i + 1], 1, sep - 1)), tonumber(string.sub(all[i + 1], sep + 1))
    if until_ < now then redis.call('HDEL', key, all[i]) else total = total + amount end
  end
  return total
end
for i = 1, n do
  local limit = tonumber(ARGV[5 + i])
  if limit >= 0 then
    local spent = tonumber(redis.call('GET', KEYS[i]) or '0') + held(KEYS[n + i])
    if spent + nanos > limit then return {i, string.format('%.0f', spent)} end
  end
end
for i = 1, n do
  redis.call('HSET', KEYS[n + i], rid, ARGV[4] .. ':' .. expires)
  redis.call('EXPIRE', KEYS[n + i], ARGV[5 + n + i])
end
return {0}
"""

# KEYS: n spent counters, n hold hashes, the day's usage hash. ARGV: rid, cost, n, field prefix,
# prompt, cached, completion, unpriced, n TTLs.
_SETTLE_BODY = """
local n = tonumber(ARGV[3])
for i = 1, n do
  if ARGV[1] ~= '' then redis.call('HDEL', KEYS[n + i], ARGV[1]) end
  redis.call('INCRBY', KEYS[i], ARGV[2])
  redis.call('EXPIRE', KEYS[i], ARGV[8 + i])
end
local u, f = KEYS[2 * n + 1], ARGV[4]
redis.call('HINCRBY', u, f .. 'calls', 1)
redis.call('HINCRBY', u, f .. 'prompt', ARGV[5])
redis.call('HINCRBY', u, f .. 'cached', ARGV[6])
redis.call('HINCRBY', u, f .. 'completion', ARGV[7])
redis.call('HINCRBY', u, f .. 'cost', ARGV[2])
redis.call('HINCRBY', u, f .. 'unpriced', ARGV[8])
redis.call('EXPIRE', u, ARGV[8 + n])
"""
_SETTLE = _SETTLE_BODY + "return 0\n"
# The same, after one more key: a marker set only by the first settlement with its key (SET NX).
_SETTLE_ONCE = (
    f"if not redis.call('SET', KEYS[#KEYS], '1', 'NX', 'EX', {400 * 86400}) then return 0 end\n"
    + _SETTLE_BODY
    + "return 1\n"
)

_METRICS = ("calls", "prompt", "cached", "completion", "cost", "unpriced")


def redact_url(url: str) -> str:
    """The URL without its password, for messages and logs."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = f"{parts.username or ''}:***@{parts.hostname or ''}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))


class RedisStore:
    def __init__(self, url: str) -> None:
        try:
            import redis.asyncio as aioredis
        except ImportError:
            raise StoreError(
                '[budget] store is a Redis URL, but the redis client is not installed: pip install "fw-mcp[redis]".'
            ) from None
        self.where = f"Redis at {redact_url(url)}"
        self._redis: Any = aioredis.Redis.from_url(
            url, socket_timeout=_TIMEOUT, socket_connect_timeout=_TIMEOUT
        )
        self._reserve = self._redis.register_script(_RESERVE)
        self._settle = self._redis.register_script(_SETTLE)
        self._settle_once = self._redis.register_script(_SETTLE_ONCE)

    async def _call(self, what: Any) -> Any:
        from redis.exceptions import RedisError

        try:
            return await what
        except (RedisError, OSError) as exc:
            raise StoreError(
                f"The spend store ({self.where}) could not be used: {exc}. Check that Redis is running and "
                "reachable, or change [budget] store."
            ) from None

    async def reserve(
        self, rid: str, scopes: list[Scope], checks: list[Check], nanos: int, ttl: float
    ) -> Refusal | None:
        limits = {c.scope: c for c in checks}
        keys = [_PREFIX + "spent:" + s.key for s in scopes] + [_PREFIX + "holds:" + s.key for s in scopes]
        now = time.time()
        args: list[Any] = [repr(now), repr(now + ttl), rid, nanos, len(scopes)]
        args += [limits[s].limit_nanos if s in limits else -1 for s in scopes]
        args += [_KEEP_SECONDS[s.period] for s in scopes]
        answer = await self._call(self._reserve(keys=keys, args=args))
        if int(answer[0]) == 0:
            return None
        return Refusal(limits[scopes[int(answer[0]) - 1]], int(answer[1]))

    async def settle(self, rid: str | None, record: UsageRecord) -> None:
        keys, args = _settlement(rid, record)
        await self._call(self._settle(keys=keys, args=args))

    async def settle_once(self, key: str, rid: str | None, record: UsageRecord) -> bool:
        keys, args = _settlement(rid, record)
        keys.append(_PREFIX + "settled:" + key)
        return int(await self._call(self._settle_once(keys=keys, args=args))) == 1

    async def note_batch(self, job_id: str, owner: BatchOwner) -> None:
        fields = {"user": owner.user, "rid": owner.rid or "", "submitted": repr(owner.submitted.timestamp())}
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.hset(_PREFIX + "batch:" + job_id, mapping=fields)
            pipe.expire(_PREFIX + "batch:" + job_id, _KEEP_SECONDS["day"])
            await self._call(pipe.execute())

    async def batch_owner(self, job_id: str) -> BatchOwner | None:
        raw = await self._call(self._redis.hgetall(_PREFIX + "batch:" + job_id))
        if not raw:
            return None
        got = {k.decode(): v.decode() for k, v in raw.items()}
        when = datetime.fromtimestamp(float(got["submitted"]), UTC)
        return BatchOwner(got["user"], got["rid"] or None, when)

    async def release(self, rid: str, scopes: list[Scope]) -> None:
        async with self._redis.pipeline(transaction=True) as pipe:
            for scope in scopes:
                pipe.hdel(_PREFIX + "holds:" + scope.key, rid)
            await self._call(pipe.execute())

    async def spent(self, scopes: list[Scope]) -> dict[Scope, int]:
        out: dict[Scope, int] = {}
        now = time.time()
        for scope in scopes:
            spent = await self._call(self._redis.get(_PREFIX + "spent:" + scope.key))
            holds = await self._call(self._redis.hvals(_PREFIX + "holds:" + scope.key))
            live = [h.decode().split(":") for h in holds]
            out[scope] = int(spent or 0) + sum(int(a) for a, until in live if float(until) >= now)
        return out

    async def rows(self, since_day: str) -> list[UsageRow]:
        rows: list[UsageRow] = await self._call(self._rows(since_day))
        return rows

    async def _rows(self, since_day: str) -> list[UsageRow]:
        rows: list[UsageRow] = []
        async for raw_key in self._redis.scan_iter(match=_PREFIX + "usage:*", count=500):
            day = raw_key.decode().rpartition(":")[2]
            if day < since_day:
                continue
            totals: dict[tuple[str, str, str], dict[str, int]] = {}
            for name, value in (await self._redis.hgetall(raw_key)).items():
                user, tool, model, metric = name.decode().split(_SEP)
                totals.setdefault((user, tool, model), {})[metric] = int(value)
            rows += [UsageRow(day, *who, *(m.get(k, 0) for k in _METRICS)) for who, m in totals.items()]
        return sorted(rows, key=lambda r: (r.day, r.user, r.tool, r.model))

    async def note_rate_limits(self, limits: dict[str, str]) -> None:
        if limits:
            await self._call(self._redis.hset(_PREFIX + "rate_limits", mapping=limits))

    async def rate_limits(self) -> dict[str, str]:
        raw = await self._call(self._redis.hgetall(_PREFIX + "rate_limits"))
        return {k.decode(): v.decode() for k, v in raw.items()}

    async def aclose(self) -> None:
        await self._redis.aclose()


def _settlement(rid: str | None, record: UsageRecord) -> tuple[list[str], list[Any]]:
    """The keys and arguments of the settle scripts for one record."""
    scopes = scopes_for(record.when, record.user)
    keys = [_PREFIX + "spent:" + s.key for s in scopes] + [_PREFIX + "holds:" + s.key for s in scopes]
    keys.append(_PREFIX + "usage:" + record.day)
    field = _SEP.join((record.user, record.tool, record.model)) + _SEP
    args: list[Any] = [rid or "", record.cost_nanos, len(scopes), field]
    args += [record.prompt_tokens, record.cached_tokens, record.completion_tokens, 0 if record.priced else 1]
    args += [_KEEP_SECONDS[s.period] for s in scopes]
    return keys, args
