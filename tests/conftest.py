"""Fixtures. The suite runs on PostgreSQL + Redis when DATABASE_URL / REDIS_URL point at them
(`.ci/run` sets both) and on SQLite + fakeredis otherwise.

On PostgreSQL a fresh database is created for the run (from DATABASE_URL's server) and built
by the migrations, never `create_all`; it is dropped at the end. Apps connect the way production
does: as the application role `smsb_app` (created if missing: no superuser, no BYPASSRLS, so
row-level security binds it), with DATABASE_URL's own user as DATABASE_ADMIN_URL. Tests commit freely; every
table is emptied after each test. Redis isolation is `FLUSHDB` of the test database (never
`FLUSHALL`).

Under pytest-xdist (`make test` runs `-n 2`) every worker is a session of its own: its own
scratch database (the name carries the worker id) and its own Redis database, REDIS_URL's
number for gw0 and one lower per worker after it (15, 14, ... from CI's /15), set in the
environment before anything reads it, so apps, `os.environ` readers and the worker processes
tests spawn all see it.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient
from flask_migrate import upgrade
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from shopify_app import create_app
from shopify_app.extensions import db, redis_ext

TEST_API_SECRET = "test-shopify-api-secret-0123456789abcdef0123"
TEST_API_KEY = "test-api-key-0123456789"
APP_ROLE = "smsb_app"


def worker_redis_url(url: str, worker: str) -> str:
    """REDIS_URL for xdist worker `worker` ("gw0", "gw1", ...): the given database number for
    gw0, one lower for each worker after it. Refuses rather than share or wrap around."""
    parts = urlsplit(url)
    if parts.query:
        raise pytest.UsageError(f"REDIS_URL: give the database as a path (/15), not in a query: {parts.query}")
    base = int(parts.path.strip("/") or 0)
    number = base - int(worker.removeprefix("gw"))
    if number < 0:
        raise pytest.UsageError(
            f"REDIS_URL ends in /{base}: no Redis database is left for xdist worker {worker} "
            f"(worker gwN uses /{base}-N); use fewer workers or a higher database number"
        )
    return urlunsplit(parts._replace(path=f"/{number}"))


def pytest_configure(config: pytest.Config) -> None:
    """Give this xdist worker its own Redis database before any app, fixture or test module
    reads REDIS_URL (worker processes started by tests inherit the environment). The
    controller checks first that every worker will have one."""
    url = os.environ.get("REDIS_URL")
    if not url:
        return
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if worker:
        os.environ["REDIS_URL"] = worker_redis_url(url, worker)
    elif workers := len(getattr(config.option, "tx", None) or []):
        worker_redis_url(url, f"gw{workers - 1}")


def postgres_server_url() -> str | None:
    url = os.environ.get("DATABASE_URL", "")
    return url if url.startswith("postgres") else None


def _run_on_server(server_url: str, statement: str) -> str:
    """Run a database-level statement (CREATE/DROP DATABASE) on the server of `server_url`."""
    url = make_url(server_url.replace("postgresql://", "postgresql+psycopg://", 1))
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(text(statement))
    engine.dispose()
    return url.render_as_string(hide_password=False)


def ensure_app_role(server_url: str) -> None:
    """Create the application role once per server; concurrent or repeated runs are fine."""
    _run_on_server(
        server_url,
        f"DO $$ BEGIN CREATE ROLE {APP_ROLE} LOGIN NOSUPERUSER NOBYPASSRLS; "
        "EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END $$",
    )


def app_role_url(admin_url: str) -> str:
    """The same database, reached as the application role (trust authentication here)."""
    return make_url(admin_url).set(username=APP_ROLE, password=None).render_as_string(hide_password=False)


@contextmanager
def scratch_database(directory: Path, prefix: str) -> Iterator[str]:
    """A new, empty database for the duration: on the PostgreSQL server when DATABASE_URL names
    one (dropped afterwards), else a SQLite file in `directory`."""
    server = postgres_server_url()
    if server is None:
        yield f"sqlite:///{directory / (prefix + '.sqlite3')}"
        return
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    ensure_app_role(server)
    _run_on_server(server, f'CREATE DATABASE "{name}"')
    try:
        yield make_url(_run_on_server(server, "SELECT 1")).set(database=name).render_as_string(hide_password=False)
    finally:
        _run_on_server(server, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    with scratch_database(tmp_path_factory.mktemp("db"), f"smsb_test_{worker}") as url:
        yield url


def base_test_config(database_url: str, **overrides: Any) -> dict[str, Any]:
    """`database_url` is the admin (owner) URL; on PostgreSQL the app connects as APP_ROLE."""
    postgres = database_url.startswith("postgres")
    config: dict[str, Any] = {
        "APP_ENV": "test",
        "TESTING": True,
        "DATABASE_URL": app_role_url(database_url) if postgres else database_url,
        "DATABASE_ADMIN_URL": database_url if postgres else None,
        "REDIS_URL": os.environ.get("REDIS_URL") or None,
        "SHOPIFY_API_KEY": TEST_API_KEY,
        "SHOPIFY_API_SECRET": TEST_API_SECRET,
        "SHOPIFY_APP_URL": "https://app.example.test",
        "SMS_BACKEND": "memory",
        "LOG_LEVEL": "DEBUG",
        # Suites make hundreds of requests a minute from one address; tests/test_api_limits.py
        # turns the limits on.
        "API_RATE_PER_SHOP": 0,
        "API_RATE_PER_IP": 0,
        # No Shopify stands behind most tests' shops; tests/test_shopify_consent_sync.py turns it on.
        "SHOPIFY_CONSENT_SYNC": 0,
    }
    if "DATABASE_URL" in overrides and "DATABASE_ADMIN_URL" not in overrides:
        config["DATABASE_ADMIN_URL"] = None  # another database on purpose: no admin of ours
    config.update(overrides)
    return config


@pytest.fixture(scope="session")
def migrated_database(database_url: str) -> str:
    app = create_app(base_test_config(database_url))
    with app.app_context():
        upgrade()
        dispose_engines()
    return database_url


def dispose_engines() -> None:
    """Close the current app's connections, the admin engine's too: left to the garbage
    collector, each test's admin connection stayed open for a while (~25 idle ones per
    process), and pytest-xdist workers share the server's max_connections with everyone."""
    for engine in db.engines.values():
        engine.dispose()


