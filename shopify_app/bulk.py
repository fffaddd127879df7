"""Bulk writes behind one dialect-aware helper.

PostgreSQL gets COPY (an order of magnitude faster than executemany, see
bench/import_contacts.py) into a temporary staging table, then one INSERT … SELECT: PostgreSQL
refuses COPY FROM into a table with row-level security (every shop table, migration 0010), and
the INSERT checks each row against the shop's policy. SQLite, the single-process embedded
default, gets executemany. Everything runs inside the session's current transaction.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Connection, Table, Text, any_, bindparam, cast, insert, select, text, update
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from .extensions import db

# Up to this many rows, an INSERT with VALUES beats staging them through COPY (four round trips).
SMALL_INSERT = 20


def _copy_rows(connection: Connection, target: str, columns: list[str], rows: Sequence[Mapping[str, Any]]) -> None:
    quote = connection.dialect.identifier_preparer.quote
    statement = f"COPY {target} ({', '.join(quote(name) for name in columns)}) FROM STDIN"
    raw = connection.connection.driver_connection
    with raw.cursor() as cursor, cursor.copy(statement) as copy:  # type: ignore[union-attr]
        for row in rows:
            copy.write_row([row[name] for name in columns])


def _staged(connection: Connection, table: Table, columns: list[str], rows: Sequence[Mapping[str, Any]]) -> str:
    """COPY `rows` into this transaction's staging twin of `table`; returns the twin's name."""
    quote = connection.dialect.identifier_preparer.quote
    staging = quote(f"staging_{table.name}")
    column_list = ", ".join(quote(name) for name in columns)
    target = connection.dialect.identifier_preparer.format_table(table)
    connection.exec_driver_sql(
        f"CREATE TEMP TABLE IF NOT EXISTS {staging} ON COMMIT DELETE ROWS AS "  # noqa: S608 (identifiers quoted)
        f"SELECT {column_list} FROM {target} WITH NO DATA"
    )
    connection.exec_driver_sql(f"TRUNCATE {staging}")
    _copy_rows(connection, staging, columns, rows)
    return staging


def _insert_from_staging(connection: Connection, table: Table, columns: list[str], staging: str) -> str:
    quote = connection.dialect.identifier_preparer.quote
    column_list = ", ".join(quote(name) for name in columns)
    target = connection.dialect.identifier_preparer.format_table(table)
    return f"INSERT INTO {target} ({column_list}) SELECT {column_list} FROM {staging}"  # noqa: S608


def bulk_insert(table: Table, rows: Sequence[Mapping[str, Any]], *, connection: Connection | None = None) -> int:
    """INSERT `rows` (dicts with the same keys) into `table`, in the session's transaction or
    on `connection`; returns the row count."""
    if not rows:
        return 0
    connection = connection or db.session.connection()
    if connection.dialect.name == "postgresql":
        columns = list(rows[0])
        staging = _staged(connection, table, columns, rows)
        connection.exec_driver_sql(_insert_from_staging(connection, table, columns, staging))
    else:
        connection.execute(insert(table), list(rows))
    return len(rows)


def insert_new(
    table: Table,
    rows: Sequence[Mapping[str, Any]],
    *,
    conflict: Sequence[str],
    returning: Sequence[str],
    conflict_where: str | None = None,
) -> list[tuple[Any, ...]]:
    """INSERT the rows that do not collide on the unique `conflict` columns; return `returning`
    of the rows actually inserted. Rows created concurrently by someone else are skipped, never
    an error, and no lookup query is needed (a 1,000-value IN list on a table without fresh
    statistics makes PostgreSQL scan the table: quadratic over a large import). `conflict_where`:
    the predicate of a partial unique index on `conflict` (SQL text, unqualified columns)."""
    if not rows:
        return []
    connection = db.session.connection()
    if connection.dialect.name != "postgresql":
        statement = _insert_new_statement(table, tuple(conflict), tuple(returning), conflict_where)
        return [tuple(row) for row in connection.execute(statement, list(rows)).all()]
    if len(rows) <= SMALL_INSERT:
        # A few rows: one multi-row VALUES, one round trip, the statement built and compiled once
        # per shape (a send batch's two ledger rows paid more to build it than to run it).
        columns = tuple(rows[0])
        statement = _small_insert_new(
            connection.dialect.identifier_preparer,
            table,
            columns,
            len(rows),
            tuple(conflict),
            tuple(returning),
            conflict_where,
        )
        values = {f"{name}_{index}": row[name] for index, row in enumerate(rows) for name in columns}
        return [tuple(row) for row in connection.execute(statement, values).all()]
    quote = connection.dialect.identifier_preparer.quote
    columns = list(rows[0])
    staging = _staged(connection, table, columns, rows)
    result = connection.exec_driver_sql(
        f"{_insert_from_staging(connection, table, columns, staging)} "
        f"{_skip_conflicts(quote, conflict, conflict_where, returning)}"
    )
    return [tuple(row) for row in result.all()]


@functools.lru_cache(maxsize=64)
def _insert_new_statement(
    table: Table, conflict: tuple[str, ...], returning: tuple[str, ...], conflict_where: str | None
) -> Any:
    where = text(conflict_where) if conflict_where else None
    statement = sqlite_insert(table).on_conflict_do_nothing(index_elements=list(conflict), index_where=where)
    return statement.returning(*(table.c[name] for name in returning))


@functools.lru_cache(maxsize=64)
def _small_insert_new(
    preparer: Any,
    table: Table,
    columns: tuple[str, ...],
    count: int,
    conflict: tuple[str, ...],
    returning: tuple[str, ...],
    conflict_where: str | None,
) -> Any:
    """`count` rows' INSERT … ON CONFLICT DO NOTHING RETURNING as SQL text with typed binds
    (`<column>_<row>`). SQLAlchemy 2.0 never caches the compiled form of a PostgreSQL
    `insert().on_conflict_do_nothing()` (its Insert sets inherit_cache = False): every execution
    compiled it again, a third of a send batch's ledger write. Text is compiled once."""
    quote = preparer.quote
    rows = ", ".join("(" + ", ".join(f":{name}_{index}" for name in columns) + ")" for index in range(count))
    sql = (
        f"INSERT INTO {preparer.format_table(table)} ({', '.join(quote(name) for name in columns)}) "  # noqa: S608
        f"VALUES {rows} {_skip_conflicts(quote, conflict, conflict_where, returning)}"
    )
    binds = [bindparam(f"{name}_{index}", type_=table.c[name].type) for index in range(count) for name in columns]
    return text(sql).bindparams(*binds).columns(*(table.c[name] for name in returning))


