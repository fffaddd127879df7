"""Which shop's rows the current code may see: the second wall behind every `shop_id` filter.

On PostgreSQL every shop-scoped table has row-level security (migration 0010): a row is
visible, and may be written, only when its `shop_id` equals the transaction's `app.shop_id`
setting; with the setting unset nothing is visible, never an error. The app connects as a
role subject to those policies (`DATABASE_URL`); the owner role (`DATABASE_ADMIN_URL`, which
must bypass RLS: superuser, or `BYPASSRLS`) runs migrations and the work that is cross-shop by
nature.

The scope lives in a context variable and takes one of three values:

- a shop id: statements go to the application role with `SET LOCAL app.shop_id = <id>`;
- `None`: the application role with the setting unset, so shop tables look empty;
- `PRIVILEGED`: statements go to the admin engine (or the only engine, without an admin URL).

Requests start unscoped (`None`) unless their blueprint is cross-shop by nature (webhooks,
delivery reports, short links, operator routes), then narrow to the shop they authenticate
(`/api`, the app proxy). Jobs run in the scope that enqueued them (carried in the RQ job's
meta), except the periodic cross-shop ones, which are privileged. CLI commands and the
scheduler are privileged (the context variable's default).

SQLite, the embedded single-shop-at-a-time default, has no row-level security: the scope
still routes (there is one engine) and the application's own `shop_id` filters are the only wall.

The variable and the session class that routes by it are session_scope.py (extensions.db is
built with that class, so they sit below it); this module re-exports them.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import Token
from typing import Any

import structlog
from flask import Flask, g, has_app_context, request
from psycopg.pq import TransactionStatus
from sqlalchemy import Connection, Engine, event, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, SessionTransaction

from .extensions import db
from .session_scope import (
    ADMIN_BIND,
    PRIVILEGED,
    Scope,
    ScopedSession,
    current_scope,
    enter,
    leave,
    set_process_default,
)

__all__ = [
    "ADMIN_BIND",
    "PRIVILEGED",
    "PRIVILEGED_BLUEPRINTS",
    "Scope",
    "ScopedSession",
    "admin_engine",
    "current_scope",
    "decode",
    "encode",
    "enter_shop",
    "grant_app_role",
    "init_tenancy",
    "privileged",
    "reset_scope",
    "set_process_default",
    "set_scope",
    "shop_scope",
    "side_transaction",
]

log = structlog.get_logger(__name__)
SETTING = "app.shop_id"
_SET = text(f"SELECT set_config('{SETTING}', :value, true)")


def set_scope(scope: Scope) -> Token[Scope]:
    """Switch the scope (and the open transaction's setting); `reset_scope(token)` undoes it."""
    token = enter(scope)
    _apply_to_open_transaction()
    return token


def reset_scope(token: Token[Scope]) -> None:
    leave(token)
    _apply_to_open_transaction()


@contextmanager
def shop_scope(shop_id: int | None) -> Iterator[None]:
    token = set_scope(shop_id)
    try:
        yield
    finally:
        reset_scope(token)


@contextmanager
def privileged() -> Iterator[None]:
    token = set_scope(PRIVILEGED)
    try:
        yield
    finally:
        reset_scope(token)


def encode(scope: Scope) -> str | int | None:
    """The scope as JSON-able job meta."""
    return "privileged" if scope is PRIVILEGED else scope


def decode(raw: Any) -> Scope:
    if raw == "privileged":
        return PRIVILEGED
    return int(raw) if raw is not None else None


def _setting_value() -> str:
    scope = current_scope()
    return str(scope) if isinstance(scope, int) else ""


def _is_app_postgres(connection: Connection, app_engine: Engine | None) -> bool:
    return connection.dialect.name == "postgresql" and (app_engine is None or connection.engine is app_engine)


def _app_engine() -> Engine | None:
    try:
        return db.engines[None]
    except RuntimeError:  # no app context
        return None


def _after_begin(session: Session, transaction: SessionTransaction, connection: Connection) -> None:
    _set_scope_setting(connection)


def _set_scope_setting(connection: Connection) -> None:
    """A new transaction on the app's PostgreSQL engine gets the current scope's setting. An
    empty one (no shop: unscoped or privileged) is what every transaction starts with, since
    the setting is only ever set transaction-locally: no round trip for it."""
    value = _setting_value()
    if value and _is_app_postgres(connection, _app_engine()):
        connection.execute(_SET, {"value": value})


def _apply_to_open_transaction() -> None:
    """A scope change inside a transaction: update the setting of the app connection it holds."""
    if not has_app_context() or not db.session.registry.has():
        return  # no session yet in this context, so no transaction to update
    session = db.session()
    transaction = session.get_transaction()
    engine = _app_engine()
    if transaction is None or engine is None or engine.dialect.name != "postgresql":
        return
    held = transaction._connections.get(engine)
    if held is None:
        return
    connection: Connection = held[0]
    try:
        if connection.connection.driver_connection.info.transaction_status != TransactionStatus.INTRANS:
            return  # failed or lost (leaving a scope because of an error): the rollback ends it all
        connection.execute(_SET, {"value": _setting_value()})
    except DBAPIError:  # a broken connection: the error that broke it is the one to report
        log.warning("scope_setting_not_applied")


# Blueprints whose requests are cross-shop by nature: Shopify webhooks (keyed by a signed shop
# domain, also for shops not or no longer installed), OAuth install, the admin's first load
# (token exchange installs the shop; the other shells read nothing) and the development admin's
# token endpoint (it looks the demo shop up by domain), Mitto's
# delivery reports and inbound texts (matched to shops by message id and number), short links
# (a code names its shop), operator routes and health checks. Every other request starts
# unscoped and narrows to the shop it authenticates.
PRIVILEGED_BLUEPRINTS = frozenset(
    {"webhooks", "auth", "admin", "admin_dev", "mitto", "links", "media", "ops", "health"}
)
_REQUEST_SCOPE_KEY = "_tenancy_scope_token"


def _scope_request() -> None:
    scope: Scope = PRIVILEGED if request.blueprint in PRIVILEGED_BLUEPRINTS else None
    setattr(g, _REQUEST_SCOPE_KEY, set_scope(scope))


def enter_shop(shop_id: int | None) -> None:
    """Narrow the current request to one shop (after authenticating it); undone at teardown."""
    enter(shop_id)
    _apply_to_open_transaction()


def _unscope_request(_exc: BaseException | None) -> None:
    """End the request's transaction with its scope: what it did not commit (a validation error
    after changing a row) never reaches a later transaction under another scope."""
    if db.session.registry.has():
        db.session.rollback()
    token = g.pop(_REQUEST_SCOPE_KEY, None)
    if token is not None:
        leave(token)


def init_tenancy(app: Flask) -> None:
    if not event.contains(Session, "after_begin", _after_begin):  # class-level: once per process
        event.listen(Session, "after_begin", _after_begin)
    app.before_request_funcs.setdefault(None, []).insert(0, _scope_request)
    app.teardown_request(_unscope_request)


@contextmanager
def side_transaction() -> Iterator[Connection]:
    """A transaction of its own beside the session's, in the current scope (its engine, and on
    the app role its `app.shop_id`), committed when the block ends: for what must be durable
    while the session's transaction stays open and keeps its locks."""
    with db.session.get_bind().begin() as connection:
        _set_scope_setting(connection)
        yield connection


def admin_engine() -> Engine:
    """The engine for migrations and cross-shop maintenance: the admin one when configured."""
    return db.engines.get(ADMIN_BIND) or db.engines[None]


def grant_app_role(connection: Connection, app_engine: Engine) -> str | None:
    """Give the application role (DATABASE_URL's user) what it needs on every table and
    sequence, when it is not the role migrating. Idempotent; runs after each `db upgrade`.
    Never TRUNCATE: it ignores row-level security."""
    role = app_engine.url.username
    if connection.dialect.name != "postgresql" or not role:
        return None
    if role == connection.execute(text("SELECT current_user")).scalar():
        return None
    quoted = connection.dialect.identifier_preparer.quote(role)
    schema = connection.dialect.identifier_preparer.quote(connection.execute(text("SELECT current_schema()")).scalar())
    connection.execute(text(f"GRANT USAGE ON SCHEMA {schema} TO {quoted}"))
    connection.execute(text(f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA {schema} TO {quoted}"))
    connection.execute(text(f"GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA {schema} TO {quoted}"))
    return role
