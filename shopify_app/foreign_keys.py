"""SQLite's foreign keys: enforced on every app connection, suspended while migrating.

SQLite ignores REFERENCES clauses unless each connection says `PRAGMA foreign_keys=ON`; without
it a deleted segment's id can be reused by a later segment while a campaign still points at it
(PostgreSQL enforces the same constraints always). Alembic's batch mode rebuilds a table by
copying it and dropping the original, which enforcement would refuse (or cascade through), so
a migration run turns them off for its connection and back on before the pool reuses it. The
pragma is a no-op inside a transaction: it is set between transactions.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection, Engine, event


def enforce_on_sqlite(engine: Engine) -> None:
    """Every new DBAPI connection of a SQLite `engine` enforces foreign keys (once per engine)."""
    if engine.dialect.name != "sqlite" or event.contains(engine, "connect", _foreign_keys_on):
        return
    event.listen(engine, "connect", _foreign_keys_on)


def _foreign_keys_on(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.execute("PRAGMA foreign_keys=ON")


@contextmanager
def suspended(connection: Connection) -> Iterator[None]:
    """Foreign keys off on `connection` (SQLite only) for the block, on again afterwards. Call it
    before the block's transaction begins."""
    if connection.dialect.name != "sqlite":
        yield
        return
    _set(connection, on=False)
    try:
        yield
    finally:
        if connection.in_transaction():  # a failed migration: its transaction is over either way
            connection.rollback()
        _set(connection, on=True)


def _set(connection: Connection, *, on: bool) -> None:
    connection.exec_driver_sql(f"PRAGMA foreign_keys={'ON' if on else 'OFF'}")
    connection.commit()  # ends the autobegun (empty) transaction, so the migration begins its own


def enabled(connection: Connection) -> bool:
    """Whether `connection` enforces foreign keys (always true on PostgreSQL)."""
    if connection.dialect.name != "sqlite":
        return True
    return bool(connection.exec_driver_sql("PRAGMA foreign_keys").scalar())
