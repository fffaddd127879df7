"""The scope of the code running (a shop id, None, or PRIVILEGED) and the session class that
routes statements by it.

The lowest part of tenancy (tenancy.py explains the scopes): `extensions.db` is built with
`ScopedSession`, so this module may import neither `extensions` nor `tenancy`; tenancy.py
re-exports these names and holds everything that needs the database.
"""

from __future__ import annotations

from contextvars import ContextVar, Token
from typing import Any, Final

from flask_sqlalchemy.session import Session as FlaskSession


class _Privileged:
    def __repr__(self) -> str:
        return "PRIVILEGED"


PRIVILEGED: Final = _Privileged()
Scope = int | None | _Privileged

ADMIN_BIND = "admin"

# Requests and jobs set their scope explicitly. Code with none around it gets the process
# default: PRIVILEGED for CLI commands, workers and tests' own set-up; web processes (wsgi.py,
# `flask serve`) switch it to None at start, so anything running outside a request there (a
# streamed body, a thread) fails closed; their scheduler thread says PRIVILEGED itself.
_scope: ContextVar[Scope] = ContextVar("db_scope")
_process_default: list[Scope] = [PRIVILEGED]


def current_scope() -> Scope:
    return _scope.get(_process_default[0])


def set_process_default(scope: Scope) -> None:
    _process_default[0] = scope


def enter(scope: Scope) -> Token[Scope]:
    """Set the scope variable only (tenancy.set_scope also updates the open transaction)."""
    return _scope.set(scope)


def leave(token: Token[Scope]) -> None:
    _scope.reset(token)


class ScopedSession(FlaskSession):
    """`db.session`: statements go to the admin engine while privileged, else to the app's."""

    def get_bind(self, mapper: Any = None, clause: Any = None, bind: Any = None, **kwargs: Any) -> Any:
        if bind is None and current_scope() is PRIVILEGED:
            admin = self._db.engines.get(ADMIN_BIND)
            if admin is not None:
                return admin
        return super().get_bind(mapper=mapper, clause=clause, bind=bind, **kwargs)
