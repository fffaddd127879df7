"""Dependency checks for `/health/ready` (and later `flask doctor`)."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import structlog
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask import current_app
from sqlalchemy import text

from ...extensions import db, redis_ext

log = structlog.get_logger(__name__)


@cache
def migration_heads(directory: str) -> frozenset[str]:
    """The revisions a fully migrated database is at (read once per process)."""
    config = Config()
    config.set_main_option("script_location", directory)
    return frozenset(ScriptDirectory.from_config(config).get_heads())


def check_database() -> tuple[str, str]:
    """(database, migrations) statuses: reachable at all, then at the migrations head."""
    try:
        with db.engine.connect() as connection:
            connection.execute(text("SELECT 1"))
            current = frozenset(MigrationContext.configure(connection).get_current_heads())
    except Exception as exc:  # any driver error means "not ready", never a crash
        log.warning("readiness_database_failed", exc_type=type(exc).__name__)
        return f"unreachable ({type(exc).__name__})", "unknown (database unreachable)"
    directory = current_app.extensions["migrate"].directory
    if current != migration_heads(str(Path(directory).resolve())):
        return "ok", "not at migrations head (run `flask db upgrade`)"
    return "ok", "ok"


def check_redis() -> str:
    try:
        redis_ext.client().ping()
    except Exception as exc:  # connection refused, timeout, auth: all mean "not ready"
        log.warning("readiness_redis_failed", exc_type=type(exc).__name__)
        return f"unreachable ({type(exc).__name__})"
    return "ok"


def readiness_checks() -> dict[str, str]:
    database, migrations = check_database()
    return {"database": database, "migrations": migrations, "redis": check_redis()}
