"""Rate limits: token buckets (send pipeline) and fixed windows (public endpoints).

They run on whatever Redis the app has — fakeredis by default, a real server with REDIS_URL —
and pass `now=` wherever refill timing matters, so the arithmetic is checked exactly.
"""

from __future__ import annotations

import threading
import time

import fakeredis
import pytest
import redis
from flask import Flask

from shopify_app.extensions import redis_ext
from shopify_app.services.sending.ratelimit import KEY_PREFIX, Decision, FixedWindowLimit, TokenBucket, take_all

T0 = 1_000_000.0  # simulated Redis time for `now=` overrides


@pytest.fixture
def redis_client(app: Flask) -> redis.Redis:
    return redis_ext.client()


def bucket(
    client: redis.Redis, key: str = "send:account:acc-1", *, rate: float, burst: int | None = None
) -> TokenBucket:
    return TokenBucket(client, key=key, rate=rate, burst=burst)


# --- a single bucket ----------------------------------------------------------------------


def test_full_burst_is_granted_then_refused_with_the_wait_for_the_missing_tokens(redis_client: redis.Redis) -> None:
    limiter = bucket(redis_client, rate=2, burst=5)

    assert limiter.take(5, now=T0) == Decision(allowed=True, granted=5, retry_after=0.0, remaining=0, limit=5)
    assert limiter.take(1, now=T0) == Decision(allowed=False, granted=0, retry_after=0.5, remaining=0, limit=5)
    assert limiter.take(3, now=T0).retry_after == pytest.approx(1.5)


def test_tokens_refill_at_the_rate_and_never_beyond_the_burst(redis_client: redis.Redis) -> None:
    limiter = bucket(redis_client, rate=2, burst=5)
    limiter.take(5, now=T0)

    assert limiter.take(5, partial=True, now=T0 + 1).granted == 2
    assert limiter.take(1, now=T0 + 1.25).allowed is False  # half a token so far
    assert limiter.take(1, now=T0 + 1.5).allowed is True
    assert limiter.take(1, now=T0 + 3600).remaining == 4  # refilled to 5, not to 7200


def test_partial_take_grants_what_is_available_and_waits_for_the_rest(redis_client: redis.Redis) -> None:
    limiter = bucket(redis_client, rate=5, burst=10)
    limiter.take(4, now=T0)

    decision = limiter.take(10, partial=True, now=T0)

    assert decision == Decision(allowed=True, granted=6, retry_after=pytest.approx(0.8), remaining=0, limit=10)


def test_partial_take_from_an_empty_bucket_is_refused_until_one_token_is_there(redis_client: redis.Redis) -> None:
    limiter = bucket(redis_client, rate=5, burst=10)
    limiter.take(10, now=T0)

    empty = limiter.take(3, partial=True, now=T0 + 0.1)  # 0.5 token

    assert (empty.allowed, empty.granted, empty.remaining) == (False, 0, 0)
    assert empty.retry_after == pytest.approx(0.5)  # 2.5 more tokens at 5/s
    assert limiter.take(3, partial=True, now=T0 + 0.2).granted == 1


def test_partial_wait_for_more_than_a_burst_is_the_wait_for_a_full_bucket(redis_client: redis.Redis) -> None:
    limiter = bucket(redis_client, rate=5, burst=10)

    decision = limiter.take(500, partial=True, now=T0)

    assert decision.granted == 10
    assert decision.retry_after == pytest.approx(2.0)  # 10 more in 2 s, not 490 in 98 s


def test_all_or_nothing_take_grants_nothing_when_the_bucket_is_short(redis_client: redis.Redis) -> None:
    limiter = bucket(redis_client, rate=5, burst=10)
    limiter.take(8, now=T0)

    short = limiter.take(5, now=T0)

    assert short == Decision(allowed=False, granted=0, retry_after=pytest.approx(0.6), remaining=2, limit=10)
    assert limiter.take(2, now=T0).allowed is True  # nothing was deducted by the refusal


def test_all_or_nothing_take_of_more_than_the_burst_is_an_error(redis_client: redis.Redis) -> None:
    with pytest.raises(ValueError, match="never be granted"):
        bucket(redis_client, rate=5, burst=10).take(11)


def test_taking_zero_tokens_is_allowed_and_grants_nothing(redis_client: redis.Redis) -> None:
    limiter = bucket(redis_client, rate=5, burst=10)

    assert limiter.take(0, partial=True, now=T0) == Decision(True, 0, 0.0, 10, 10)


def test_rate_zero_is_unlimited_and_never_touches_redis(redis_client: redis.Redis) -> None:
    limiter = bucket(redis_client, rate=0)

    decision = limiter.take(1_000_000)

    assert (decision.allowed, decision.granted, decision.retry_after) == (True, 1_000_000, 0.0)
    assert redis_client.keys(KEY_PREFIX + "*") == []


