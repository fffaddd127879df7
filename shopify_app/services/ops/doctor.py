"""`flask doctor`: what an operator checks after a deploy, as one table.

Each check answers (status, detail) with status `ok`, `warn` or `FAIL`; any FAIL makes the
command exit non-zero. Checks talk to the real dependencies (database, Redis, Mitto) with
short timeouts and never print secrets.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime

from flask import current_app
from rq import Worker
from sqlalchemy import text

from ...clients.mitto import MittoError, MittoRejected
from ...extensions import db, redis_ext, sms_backend
from ...queueing import SCHEDULER_LEADER_KEY
from ...tenancy import ADMIN_BIND, privileged, shop_scope
from .readiness import check_database, check_redis

OK, WARN, FAIL = "ok", "warn", "FAIL"
HEARTBEAT_STALE_SECONDS = 120
SUPPORT_MONTHS = 12  # Shopify supports each stable API version for at least 12 months


@dataclass(frozen=True)
class Check:
    name: str
    status: str
    detail: str


def _settings() -> Check:
    config = current_app.config
    warnings = []
    # METRICS_TOKEN and OPERATOR_TOKEN are required at start-up in production (config.py).
    if config["APP_ENV"] == "production" and not config.get("SENTRY_DSN"):
        warnings.append("SENTRY_DSN unset")
    detail = f"APP_ENV={config['APP_ENV']}, SMS_BACKEND={config['SMS_BACKEND']}"
    return Check("settings", WARN if warnings else OK, detail + ("; " + ", ".join(warnings) if warnings else ""))


def _database() -> list[Check]:
    database, migrations = check_database()
    return [
        Check("database", OK if database == "ok" else FAIL, database),
        Check("migrations", OK if migrations == "ok" else FAIL, migrations),
    ]


def _row_level_security() -> Check:
    """The app's role must be walled by RLS on every shop table, the admin role must not be."""
    if db.engine.dialect.name != "postgresql":
        return Check("row_level_security", OK, "SQLite: application filters only (no RLS)")
    role_sql = text("SELECT current_user, rolsuper OR rolbypassrls FROM pg_roles WHERE rolname = current_user")
    unwalled_sql = text(
        "SELECT count(*) FROM information_schema.columns col JOIN pg_class c ON c.relname = col.table_name "
        "JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = col.table_schema "
        "WHERE col.table_schema = current_schema() AND col.column_name = 'shop_id' AND c.relkind = 'r' "
        "AND NOT (c.relrowsecurity AND c.relforcerowsecurity)"
    )
    try:
        with shop_scope(None):
            role, bypasses = db.session.execute(role_sql).one()
            unwalled = db.session.execute(unwalled_sql).scalar()
        db.session.rollback()
        with privileged():
            _admin, admin_bypasses = db.session.execute(role_sql).one()
        db.session.rollback()
    except Exception as exc:
        db.session.rollback()
        return Check("row_level_security", FAIL, f"unreadable ({type(exc).__name__})")
    if unwalled:
        return Check("row_level_security", FAIL, f"{unwalled} shop table(s) without forced RLS: run `flask db upgrade`")
    if not admin_bypasses:
        return Check("row_level_security", FAIL, "the admin role is walled too: give it BYPASSRLS")
    if bypasses:
        walled = "DATABASE_URL's role bypasses RLS (superuser or BYPASSRLS): no second wall between shops"
        return Check("row_level_security", WARN, walled)
    admin = "admin role separate" if ADMIN_BIND in db.engines else "no DATABASE_ADMIN_URL"
    return Check("row_level_security", OK, f"app role {role} walled on every shop table; {admin}")


def _redis() -> Check:
    if current_app.config.get("REDIS_URL") is None:
        return Check("redis", WARN, "REDIS_URL unset: in-process queue (development only)")
    status = check_redis()
    return Check("redis", OK if status == "ok" else FAIL, status)


def _queues() -> Check:
    try:
        depths = {queue.name: (queue.count, queue.failed_job_registry.count) for queue in redis_ext.queues()}
    except Exception as exc:
        return Check("queues", FAIL, f"unreadable ({type(exc).__name__})")
    failed = sum(f for _count, f in depths.values())
    detail = ", ".join(f"{name} {count} waiting/{f} failed" for name, (count, f) in depths.items())
    return Check("queues", WARN if failed else OK, detail)


