"""Rate limits shared by every process: token buckets for sending, fixed windows for abuse.

State lives in Redis and is changed only by Lua scripts, so a check and its deduction are one
atomic step no matter how many workers run. Bucket time comes from Redis `TIME`, not from the
caller's clock, so workers on machines with skewed clocks still agree. Redis may be flushed at
any time: a lost bucket comes back full, which costs at most one burst.

On Redis Cluster, buckets taken together with `take_all` must hash to one slot: give their keys
a common hash tag (e.g. `send:{acct-1}:account` and `send:{acct-1}:shop:42`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import redis

KEY_PREFIX = "sms_blossom:rl:"

# KEYS: bucket hashes {tokens, ts}. ARGV: requested, min_grant, now ('' = Redis TIME), then
# rate and burst for each key. Grants g = min over buckets of whole tokens (capped at requested),
# or 0 when g < min_grant, deducts g from every bucket and returns {g, wait, remaining}: wait is
# how long until the rest (at most a full bucket) is available in every bucket. Floats travel
# as strings because Redis truncates Lua numbers to integers. Whole tokens are counted with a
# 1e-9 tolerance because elapsed * rate can land at 0.999... for what is really one token.
_TAKE_LUA = """
if redis.replicate_commands then redis.replicate_commands() end
local function fmt(x) return string.format('%.17g', x) end
local requested = tonumber(ARGV[1])
local min_grant = tonumber(ARGV[2])
local now = tonumber(ARGV[3])
if not now then
  local t = redis.call('TIME')
  now = tonumber(t[1]) + tonumber(t[2]) / 1000000
end
local levels = {}
local grant = requested
for i = 1, #KEYS do
  local rate = tonumber(ARGV[2 + 2 * i])
  local burst = tonumber(ARGV[3 + 2 * i])
  local state = redis.call('HMGET', KEYS[i], 'tokens', 'ts')
  local level = tonumber(state[1])
  local ts = tonumber(state[2])
  if level == nil or ts == nil then
    level = burst
  else
    -- A clock that went backwards refills nothing rather than a negative amount.
    level = math.min(burst, level + math.max(0, now - ts) * rate)
  end
  levels[i] = level
  grant = math.min(grant, math.floor(level + 1e-9))
end
if grant < min_grant then grant = 0 end
local missing = requested - grant
local wait = 0
local remaining = nil
for i = 1, #KEYS do
  local rate = tonumber(ARGV[2 + 2 * i])
  local burst = tonumber(ARGV[3 + 2 * i])
  local level = math.max(0, levels[i] - grant)
  redis.call('HSET', KEYS[i], 'tokens', fmt(level), 'ts', fmt(now))
  -- Once idle long enough to refill completely, the bucket is indistinguishable from a new one.
  redis.call('PEXPIRE', KEYS[i], string.format('%d', math.ceil(burst / rate * 1000) + 1000))
  if missing > 0 then
    local need = math.min(missing, burst) - level
    if need > 0 then wait = math.max(wait, need / rate) end
  end
  local whole = math.floor(level + 1e-9)
  if remaining == nil or whole < remaining then remaining = whole end
end
return {string.format('%d', grant), fmt(wait), string.format('%d', remaining)}
"""

# KEYS: the window counter. ARGV: window seconds. The expiry is set only when the window opens,
# so hits over the limit never extend it; a counter somehow left without expiry gets one.
_HIT_LUA = """
local count = redis.call('INCR', KEYS[1])
local ttl = redis.call('TTL', KEYS[1])
if ttl < 0 then
  redis.call('EXPIRE', KEYS[1], ARGV[1])
  ttl = tonumber(ARGV[1])
