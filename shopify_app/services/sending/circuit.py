"""Circuit breakers shared by every process, so an outage at Mitto is met with silence, not a storm.

A breaker opens after `threshold` consecutive failures, refuses calls for `cooldown` seconds,
then lets exactly one probe through; the probe's success closes it, its failure re-opens it.
State lives in one Redis hash per breaker and is changed only by a Lua script, so the decision
and its bookkeeping are one atomic step however many workers share the breaker, and the probe
slot is claimed by exactly one of them. Time comes from Redis `TIME`, not the caller's clock.

Redis may be flushed at any time: a lost breaker comes back closed, which costs at most one
more round of `threshold` failures before it opens again. An idle breaker expires the same way.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

import redis
import structlog

from ...metrics import CIRCUIT_STATE

KEY_PREFIX = "sms_blossom:cb:"
DEFAULT_PROBE_LEASE = 10.0  # seconds; capped by the cooldown unless given explicitly

log = structlog.get_logger(__name__)

# KEYS: the breaker hash {failures, last_failure, open_until, probe_until}. ARGV: op ('status',
# 'allow' or 'failure'), now ('' = Redis TIME), threshold, window, cooldown, probe lease, TTL in
# ms. Returns {state, retry_after, failures, opened}. Internally there are four phases: closed
# (no open_until), open (cooldown running), probing (cooldown over, probe slot leased) and
# half-open (cooldown over, slot free). Callers see `open` for both open and probing, so "not
# open" always means "you may call". `opened` is 1 only for the failure that closed -> open, so
# one caller among many concurrent ones raises the alarm; a failed probe re-opens silently
# because it is the same outage. Floats travel as strings because Redis truncates Lua numbers.
_CIRCUIT_LUA = """
if redis.replicate_commands then redis.replicate_commands() end
local function fmt(x) return string.format('%.17g', x) end
local op = ARGV[1]
local now = tonumber(ARGV[2])
if not now then
  local t = redis.call('TIME')
  now = tonumber(t[1]) + tonumber(t[2]) / 1000000
end
local threshold = tonumber(ARGV[3])
local window = tonumber(ARGV[4])
local cooldown = tonumber(ARGV[5])
local lease = tonumber(ARGV[6])
local ttl_ms = ARGV[7]
local state = redis.call('HMGET', KEYS[1], 'failures', 'last_failure', 'open_until', 'probe_until')
local failures = tonumber(state[1]) or 0
local last_failure = tonumber(state[2])
local open_until = tonumber(state[3])
local probe_until = tonumber(state[4])

local phase, retry = 'closed', 0
if open_until then
  if now < open_until then
    phase, retry = 'open', open_until - now
  elseif probe_until and now < probe_until then
    phase, retry = 'probing', probe_until - now
  else
    phase = 'half_open'
  end
elseif last_failure and now - last_failure > window then
  -- Failures separated by a quiet spell longer than the window are not one outage.
  failures = 0
end

local opened = 0
if op == 'allow' and phase == 'half_open' then
  -- This caller is the probe; the lease frees the slot again if it never reports back.
  redis.call('HSET', KEYS[1], 'probe_until', fmt(now + lease))
  redis.call('PEXPIRE', KEYS[1], ttl_ms)
elseif op == 'failure' then
  failures = failures + 1
  redis.call('HSET', KEYS[1], 'failures', failures, 'last_failure', fmt(now))
  if phase == 'probing' or phase == 'half_open' or (phase == 'closed' and failures >= threshold) then
    if phase == 'closed' then opened = 1 end
    phase, retry = 'open', cooldown
    redis.call('HSET', KEYS[1], 'open_until', fmt(now + cooldown))
    redis.call('HDEL', KEYS[1], 'probe_until')
  end
  -- A failure during the cooldown is counted but does not extend it: the cooldown measures
  -- time since the last decision to open, not since the last late answer from a slow call.
  redis.call('PEXPIRE', KEYS[1], ttl_ms)