@pytest.fixture
def make_app(migrated_database: str) -> Iterator[Any]:
    """Factory for apps with extra config; every app made is cleaned up after the test."""
    apps: list[Flask] = []

    def factory(**overrides: Any) -> Flask:
        app = create_app(base_test_config(migrated_database, **overrides))
        apps.append(app)
        return app

    yield factory
    shared_redis = os.environ.get("REDIS_URL") or None
    for app in apps:
        with app.app_context():
            # Only the shared database and Redis need emptying; apps pointed elsewhere on
            # purpose (an unreachable server, a scratch SQLite file) are left alone.
            if migrated_database in (app.config["DATABASE_URL"], app.config["DATABASE_ADMIN_URL"]):
                _empty_tables()
            if app.config["REDIS_URL"] == shared_redis:
                redis_ext.client().flushdb()
            dispose_engines()


@pytest.fixture
def app(make_app: Any) -> Iterator[Flask]:
    app = make_app()
    with app.app_context():
        yield app


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


def _empty_tables() -> None:
    """Every table back to how the migrations left it: empty, its identity restarting at 1.

    PostgreSQL: TRUNCATE, so a table is a new, empty file again (a plan on a table with dead
    rows can differ, and test_sending.py pins plans), but only of the tables written since
    their last truncate (a table's file grows on its first insert, kept or rolled back) or
    whose sequence moved; CASCADE adds the tables that reference them. TRUNCATE gives each
    table and index it names a new file, and fsyncs each index: all 34 tables took ~0.14 s a
    test with the machine half busy, over 1 s with the disk busy. `shops`, which every other
    table references (truncating it takes them all along), is emptied with DELETE instead: a
    few rows, and no test pins a plan on it. A test with one shop: ~12 ms.
    """
    from shopify_app.tenancy import admin_engine

    db.session.remove()
    tables = [table.name for table in reversed(db.metadata.sorted_tables)]
    with admin_engine().begin() as connection:
        if connection.dialect.name != "postgresql":
            for table in tables:
                connection.execute(text(f"DELETE FROM {table}"))  # noqa: S608 (names from metadata)
            return
        written = list(connection.scalars(_WRITTEN_TABLES, {"tables": tables}))
        if children := [table for table in written if table != "shops"]:
            connection.execute(text(f"TRUNCATE {', '.join(children)} RESTART IDENTITY CASCADE"))
        if "shops" in written:
            connection.execute(text("DELETE FROM shops"))
            connection.execute(text("SELECT setval(pg_get_serial_sequence('shops', 'id'), 1, false)"))