def test_burst_defaults_to_one_seconds_rate_and_at_least_one(redis_client: redis.Redis) -> None:
    assert bucket(redis_client, rate=7.5).burst == 8
    assert bucket(redis_client, rate=0.2).burst == 1
    assert bucket(redis_client, rate=3, burst=50).burst == 50


@pytest.mark.parametrize(
    ("rate", "burst", "message"),
    [(-1, None, "rate"), (float("inf"), None, "rate"), (float("nan"), None, "rate"), (5, 0, "burst")],
)
def test_bucket_with_a_nonsense_rate_or_burst_is_refused(
    redis_client: redis.Redis, rate: float, burst: int, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        bucket(redis_client, rate=rate, burst=burst)


def test_negative_request_is_an_error(redis_client: redis.Redis) -> None:
    with pytest.raises(ValueError, match="requested"):
        bucket(redis_client, rate=5).take(-1)


def test_a_clock_going_backwards_refills_nothing(redis_client: redis.Redis) -> None:
    limiter = bucket(redis_client, rate=5, burst=10)
    limiter.take(10, now=T0)

    assert limiter.take(1, now=T0 - 60).granted == 0


def test_without_now_the_bucket_refills_on_redis_time(redis_client: redis.Redis) -> None:
    limiter = bucket(redis_client, rate=20, burst=1)
    assert limiter.take().allowed is True

    refused = limiter.take()
    assert refused.allowed is False
    assert 0 < refused.retry_after <= 0.05

    time.sleep(refused.retry_after + 0.02)
    assert limiter.take().allowed is True


# --- storage --------------------------------------------------------------------------------


def test_bucket_state_is_a_prefixed_hash_that_expires_once_it_would_be_full(redis_client: redis.Redis) -> None:
    limiter = bucket(redis_client, "send:shop:42", rate=5, burst=10)
    limiter.take(3, now=T0)

    assert limiter.key == "sms_blossom:rl:send:shop:42"
    state = redis_client.hgetall(limiter.key)
    assert {float(state[b"tokens"]), float(state[b"ts"])} == {7.0, T0}
    assert 0 < redis_client.pttl(limiter.key) <= 3000  # 2 s to refill 10 tokens at 5/s, plus 1 s slack


def test_a_flushed_bucket_comes_back_full(redis_client: redis.Redis) -> None:
    limiter = bucket(redis_client, rate=5, burst=10)
    limiter.take(10, now=T0)

    redis_client.delete(limiter.key)

    assert limiter.take(10, now=T0).allowed is True


# --- several buckets at once ----------------------------------------------------------------


def test_take_all_grants_the_minimum_and_deducts_it_from_every_bucket(redis_client: redis.Redis) -> None:
    account = bucket(redis_client, "send:account:acc-1", rate=10, burst=10)
    shop = bucket(redis_client, "send:shop:42", rate=2, burst=4)

    decision = take_all([account, shop], 6, now=T0)

    assert decision == Decision(allowed=True, granted=4, retry_after=pytest.approx(1.0), remaining=0, limit=4)
    assert account.take(7, now=T0).allowed is False  # 10 - 4 = 6 left
    assert account.take(6, now=T0).allowed is True
    assert shop.take(1, now=T0).allowed is False


def test_take_all_waits_for_the_slower_bucket(redis_client: redis.Redis) -> None:
    account = bucket(redis_client, "send:account:acc-1", rate=10, burst=10)
    shop = bucket(redis_client, "send:shop:42", rate=2, burst=10)
    take_all([account, shop], 10, now=T0)

    decision = take_all([account, shop], 3, now=T0)

    assert (decision.allowed, decision.granted) == (False, 0)
    assert decision.retry_after == pytest.approx(1.5)  # the shop needs 1.5 s for 3 tokens, the account 0.3 s


def test_take_all_ignores_unlimited_buckets(redis_client: redis.Redis) -> None:
    account = bucket(redis_client, "send:account:acc-1", rate=0)
    shop = bucket(redis_client, "send:shop:42", rate=2, burst=4)

    decision = take_all([account, shop], 6, now=T0)

    assert (decision.granted, decision.limit) == (4, 4)
    assert not redis_client.exists(account.key)
    assert take_all([account], 6).granted == 6


def test_take_all_without_partial_is_all_or_nothing(redis_client: redis.Redis) -> None:
    account = bucket(redis_client, "send:account:acc-1", rate=10, burst=10)
    shop = bucket(redis_client, "send:shop:42", rate=2, burst=4)

    assert take_all([account, shop], 4, partial=False, now=T0).granted == 4
    assert take_all([account, shop], 1, partial=False, now=T0).granted == 0
    assert account.take(6, now=T0).allowed is True  # the refusal deducted nothing


def test_take_all_refuses_buckets_on_different_redis_clients(redis_client: redis.Redis) -> None:
    other = fakeredis.FakeRedis(server=fakeredis.FakeServer())
    with pytest.raises(ValueError, match="one Redis client"):
        take_all([bucket(redis_client, "a", rate=1), bucket(other, "b", rate=1)], 1)


def test_take_all_refuses_the_same_bucket_twice_and_no_buckets(redis_client: redis.Redis) -> None:
    with pytest.raises(ValueError, match="twice"):
        take_all([bucket(redis_client, "a", rate=1), bucket(redis_client, "a", rate=2)], 1)
    with pytest.raises(ValueError, match="at least one"):
        take_all([], 1)


# --- behaviour under load -------------------------------------------------------------------


def test_concurrent_takers_never_get_more_than_the_bucket_holds(redis_client: redis.Redis) -> None:
    rate, burst = 0.01, 100
    limiter = bucket(redis_client, rate=rate, burst=burst)
    granted: list[int] = []
    start = threading.Barrier(8)

    def worker() -> None:
        start.wait()
        mine = sum(limiter.take(1).granted for _ in range(50))
        granted.append(mine)

    began = time.monotonic()
    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - began

    assert len(granted) == 8
    assert burst <= sum(granted) <= burst + rate * elapsed


def test_concurrent_take_all_never_over_grants_either_bucket(redis_client: redis.Redis) -> None:
    account = bucket(redis_client, "send:account:acc-1", rate=0.01, burst=100)
    shop = bucket(redis_client, "send:shop:42", rate=0.01, burst=60)
    granted: list[int] = []

    def worker() -> None:
        granted.append(sum(take_all([account, shop], 3).granted for _ in range(10)))

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sum(granted) == 60  # 240 asked for; ~0.01 tokens/s of refill cannot make another whole one
    assert account.take(40).allowed is True
    assert account.take(1).allowed is False


@pytest.mark.parametrize("rate", [50, 333.3, 1000])
def test_achieved_rate_over_a_second_matches_the_configured_rate(redis_client: redis.Redis, rate: float) -> None:
    limiter = bucket(redis_client, rate=rate)
    limiter.take(limiter.burst, now=T0)  # start from an empty bucket

    steps = 100  # 10 ms apart: one simulated second
    sent = sum(limiter.take(limiter.burst, partial=True, now=T0 + step * 0.01).granted for step in range(1, steps + 1))

    assert sent == pytest.approx(rate, rel=0.05)


# --- fixed windows --------------------------------------------------------------------------


def test_fixed_window_allows_exactly_the_limit_then_refuses_until_it_resets(redis_client: redis.Redis) -> None:
    limit = FixedWindowLimit(redis_client, key="proxy:signup:203.0.113.9", limit=3, window=60)

    assert [(d.allowed, d.remaining) for d in (limit.hit(), limit.hit(), limit.hit())] == [
        (True, 2),
        (True, 1),
        (True, 0),
    ]
    refused = limit.hit()
    assert (refused.allowed, refused.granted, refused.remaining, refused.limit) == (False, 0, 0, 3)
    assert 1 <= refused.retry_after <= 60

    redis_client.pexpire(limit.key, 30)  # let the window run out now instead of in a minute
    time.sleep(0.1)

    assert limit.hit() == Decision(allowed=True, granted=1, retry_after=0.0, remaining=2, limit=3, reset_after=60.0)


def test_fixed_window_counter_is_prefixed_and_expires_with_the_window(redis_client: redis.Redis) -> None:
    limit = FixedWindowLimit(redis_client, key="proxy:signup:203.0.113.9", limit=3, window=60)
    limit.hit()

    assert limit.key == "sms_blossom:rl:proxy:signup:203.0.113.9"
    assert 0 < redis_client.ttl(limit.key) <= 60


def test_hits_over_the_limit_do_not_extend_the_window(redis_client: redis.Redis) -> None:
    limit = FixedWindowLimit(redis_client, key="proxy:signup:203.0.113.9", limit=1, window=60)
    limit.hit()
    redis_client.expire(limit.key, 5)

    refused = limit.hit()

    assert refused.retry_after <= 5
    assert redis_client.ttl(limit.key) <= 5


def test_a_window_counter_left_without_expiry_gets_one(redis_client: redis.Redis) -> None:
    limit = FixedWindowLimit(redis_client, key="proxy:signup:203.0.113.9", limit=3, window=60)
    redis_client.set(limit.key, 1)

    limit.hit()

    assert 0 < redis_client.ttl(limit.key) <= 60


def test_fixed_windows_count_each_key_separately(redis_client: redis.Redis) -> None:
    first = FixedWindowLimit(redis_client, key="proxy:signup:203.0.113.9", limit=1, window=60)
    second = FixedWindowLimit(redis_client, key="proxy:signup:198.51.100.7", limit=1, window=60)
    first.hit()

    assert first.hit().allowed is False
    assert second.hit().allowed is True


@pytest.mark.parametrize(("limit", "window", "message"), [(0, 60, "limit"), (5, 0, "window")])
def test_fixed_window_with_a_nonsense_limit_or_window_is_refused(
    redis_client: redis.Redis, limit: int, window: int, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        FixedWindowLimit(redis_client, key="proxy:x", limit=limit, window=window)