end
if phase == 'probing' then phase = 'open' end
return {phase, fmt(retry), string.format('%d', failures), opened}
"""


class CircuitState(StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


@dataclass(frozen=True)
class CircuitStatus:
    state: CircuitState  # OPEN means "do not call now"; HALF_OPEN from allow() means "you are the probe"
    retry_after: float  # seconds until a call may be tried (0.0 when allowed)
    failures: int  # consecutive failures counted

    @property
    def allowed(self) -> bool:
        return self.state is not CircuitState.OPEN


class CircuitBreaker:
    """Shared by every worker through Redis. Opens after `threshold` consecutive failures (within
    `window` seconds), stays open for `cooldown` seconds, then lets exactly ONE probe through
    (half-open, claimed atomically); the probe's success closes it, its failure re-opens it for
    another cooldown.

    "Within `window`": a failure more than `window` seconds after the previous one starts the
    count again, so failures must come in a run without a quiet gap longer than the window.
    While a probe is out, other callers are refused with `retry_after` = the rest of its lease
    (`probe_lease`, default min(cooldown, 10 s)); a prober that crashes frees the slot when the
    lease runs out. `on_open(name)` is called once per outage, by the one `record_failure` that
    opened the breaker from closed; a probe that fails re-opens it without calling it again.
    """

    def __init__(
        self,
        redis: redis.Redis,
        *,
        name: str,
        threshold: int = 5,
        window: float = 60.0,
        cooldown: float = 30.0,
        probe_lease: float | None = None,
        on_open: Callable[[str], None] | None = None,
    ) -> None:
        if not name:
            raise ValueError("a circuit breaker needs a name")
        if threshold < 1:
            raise ValueError(f"threshold must be >= 1, got {threshold!r}")
        if probe_lease is None:
            probe_lease = min(cooldown, DEFAULT_PROBE_LEASE)
        for label, value in (("window", window), ("cooldown", cooldown), ("probe_lease", probe_lease)):
            if not math.isfinite(value) or value <= 0:
                raise ValueError(f"{label} must be a finite number of seconds > 0, got {value!r}")
        self.redis = redis
        self.name = name
        self.key = KEY_PREFIX + name
        self.threshold = int(threshold)
        self.window = float(window)
        self.cooldown = float(cooldown)
        self.probe_lease = float(probe_lease)
        self.on_open = on_open
        # Long enough to outlive any cooldown or lease; after that an idle breaker is a closed one.
        self.ttl = 4 * max(self.window, self.cooldown, self.probe_lease)
        self._script = redis.register_script(_CIRCUIT_LUA)

    def allow(self, *, now: float | None = None) -> CircuitStatus:
        """May a call go out now? CLOSED: yes. OPEN: no, try again after `retry_after`. HALF_OPEN:
        yes, and this caller is the single probe: it must report with record_success/failure."""
        status, _ = self._run("allow", now)
        _observe(self.name, status.state)
        return status

    def record_success(self, *, now: float | None = None) -> None:
        """A call went through: the failure count restarts and the breaker closes, whatever its
        state (a success is proof the provider answers). `now` is accepted for symmetry."""
        self.redis.delete(self.key)
        _observe(self.name, CircuitState.CLOSED)

    def record_failure(self, *, now: float | None = None) -> CircuitStatus:
        """Count a failure; open when the threshold is reached, or at once when the breaker is
        half-open (the probe failed). Returns the status after this failure."""
        status, opened = self._run("failure", now)
        _observe(self.name, status.state)
        if opened:
            log.warning("circuit_opened", circuit=self.name, failures=status.failures, cooldown=self.cooldown)
            if self.on_open is not None:
                try:
                    self.on_open(self.name)
                except Exception:  # the breaker is open either way; a broken alert must not fail the send
                    log.exception("circuit_on_open_failed", circuit=self.name)
        return status

    def status(self, *, now: float | None = None) -> CircuitStatus:
        """The state without changing it. HALF_OPEN here means the probe slot is free; an allow()
        may still lose it to another caller."""
        status, _ = self._run("status", now)
        return status

    @property
    def allowed_now(self) -> bool:
        """`allow()` as a boolean. Like allow(), it claims the probe slot when half-open, so a True
        obliges the caller to record the outcome."""
        return self.allow().allowed

    def _run(self, op: str, now: float | None) -> tuple[CircuitStatus, bool]:
        args: list[str | int | float] = [
            op,
            "" if now is None else repr(float(now)),
            self.threshold,
            repr(self.window),
            repr(self.cooldown),
            repr(self.probe_lease),
            math.ceil(self.ttl * 1000),
        ]
        state, retry_after, failures, opened = self._script(keys=[self.key], args=args, client=self.redis)
        if isinstance(state, bytes):
            state = state.decode()
        status = CircuitStatus(state=CircuitState(state), retry_after=float(retry_after), failures=int(failures))
        return status, int(opened) == 1

    def __repr__(self) -> str:
        return (
            f"CircuitBreaker(name={self.name!r}, threshold={self.threshold!r}, window={self.window!r}, "
            f"cooldown={self.cooldown!r}, probe_lease={self.probe_lease!r})"
        )


_GAUGE_VALUES = {CircuitState.CLOSED: 0, CircuitState.HALF_OPEN: 1, CircuitState.OPEN: 2}


def _observe(name: str, state: CircuitState) -> None:
    CIRCUIT_STATE.labels(name).set(_GAUGE_VALUES[state])
