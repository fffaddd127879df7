"""Alembic environment for Flask-Migrate.

Logging is left to the app (no `fileConfig`: it would disable the app's loggers mid-process).
Batch mode (`render_as_batch=True`, set on `Migrate`) lets the same migrations run on SQLite.
"""

from __future__ import annotations

import logging
from typing import Any

from alembic import context
from flask import current_app

from shopify_app.foreign_keys import suspended as foreign_keys_suspended
from shopify_app.tenancy import admin_engine, grant_app_role

logger = logging.getLogger("alembic.env")
config = context.config
migrate_ext = current_app.extensions["migrate"]
target_metadata = migrate_ext.db.metadata


def _engine_url() -> str:
    return admin_engine().url.render_as_string(hide_password=False).replace("%", "%%")


def run_migrations_offline() -> None:
    context.configure(url=_engine_url(), target_metadata=target_metadata, literal_binds=True, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    def skip_empty_autogenerate(_context: Any, _revision: Any, directives: list[Any]) -> None:
        if getattr(config.cmd_opts, "autogenerate", False) and directives[0].upgrade_ops.is_empty():
            directives[:] = []
            logger.info("No changes in schema detected.")

    conf_args = dict(migrate_ext.configure_args)
    conf_args.setdefault("process_revision_directives", skip_empty_autogenerate)
    # The admin (owner) role migrates; the app role then gets the grants it needs on whatever
    # the migrations created (it never owns tables, so RLS binds it).
    # SQLite's foreign keys are off while migrating: batch mode copies and drops tables
    # (shopify_app/foreign_keys.py); the app's own connections enforce them.
    with admin_engine().connect() as connection, foreign_keys_suspended(connection):
        context.configure(connection=connection, target_metadata=target_metadata, **conf_args)
        with context.begin_transaction():
            context.run_migrations()
            grant_app_role(connection, migrate_ext.db.engines[None])


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
