"""Migrations: one head, files in apply order, and upgrade -> downgrade -> upgrade works.

The round trip runs in a database of its own so it never touches the one other tests use.
"""

from __future__ import annotations

import re

import pytest
from alembic.config import Config
from alembic.script import ScriptDirectory
from flask_migrate import downgrade, upgrade
from sqlalchemy import inspect
from sqlalchemy.exc import IntegrityError

from shopify_app import create_app
from shopify_app.extensions import db

from .conftest import base_test_config, dispose_engines, scratch_database


@pytest.fixture
def scripts(project_root) -> ScriptDirectory:
    config = Config()
    config.set_main_option("script_location", str(project_root / "migrations"))
    return ScriptDirectory.from_config(config)


def test_there_is_exactly_one_head(scripts):
    assert len(scripts.get_heads()) == 1


def test_revision_files_sort_in_the_order_they_apply(scripts, project_root):
    chain = [rev.revision for rev in reversed(list(scripts.walk_revisions()))]
    files = sorted(p.name for p in (project_root / "migrations" / "versions").glob("*.py"))
    assert [name.split("_", 1)[0] for name in files] == chain
    assert all(re.fullmatch(r"\d{4}", revision) for revision in chain)


def test_models_match_the_migrations(app):
    """Autogenerate against the migrated schema finds nothing: no model change lacks a migration."""
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    with db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        diff = compare_metadata(context, db.metadata)
    assert diff == []


@pytest.fixture
def scratch_database_url(tmp_path):
    with scratch_database(tmp_path, "smsb_migrations") as url:
        yield url


def test_upgrade_downgrade_upgrade_round_trip(scratch_database_url):
    app = create_app(base_test_config(scratch_database_url))
    with app.app_context():
        upgrade()
        tables = set(inspect(db.engine).get_table_names())
        assert {"shops", "webhook_events", "alembic_version"} <= tables
        downgrade(revision="base")
        assert set(inspect(db.engine).get_table_names()) <= {"alembic_version"}
        upgrade()
        assert set(inspect(db.engine).get_table_names()) == tables
        dispose_engines()


def test_app_connections_enforce_foreign_keys_and_migrations_run_without_them(scratch_database_url):
    """SQLite enforces foreign keys only when a connection asks: every app connection does, so a
    deleted row's id is never left dangling; a migration run does not (batch mode copies and
    drops tables), and the pool gets its connection back enforcing them again."""
    from sqlalchemy import event

    from shopify_app.foreign_keys import enabled

    app = create_app(base_test_config(scratch_database_url))
    with app.app_context():
        engine = db.engine
        during_copies: list[int] = []

        def record(conn, cursor, statement, parameters, context, executemany):
            if engine.dialect.name == "sqlite" and statement.lstrip().upper().startswith("CREATE TABLE _ALEMBIC_TMP_"):
                during_copies.append(cursor.connection.execute("PRAGMA foreign_keys").fetchone()[0])

        event.listen(engine, "before_cursor_execute", record)
        try:
            upgrade()
            downgrade(revision="base")
            upgrade()
        finally:
            event.remove(engine, "before_cursor_execute", record)
        with engine.connect() as connection:
            assert enabled(connection)
        if engine.dialect.name == "sqlite":
            assert during_copies  # batch mode copied tables...
            assert set(during_copies) == {0}  # ...with foreign keys off
            with engine.connect() as connection, pytest.raises(IntegrityError):  # no shop 999
                connection.exec_driver_sql(
                    "INSERT INTO segments (shop_id, name, filters, created_at, updated_at) "
                    "VALUES (999, 'x', '{}', '2026-01-01', '2026-01-01')"
                )
        dispose_engines()