end
return {count, ttl}
"""


@dataclass(frozen=True)
class Decision:
    allowed: bool  # for take(): True if at least `requested` tokens (or, with partial=True, >= 1) were granted
    granted: int  # tokens granted (0..requested)
    retry_after: float  # seconds until the *remaining* requested tokens could be granted (0.0 when all granted)
    remaining: int  # whole tokens left in the bucket after this call
    limit: int  # bucket capacity (burst)
    reset_after: float = 0.0  # FixedWindowLimit: seconds until the window (and `remaining`) resets


class TokenBucket:
    """Token bucket in Redis, one atomic Lua script (EVALSHA via redis-py register_script): capacity
    `burst`, refill `rate` tokens/second, state stored as a hash {tokens, ts} with a TTL so idle
    buckets expire. Time comes from Redis `TIME` inside the script (not the client clock) so all
    workers agree; a `now` override argument exists for tests.

    `rate == 0` means unlimited: take() grants everything without touching Redis.
    """

    def __init__(self, redis: redis.Redis, *, key: str, rate: float, burst: int | None = None) -> None:
        if not math.isfinite(rate) or rate < 0:
            raise ValueError(f"rate must be a finite number >= 0 (0 = unlimited), got {rate!r}")
        if burst is None:
            burst = max(1, math.ceil(rate))  # a burst of one second's rate
        if burst < 1:
            raise ValueError(f"burst must be >= 1, got {burst!r}")
        self.redis = redis
        self.key = KEY_PREFIX + key
        self.rate = float(rate)
        self.burst = int(burst)
        self._script = redis.register_script(_TAKE_LUA)

    @property
    def unlimited(self) -> bool:
        return self.rate == 0

    def take(self, requested: int = 1, *, partial: bool = False, now: float | None = None) -> Decision:
        """Take `requested` tokens; with `partial`, as many as are available (up to `requested`).

        Without `partial` it is all or nothing, so asking for more than `burst` is an error.
        When not everything is granted, `retry_after` is the wait until the rest (at most a full
        bucket) is available.
        """
        return take_all([self], requested, partial=partial, now=now)

    def __repr__(self) -> str:
        return f"TokenBucket(key={self.key!r}, rate={self.rate!r}, burst={self.burst!r})"


def take_all(
    buckets: Sequence[TokenBucket], requested: int, *, partial: bool = True, now: float | None = None
) -> Decision:
    """Atomically take from several buckets at once in ONE Lua script call (per traffic account AND
    per shop): grants g = min over buckets of available (partial semantics), deducts g from every
    bucket, retry_after = max over buckets of the time until the rest would be available. All
    buckets must share one Redis client. Unlimited (rate 0) buckets are ignored.

    `limit` and `remaining` are those of the tightest bucket. `partial=False` makes it all or nothing.
    """
    if not buckets:
        raise ValueError("take_all needs at least one bucket")
    if requested < 0:
        raise ValueError(f"requested must be >= 0, got {requested!r}")
    client = buckets[0].redis
    if any(bucket.redis is not client for bucket in buckets):
        raise ValueError("all buckets taken together must share one Redis client")
    limited = [bucket for bucket in buckets if not bucket.unlimited]
    keys = [bucket.key for bucket in limited]
    if len(set(keys)) != len(keys):
        raise ValueError(f"the same bucket was given twice: {keys}")
    if not limited:
        capacity = min(bucket.burst for bucket in buckets)
        return Decision(allowed=True, granted=requested, retry_after=0.0, remaining=capacity, limit=capacity)
    capacity = min(bucket.burst for bucket in limited)
    if not partial and requested > capacity:
        raise ValueError(f"{requested} tokens can never be granted at once by a bucket of burst {capacity}")

    min_grant = min(1, requested) if partial else requested
    args: list[str | int | float] = [requested, min_grant, "" if now is None else repr(float(now))]
    for bucket in limited:
        args += [repr(bucket.rate), bucket.burst]
    granted, wait, remaining = limited[0]._script(keys=keys, args=args, client=client)
    granted = int(granted)
    return Decision(
        allowed=granted > 0 or requested == 0,
        granted=granted,
        retry_after=float(wait),
        remaining=int(remaining),
        limit=capacity,
    )


class FixedWindowLimit:
    """Abuse limits for public endpoints: at most `limit` hits per `window` seconds per key (INCR +
    EXPIRE in one Lua script)."""

    def __init__(self, redis: redis.Redis, *, key: str, limit: int, window: int) -> None:
        if limit < 1:
            raise ValueError(f"limit must be >= 1, got {limit!r}")
        if window < 1:
            raise ValueError(f"window must be >= 1 second, got {window!r}")
        self.redis = redis
        self.key = KEY_PREFIX + key
        self.limit = int(limit)
        self.window = int(window)
        self._script = redis.register_script(_HIT_LUA)

    def hit(self) -> Decision:
        """Count one hit; refused once over the limit, with retry_after = the window's TTL (>= 1)."""
        count, ttl = (int(value) for value in self._script(keys=[self.key], args=[self.window]))
        allowed = count <= self.limit
        return Decision(
            allowed=allowed,
            granted=1 if allowed else 0,
            retry_after=0.0 if allowed else float(max(1, ttl)),
            remaining=max(0, self.limit - count),
            limit=self.limit,
            reset_after=float(max(1, ttl)),
        )

    def __repr__(self) -> str:
        return f"FixedWindowLimit(key={self.key!r}, limit={self.limit!r}, window={self.window!r})"