def _workers(now: datetime) -> Check:
    if current_app.config.get("REDIS_URL") is None:
        return Check("workers", WARN, "no Redis: jobs run inside the web process")
    try:
        workers = Worker.all(connection=redis_ext.client())
    except Exception as exc:
        return Check("workers", FAIL, f"unreadable ({type(exc).__name__})")
    alive = [
        w
        for w in workers
        if w.last_heartbeat and (now - _aware(w.last_heartbeat)).total_seconds() < HEARTBEAT_STALE_SECONDS
    ]
    if not alive:
        return Check("workers", FAIL, f"no worker with a heartbeat in the last {HEARTBEAT_STALE_SECONDS} s")
    covered = sorted({name for w in alive for name in w.queue_names()})
    missing = [q.name for q in redis_ext.queues() if q.name not in covered]
    status = WARN if missing else OK
    return Check(
        "workers",
        status,
        f"{len(alive)} alive on {', '.join(covered)}" + (f"; nobody on {', '.join(missing)}" if missing else ""),
    )


def _scheduler() -> Check:
    if current_app.config.get("REDIS_URL") is None:
        return Check("scheduler", WARN, "no Redis: the web process runs the periodic jobs")
    try:
        ttl = redis_ext.client().pttl(SCHEDULER_LEADER_KEY)
    except Exception as exc:
        return Check("scheduler", FAIL, f"unreadable ({type(exc).__name__})")
    if ttl is None or ttl < 0:
        return Check("scheduler", FAIL, "no scheduler holds the leader lease (run `flask scheduler`)")
    return Check("scheduler", OK, f"a leader holds the lease ({ttl / 1000:.0f} s left)")


def _mitto() -> Check:
    backend = current_app.config["SMS_BACKEND"]
    if backend != "mitto":
        return Check("mitto", WARN if current_app.config["APP_ENV"] == "production" else OK, f"SMS_BACKEND={backend}")
    client = getattr(sms_backend(), "client", None)
    if client is None:
        return Check("mitto", FAIL, "the Mitto backend has no client")
    try:
        client.status("doctor-credentials-check")
    except MittoRejected as exc:
        if exc.status in (401, 403):
            return Check("mitto", FAIL, f"credentials refused (HTTP {exc.status})")
        return Check("mitto", OK, f"credentials accepted (HTTP {exc.status} for an unknown message id)")
    except MittoError as exc:
        return Check("mitto", FAIL, f"unreachable ({type(exc).__name__})")
    return Check("mitto", OK, "credentials accepted")


def _shopify_version(today: date) -> Check:
    version = str(current_app.config["SHOPIFY_API_VERSION"])
    try:
        year, month = (int(part) for part in version.split("-"))
        released = date(year, month, 1)
    except ValueError:
        return Check("shopify_api", FAIL, f"SHOPIFY_API_VERSION={version!r} is not YYYY-MM")
    months_old = (today.year - released.year) * 12 + today.month - released.month
    if months_old >= SUPPORT_MONTHS:
        return Check("shopify_api", FAIL, f"{version} is {months_old} months old: no longer supported")
    if months_old >= SUPPORT_MONTHS - 3:
        return Check("shopify_api", WARN, f"{version} leaves support within {SUPPORT_MONTHS - months_old} months")
    return Check("shopify_api", OK, f"{version} ({months_old} months old)")


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def run_checks(*, now: datetime | None = None) -> list[Check]:
    now = now or datetime.now(UTC)
    checks: list[Check] = [_settings(), *_database()]
    if all(check.status == OK for check in checks[1:]):  # database reachable and migrated
        checks.append(_row_level_security())
    checks.append(_redis())
    steps: list[Callable[[], Check]] = [_queues, lambda: _workers(now), _scheduler, _mitto]
    redis_ok = next(c for c in checks if c.name == "redis").status != FAIL
    for step in steps:
        if not redis_ok and step is not _mitto:
            continue
        checks.append(step())
    checks.append(_shopify_version(now.date()))
    return checks


def render(checks: list[Check]) -> str:
    width = max(len(c.name) for c in checks)
    lines = [f"{'check'.ljust(width)}  status  detail", f"{'-' * width}  ------  ------"]
    lines += [f"{c.name.ljust(width)}  {c.status.ljust(6)}  {c.detail}" for c in checks]
    return "\n".join(lines)