# The sequences TRUNCATE ... RESTART IDENTITY restarts are those owned by the tables' columns
# (serial or identity); MATERIALIZED keeps pg_sequence_last_value away from other relations.
_WRITTEN_TABLES = text(
    "WITH ours AS (SELECT oid, relname FROM pg_class "
    "WHERE relnamespace = current_schema()::regnamespace AND relkind = 'r' AND relname = ANY(:tables)), "
    "owned AS MATERIALIZED (SELECT d.refobjid AS table_oid, q.seqrelid FROM pg_sequence q "
    "JOIN pg_depend d ON d.classid = 'pg_class'::regclass AND d.objid = q.seqrelid "
    "AND d.refclassid = 'pg_class'::regclass AND d.deptype IN ('a', 'i') JOIN ours ON ours.oid = d.refobjid) "
    "SELECT relname FROM ours WHERE pg_relation_size(oid) > 0 "
    "OR oid IN (SELECT table_oid FROM owned WHERE pg_sequence_last_value(seqrelid) IS NOT NULL)"
)


@pytest.fixture
def project_root() -> Path:
    return Path(__file__).resolve().parent.parent


@pytest.fixture
def fake_shopify() -> Iterator[Any]:
    from .fakes.shopify import FakeShopify

    fake = FakeShopify(api_key=TEST_API_KEY, api_secret=TEST_API_SECRET).start()
    try:
        yield fake
    finally:
        fake.stop()


@pytest.fixture
def shopify_app(make_app: Any, fake_shopify: Any) -> Iterator[Flask]:
    """An app whose Shopify Admin API is the loopback fake."""
    app = make_app(SHOPIFY_ADMIN_BASE_URL=fake_shopify.admin_base_url)
    with app.app_context():
        yield app


def install_shop(domain: str, *, country_code: str = "US", name: str | None = None, number: str | None = "auto") -> Any:
    """An installed shop with a usable (non-expiring) offline token: no token exchange needed,
    and (unless `number=None`) a +1 number of its own assigned, so it may text US numbers
    (services/settings.py `sender_rule`); "auto" is +1 212 555 0000 plus the shop's id."""
    from shopify_app.models import Shop
    from shopify_app.models.types import utcnow

    shop = Shop(
        domain=domain,
        name=name or domain.split(".")[0].title(),
        country_code=country_code,
        timezone="America/New_York",
        settings={},
        installed_at=utcnow(),
    )
    db.session.add(shop)
    db.session.flush()
    shop.access_token = f"shpat_{uuid.uuid4().hex}"
    db.session.commit()
    if number is not None:
        from shopify_app.services.sending.senders import assign

        assign(number=f"+1212555{shop.id % 10000:04d}" if number == "auto" else number, shop_domain=domain)
    return shop


class ApiClient:
    """A test client that signs every request with a fresh session token for its shop."""

    def __init__(self, client: FlaskClient, shop_domain: str):
        self.client = client
        self.shop_domain = shop_domain

    def _headers(self, extra: dict[str, str] | None) -> dict[str, str]:
        from .shopify_signing import bearer

        return {**bearer(self.shop_domain), **(extra or {})}

    def get(self, path: str, **kwargs: Any) -> Any:
        return self.client.get(path, headers=self._headers(kwargs.pop("headers", None)), **kwargs)

    def post(self, path: str, **kwargs: Any) -> Any:
        return self.client.post(path, headers=self._headers(kwargs.pop("headers", None)), **kwargs)

    def patch(self, path: str, **kwargs: Any) -> Any:
        return self.client.patch(path, headers=self._headers(kwargs.pop("headers", None)), **kwargs)

    def delete(self, path: str, **kwargs: Any) -> Any:
        return self.client.delete(path, headers=self._headers(kwargs.pop("headers", None)), **kwargs)

    def put(self, path: str, **kwargs: Any) -> Any:
        return self.client.put(path, headers=self._headers(kwargs.pop("headers", None)), **kwargs)


@pytest.fixture
def shop(app: Flask) -> Any:
    return install_shop("alpha.myshopify.com")


@pytest.fixture
def other_shop(app: Flask) -> Any:
    return install_shop("beta.myshopify.com", country_code="GR")


@pytest.fixture
def api(app: Flask, shop: Any) -> ApiClient:
    return ApiClient(app.test_client(), shop.domain)


@pytest.fixture
def other_api(app: Flask, other_shop: Any) -> ApiClient:
    return ApiClient(app.test_client(), other_shop.domain)


