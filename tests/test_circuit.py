"""Circuit breaker in front of Mitto: shared by every worker through Redis.

It runs on whatever Redis the app has — fakeredis by default, a real server with REDIS_URL —
and passes `now=` so cooldowns and leases are checked without waiting for them.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import TypeVar

import pytest
import redis
from flask import Flask

from shopify_app.extensions import redis_ext
from shopify_app.services.sending.circuit import KEY_PREFIX, CircuitBreaker, CircuitState, CircuitStatus

T0 = 1_000_000.0  # simulated Redis time for `now=` overrides
CLOSED, OPEN, HALF_OPEN = CircuitState.CLOSED, CircuitState.OPEN, CircuitState.HALF_OPEN
Result = TypeVar("Result")


@pytest.fixture
def redis_client(app: Flask) -> redis.Redis:
    return redis_ext.client()


def breaker(
    client: redis.Redis,
    name: str = "mitto:acc-1",
    *,
    threshold: int = 3,
    window: float = 60.0,
    cooldown: float = 30.0,
    probe_lease: float | None = None,
    on_open: Callable[[str], None] | None = None,
) -> CircuitBreaker:
    return CircuitBreaker(
        client,
        name=name,
        threshold=threshold,
        window=window,
        cooldown=cooldown,
        probe_lease=probe_lease,
        on_open=on_open,
    )


def fail(circuit: CircuitBreaker, times: int, *, now: float = T0) -> CircuitStatus:
    status = circuit.status(now=now)
    for _ in range(times):
        status = circuit.record_failure(now=now)
    return status


def run_together(count: int, action: Callable[[], Result]) -> list[Result]:
    """Run `action` in `count` threads released at the same moment; return their results."""
    start = threading.Barrier(count)
    results: list[Result] = []
    lock = threading.Lock()

    def worker() -> None:
        start.wait()
        result = action()
        with lock:
            results.append(result)

    threads = [threading.Thread(target=worker) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == count
    return results


# --- closed and opening -------------------------------------------------------------------


def test_a_new_breaker_is_closed_and_allows_calls(redis_client: redis.Redis) -> None:
    circuit = breaker(redis_client)

    assert circuit.allow(now=T0) == CircuitStatus(state=CLOSED, retry_after=0.0, failures=0)
    assert circuit.status(now=T0) == CircuitStatus(state=CLOSED, retry_after=0.0, failures=0)
    assert circuit.allowed_now is True


def test_failures_below_the_threshold_keep_it_closed(redis_client: redis.Redis) -> None:
    circuit = breaker(redis_client, threshold=3)

    assert fail(circuit, 2) == CircuitStatus(state=CLOSED, retry_after=0.0, failures=2)
    assert circuit.allow(now=T0).state is CLOSED


def test_the_threshold_failure_opens_it_for_the_cooldown(redis_client: redis.Redis) -> None:
    circuit = breaker(redis_client, threshold=3, cooldown=30)

    assert fail(circuit, 3) == CircuitStatus(state=OPEN, retry_after=30.0, failures=3)

    refused = circuit.allow(now=T0 + 10)
    assert refused == CircuitStatus(state=OPEN, retry_after=pytest.approx(20.0), failures=3)
    assert refused.allowed is False
    assert circuit.status(now=T0 + 29.9).state is OPEN


def test_a_success_resets_the_count(redis_client: redis.Redis) -> None:
    circuit = breaker(redis_client, threshold=3)
    fail(circuit, 2)

    circuit.record_success(now=T0)

    assert circuit.status(now=T0).failures == 0
    assert fail(circuit, 2, now=T0 + 1).state is CLOSED  # 2 after the success, not 4


def test_failures_further_apart_than_the_window_do_not_add_up(redis_client: redis.Redis) -> None:
    circuit = breaker(redis_client, threshold=3, window=60)

    for step in range(5):
        status = circuit.record_failure(now=T0 + step * 61)

    assert status == CircuitStatus(state=CLOSED, retry_after=0.0, failures=1)
    assert circuit.status(now=T0 + 4 * 61 + 61).failures == 0  # the last one has gone stale too


def test_the_window_is_the_gap_between_failures_not_a_sliding_total(redis_client: redis.Redis) -> None:
    circuit = breaker(redis_client, threshold=3, window=60)

    circuit.record_failure(now=T0)
    circuit.record_failure(now=T0 + 50)

    assert circuit.record_failure(now=T0 + 100).state is OPEN  # a run with no quiet spell over 60 s


def test_failures_during_the_cooldown_are_counted_but_do_not_extend_it(redis_client: redis.Redis) -> None:
    circuit = breaker(redis_client, threshold=3, cooldown=30)
    fail(circuit, 3)

    late = circuit.record_failure(now=T0 + 20)  # a slow call that started before it opened

    assert late == CircuitStatus(state=OPEN, retry_after=pytest.approx(10.0), failures=4)
    assert circuit.allow(now=T0 + 30).state is HALF_OPEN


# --- half-open: one probe -----------------------------------------------------------------


def test_after_the_cooldown_exactly_one_concurrent_caller_gets_the_probe(redis_client: redis.Redis) -> None:
    circuit = breaker(redis_client, threshold=3, cooldown=30, probe_lease=10)
    fail(circuit, 3)

    results = run_together(16, lambda: circuit.allow(now=T0 + 30))

    probes = [status for status in results if status.state is HALF_OPEN]
    refused = [status for status in results if status.state is OPEN]
    assert probes == [CircuitStatus(state=HALF_OPEN, retry_after=0.0, failures=3)]
    assert len(refused) == 15
    assert all(status.retry_after == pytest.approx(10.0) for status in refused)  # the probe's lease


def test_status_reports_a_free_probe_slot_without_taking_it(redis_client: redis.Redis) -> None:
    circuit = breaker(redis_client, threshold=1, cooldown=30)
    fail(circuit, 1)

    assert circuit.status(now=T0 + 30).state is HALF_OPEN
    assert circuit.status(now=T0 + 30).state is HALF_OPEN
    assert circuit.allow(now=T0 + 30).state is HALF_OPEN
    assert circuit.status(now=T0 + 31).state is OPEN  # the probe is out


def test_a_probe_that_succeeds_closes_it(redis_client: redis.Redis) -> None:
    circuit = breaker(redis_client, threshold=3, cooldown=30)
    fail(circuit, 3)
    assert circuit.allow(now=T0 + 30).state is HALF_OPEN

    circuit.record_success(now=T0 + 31)

    assert circuit.allow(now=T0 + 31) == CircuitStatus(state=CLOSED, retry_after=0.0, failures=0)
    assert circuit.allow(now=T0 + 31).state is CLOSED  # everyone, not just one caller
    assert fail(circuit, 2, now=T0 + 32).state is CLOSED  # the count starts again from zero


def test_a_probe_that_fails_reopens_it_for_a_full_cooldown(redis_client: redis.Redis) -> None:
    circuit = breaker(redis_client, threshold=3, cooldown=30)
    fail(circuit, 3)
    assert circuit.allow(now=T0 + 30).state is HALF_OPEN

    reopened = circuit.record_failure(now=T0 + 35)

    assert reopened == CircuitStatus(state=OPEN, retry_after=30.0, failures=4)
    assert circuit.allow(now=T0 + 64.9).state is OPEN
    assert circuit.allow(now=T0 + 65).state is HALF_OPEN


def test_an_expired_probe_lease_lets_another_probe_through(redis_client: redis.Redis) -> None:
    circuit = breaker(redis_client, threshold=3, cooldown=30, probe_lease=5)
    fail(circuit, 3)
    assert circuit.allow(now=T0 + 30).state is HALF_OPEN  # this prober crashes and never reports

    assert circuit.allow(now=T0 + 34.9) == CircuitStatus(state=OPEN, retry_after=pytest.approx(0.1), failures=3)
    assert circuit.allow(now=T0 + 35).state is HALF_OPEN
    assert circuit.allow(now=T0 + 35).state is OPEN


def test_the_probe_lease_defaults_to_ten_seconds_or_the_cooldown_if_shorter(redis_client: redis.Redis) -> None:
    assert breaker(redis_client, cooldown=30).probe_lease == 10.0
    assert breaker(redis_client, cooldown=4).probe_lease == 4.0


# --- the on_open hook -----------------------------------------------------------------------


def test_on_open_fires_once_when_twenty_workers_fail_together(redis_client: redis.Redis) -> None:
    opened: list[str] = []
    circuit = breaker(redis_client, threshold=5, on_open=opened.append)

    results = run_together(20, lambda: circuit.record_failure(now=T0))

    assert opened == ["mitto:acc-1"]
    assert sorted(status.failures for status in results) == list(range(1, 21))
    assert circuit.status(now=T0).state is OPEN


def test_on_open_fires_once_per_outage_not_for_every_failed_probe(redis_client: redis.Redis) -> None:
    opened: list[str] = []
    circuit = breaker(redis_client, threshold=2, cooldown=30, on_open=opened.append)
    fail(circuit, 3)

    for cycle in range(1, 4):  # three failed probes: still the same outage
        assert circuit.allow(now=T0 + 30 * cycle).state is HALF_OPEN
        circuit.record_failure(now=T0 + 30 * cycle)
    assert opened == ["mitto:acc-1"]

    assert circuit.allow(now=T0 + 120).state is HALF_OPEN
    circuit.record_success(now=T0 + 120)
    fail(circuit, 2, now=T0 + 200)  # a new outage after recovering
    assert opened == ["mitto:acc-1", "mitto:acc-1"]


def test_a_failing_on_open_hook_does_not_break_record_failure(redis_client: redis.Redis) -> None:
    def broken_alert(name: str) -> None:
        raise RuntimeError("alerting is down too")

    circuit = breaker(redis_client, threshold=1, on_open=broken_alert)

    assert circuit.record_failure(now=T0).state is OPEN


# --- sharing and storage --------------------------------------------------------------------


def test_breakers_with_the_same_name_share_state_across_workers(redis_client: redis.Redis) -> None:
    worker_a = breaker(redis_client, "mitto:acc-1", threshold=3)
    worker_b = breaker(redis_client, "mitto:acc-1", threshold=3)

    worker_a.record_failure(now=T0)
    worker_b.record_failure(now=T0)
    worker_a.record_failure(now=T0)

    assert worker_b.allow(now=T0 + 1).state is OPEN
    assert worker_a.allow(now=T0 + 30).state is HALF_OPEN
    assert worker_b.allow(now=T0 + 30).state is OPEN  # the probe is worker A's
    worker_a.record_success(now=T0 + 31)
    assert worker_b.allow(now=T0 + 31).state is CLOSED


def test_breakers_with_different_names_are_independent(redis_client: redis.Redis) -> None:
    first = breaker(redis_client, "mitto:acc-1", threshold=1)
    second = breaker(redis_client, "mitto:acc-2", threshold=1)

    first.record_failure(now=T0)

    assert first.allow(now=T0).state is OPEN
    assert second.allow(now=T0) == CircuitStatus(state=CLOSED, retry_after=0.0, failures=0)


def test_state_is_a_prefixed_hash_that_expires_when_idle(redis_client: redis.Redis) -> None:
    circuit = breaker(redis_client, "mitto:acc-1", window=60, cooldown=30)
    circuit.record_failure(now=T0)

    assert circuit.key == "sms_blossom:cb:mitto:acc-1"
    assert redis_client.keys(KEY_PREFIX + "*") == [circuit.key.encode()]
    assert 0 < redis_client.pttl(circuit.key) <= 240_000  # 4 x max(window, cooldown)


def test_asking_and_succeeding_while_closed_write_nothing(redis_client: redis.Redis) -> None:
    circuit = breaker(redis_client)

    circuit.allow(now=T0)
    circuit.status(now=T0)
    circuit.record_success(now=T0)

    assert redis_client.keys(KEY_PREFIX + "*") == []


def test_a_flushed_breaker_comes_back_closed(redis_client: redis.Redis) -> None:
    circuit = breaker(redis_client, threshold=1)
    circuit.record_failure(now=T0)

    redis_client.delete(circuit.key)

    assert circuit.allow(now=T0) == CircuitStatus(state=CLOSED, retry_after=0.0, failures=0)


def test_without_now_the_breaker_runs_on_redis_time(redis_client: redis.Redis) -> None:
    circuit = breaker(redis_client, threshold=1, cooldown=0.2)

    opened = circuit.record_failure()
    assert (opened.state, opened.retry_after) == (OPEN, 0.2)
    refused = circuit.allow()
    assert refused.state is OPEN
    assert 0 < refused.retry_after <= 0.2
    assert circuit.allowed_now is False

    time.sleep(refused.retry_after + 0.02)
    assert circuit.allow().state is HALF_OPEN


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"name": ""}, "name"),
        ({"threshold": 0}, "threshold"),
        ({"window": 0}, "window"),
        ({"cooldown": -1}, "cooldown"),
        ({"cooldown": float("inf")}, "cooldown"),
        ({"probe_lease": float("nan")}, "probe_lease"),
    ],
)
def test_breaker_with_nonsense_settings_is_refused(
    redis_client: redis.Redis, settings: dict[str, object], message: str
) -> None:
    arguments: dict[str, object] = {"name": "mitto:acc-1", **settings}
    with pytest.raises(ValueError, match=message):
        CircuitBreaker(redis_client, **arguments)  # type: ignore[arg-type]
