"""`make test` runs pytest-xdist workers; each must have a Redis database of its own
(conftest.py `worker_redis_url`, applied in `pytest_configure`)."""

from __future__ import annotations

import pytest

from .conftest import worker_redis_url


@pytest.mark.parametrize(
    ("worker", "expected"),
    [("gw0", "redis://127.0.0.1:6379/15"), ("gw1", "redis://127.0.0.1:6379/14"), ("gw15", "redis://127.0.0.1:6379/0")],
)
def test_each_worker_takes_the_database_below_the_previous_ones(worker, expected):
    assert worker_redis_url("redis://127.0.0.1:6379/15", worker) == expected


def test_the_rest_of_the_url_is_kept():
    assert worker_redis_url("rediss://user:secret@cache.internal:6380/3", "gw2") == (
        "rediss://user:secret@cache.internal:6380/1"
    )
    assert worker_redis_url("redis://127.0.0.1:6379", "gw0") == "redis://127.0.0.1:6379/0"


@pytest.mark.parametrize(("url", "worker"), [("redis://127.0.0.1:6379/1", "gw2"), ("redis://127.0.0.1:6379", "gw1")])
def test_a_worker_left_without_a_database_is_refused_rather_than_shared(url, worker):
    with pytest.raises(pytest.UsageError, match=f"no Redis database is left for xdist worker {worker}"):
        worker_redis_url(url, worker)


def test_a_database_given_as_a_query_is_refused_rather_than_ignored():
    with pytest.raises(pytest.UsageError, match="not in a query"):
        worker_redis_url("redis://127.0.0.1:6379?db=15", "gw1")