@pytest.fixture
def fake_mitto() -> Iterator[Any]:
    from .fakes.mitto import FakeMitto

    fake = FakeMitto(api_key="test-mitto-key").start()
    try:
        yield fake
    finally:
        fake.stop()


def settle_jobs(app: Flask, rounds: int = 50, *, strict: bool = True) -> None:
    """Run every queued and delayed job until none is left (backoffs and reschedules included).

    With `strict=False`, run `rounds` rounds and stop quietly (e.g. while a breaker holds work).
    """
    from datetime import UTC, datetime, timedelta

    from rq import SimpleWorker
    from rq.registry import ScheduledJobRegistry

    from jobs.scheduler import promote_due_delayed_jobs

    for _ in range(rounds):
        if app.config["QUEUE_ASYNC"]:
            SimpleWorker(redis_ext.queues(), connection=redis_ext.client()).work(burst=True)
        waiting = sum(len(ScheduledJobRegistry(queue=queue)) for queue in redis_ext.queues())
        if not waiting:
            return
        promote_due_delayed_jobs(datetime.now(UTC) + timedelta(days=1))
    if strict:
        raise AssertionError("jobs kept rescheduling themselves")


def migrated_sqlite_file(make_app: Any, path: Path) -> str:
    """A new SQLite file at `path` built by the migrations, as `make run` does first; its URL."""
    database_url = f"sqlite:///{path}"
    app = make_app(DATABASE_URL=database_url)
    with app.app_context():
        upgrade()
        db.engine.dispose()
    return database_url


def quiet_hours_now(api: Any) -> datetime:
    """Set the shop's quiet hours to a window from an hour ago to two hours ahead (UTC clock
    times); returns now. Give the recipients the UTC zone.

    The send path reads the wall clock, so the window is built from it: it holds now at any time
    of day (near midnight it wraps, 23:30 -> 22:30-01:30), never for less than the hour ahead.
    Which branch of `quiet_until` that takes is pinned on a fixed clock in test_quiet_hours.py.
    """
    now = datetime.now(UTC)
    window = {
        "start": (now - timedelta(hours=1)).strftime("%H:%M"),
        "end": (now + timedelta(hours=2)).strftime("%H:%M"),
    }
    assert api.patch("/api/settings", json={"quiet_hours": window}).status_code == 200
    return now


def mitto_config(fake: Any, **extra: Any) -> dict[str, Any]:
    """App settings that send through the real Mitto client to the loopback fake, limits off."""
    return {
        "SMS_BACKEND": "mitto",
        "MITTO_BASE_URL": fake.base_url,
        "MITTO_API_KEY": "test-mitto-key",
        "MITTO_TRAFFIC_ACCOUNT_ID": "acct-1",
        "SEND_RATE_PER_ACCOUNT": 0,
        "SEND_RATE_PER_SHOP": 0,
        **extra,
    }


def shop_ready_to_send(app: Flask, *, recipients: int, credits: int, first_names: bool = False) -> tuple[Any, Any]:
    """An installed shop with credits, quiet hours off, and `recipients` subscribed contacts
    (+1415555 0000, 0001, ...). Returns (ApiClient, shop); call inside `app.app_context()`."""
    from shopify_app.services.billing import credits as ledger

    shop = install_shop("alpha.myshopify.com")
    ledger.grant(shop_id=shop.id, amount=credits, key="grant:test")
    db.session.commit()
    api = ApiClient(app.test_client(), shop.domain)
    api.patch("/api/settings", json={"quiet_hours": None})
    for n in range(recipients):
        fields = {"phone": f"+1415555{n:04d}", "consent_state": "subscribed", "consent_text": "Yes, texts please."}
        if first_names:
            fields["first_name"] = f"P{n}"
        api.post("/api/contacts", json=fields)
    return api, shop


def open_shop(
    app: Flask, domain: str = "alpha.myshopify.com", *, credits: int = 0, fake_shopify: Any = None
) -> tuple[ApiClient, Any]:
    """An installed shop ready for API calls: credits granted, quiet hours off, and (with
    `fake_shopify`) an access token the loopback Admin API accepts. Inside an app context."""
    from shopify_app.services.billing import credits as ledger

    shop = install_shop(domain)
    if fake_shopify is not None:
        shop.access_token = fake_shopify.issue_access_token(domain)
    if credits:
        ledger.grant(shop_id=shop.id, amount=credits, key="grant:test")
    db.session.commit()
    api = ApiClient(app.test_client(), domain)
    assert api.patch("/api/settings", json={"quiet_hours": None}).status_code == 200
    return api, shop