def _skip_conflicts(quote: Any, conflict: Sequence[str], conflict_where: str | None, returning: Sequence[str]) -> str:
    """The tail of insert_new's PostgreSQL INSERTs: skip rows that collide, return the rest."""
    return (
        f"ON CONFLICT ({', '.join(quote(name) for name in conflict)}){_where(conflict_where)} DO NOTHING "
        f"RETURNING {', '.join(quote(name) for name in returning)}"
    )


def _where(predicate: str | None) -> str:
    return f" WHERE {predicate}" if predicate else ""


def pg_array(values: Sequence[Any]) -> str:
    """`values` as a PostgreSQL array literal, for `CAST(:param AS type[])`: ints as they are,
    anything else double-quoted with backslash escapes (datetimes in ISO form), None as NULL.
    psycopg's list adapter runs a Python loop per element, most of the client time of a
    500-row `UPDATE … FROM unnest`; this is C-level joins and replaces."""
    if all(type(value) is int for value in values):
        return "{" + ",".join(map(str, values)) + "}"
    return "{" + ",".join(map(_element, values)) + "}"


def _element(value: Any) -> str:
    if value is None:
        return "NULL"
    text = value.isoformat() if isinstance(value, datetime) else str(value)
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def on_postgresql() -> bool:
    """Whether the session's database is PostgreSQL (else the embedded SQLite)."""
    return db.session.connection().dialect.name == "postgresql"


def lock_for_update(model: Any, row_id: int) -> Any:
    """`SELECT model WHERE id = row_id FOR UPDATE`, a lock both backends honour until the
    transaction ends: SQLite ignores FOR UPDATE, so there a no-op write of the row first takes
    the database's write lock. Execute the returned statement (None when the row is gone)."""
    if not on_postgresql():
        db.session.execute(
            update(model).where(model.id == row_id).values(updated_at=model.updated_at),
            execution_options={"synchronize_session": False},
        )
    return select(model).where(model.id == row_id).with_for_update()


def dialect_insert(table: Table) -> Any:
    """An INSERT construct with ON CONFLICT support for the session's database."""
    return (postgresql_insert if on_postgresql() else sqlite_insert)(table)


def insert_or_nothing(
    table: Table,
    values: Mapping[str, Any],
    *,
    conflict: Sequence[str],
    returning: str,
    conflict_where: str | None = None,
) -> Any:
    """INSERT one row unless it collides on the unique `conflict` columns (of a partial unique
    index when `conflict_where` is its predicate); the `returning` column of the new row, or
    None when it already existed (one statement, one round trip)."""
    where = text(conflict_where) if conflict_where else None
    statement = (
        dialect_insert(table).values(**values).on_conflict_do_nothing(index_elements=list(conflict), index_where=where)
    )
    return db.session.execute(statement.returning(table.c[returning])).scalar()


def id_in(column: Any, ids: Sequence[int]) -> Any:
    """`column IN ids` for a batch's ids: on PostgreSQL `= ANY(array)`, one parameter instead of
    500 (no per-parameter parsing and binding, one cached statement for every batch size)."""
    return _in_array(column, ids, BigInteger)


def text_in(column: Any, values: Sequence[str]) -> Any:
    """`column IN values` for a batch's strings (an import's 1,000 phone hashes): on PostgreSQL
    `= ANY(array)`, as `id_in`. The expanded IN list cost 11 ms a batch to bind, on an empty
    table."""
    return _in_array(column, values, Text)


def _in_array(column: Any, values: Sequence[Any], item_type: Any) -> Any:
    """`column = ANY(CAST(:array AS item_type[]))` on PostgreSQL, `column IN (...)` elsewhere."""
    if on_postgresql():
        return column == any_(cast(bindparam(None, pg_array(values), type_=Text), ARRAY(item_type)))
    return column.in_(list(values))
