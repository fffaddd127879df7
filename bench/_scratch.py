"""A scratch PostgreSQL database for a bench script, dropped afterwards (tests/conftest.py)."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import text

from shopify_app.tenancy import admin_engine
from tests.conftest import scratch_database


@contextmanager
def postgres_scratch(prefix: str, script: str) -> Iterator[str]:
    """The URL of a new, empty database on DATABASE_URL's server; `script` names the caller in
    the error when DATABASE_URL is not PostgreSQL (SQLite would give a meaningless figure)."""
    with tempfile.TemporaryDirectory() as tmp, scratch_database(Path(tmp), prefix) as url:
        assert url.startswith("postgres"), f"{script} needs PostgreSQL (DATABASE_URL)"
        yield url


def vacuum_analyze() -> None:
    """VACUUM ANALYZE the current app's database as its owner (the admin engine): the application
    role owns no table, so its VACUUM ANALYZE skipped every one and left the planner without
    statistics until autovacuum came round."""
    with admin_engine().connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(text("VACUUM ANALYZE"))
