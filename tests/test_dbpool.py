"""The pool pings a connection on checkout only after it sat idle (shopify_app/dbpool.py)."""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine, text

from shopify_app.dbpool import ping_when_idle


@pytest.fixture
def engine(database_url):
    if not database_url.startswith("postgres"):
        pytest.skip("the pool ping is installed on PostgreSQL engines")
    engine = create_engine(database_url, pool_size=1, max_overflow=0)
    yield engine
    engine.dispose()


def backend_pid(engine) -> int:
    with engine.connect() as connection:
        return int(connection.scalar(text("SELECT pg_backend_pid()")))


def count_pings(engine, monkeypatch) -> list[int]:
    pings: list[int] = []
    real = engine.dialect.do_ping
    monkeypatch.setattr(engine.dialect, "do_ping", lambda connection: pings.append(1) or real(connection))
    return pings


def test_a_connection_back_from_a_moment_ago_is_used_without_a_ping(engine, monkeypatch):
    ping_when_idle(engine, after=60)
    pings = count_pings(engine, monkeypatch)
    first = backend_pid(engine)
    assert [backend_pid(engine) for _ in range(3)] == [first] * 3
    assert pings == []


def test_an_idle_connection_the_server_dropped_is_replaced_on_checkout(engine, database_url, monkeypatch):
    ping_when_idle(engine, after=0)  # every reused connection counts as idle
    pings = count_pings(engine, monkeypatch)
    lost = backend_pid(engine)
    with create_engine(database_url).connect() as admin:  # the server ends the idle session (waits up to 5 s)
        assert admin.scalar(text("SELECT pg_terminate_backend(:pid, 5000)"), {"pid": lost})
    replacement = backend_pid(engine)  # no error reaches the caller
    assert replacement != lost
    assert len(pings) == 1  # the dead one was pinged; its replacement is new, so it was not
