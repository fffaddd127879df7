"""Stale-connection handling for the PostgreSQL pools: ping a connection on checkout only when
it has sat idle in the pool for a while.

`pool_pre_ping` pings on every checkout, and a job checks out a connection per transaction
(three or four per campaign batch): a round trip each, ~70 µs of the worker's CPU and more of
its wall time, for connections that were in use a millisecond earlier. A connection back from
the pool within `PING_AFTER_IDLE` seconds is used as is; an older one is pinged first and, if
the server is gone (restarted, idle connection killed), replaced: SQLAlchemy's documented
pessimistic-disconnect recipe (raise DisconnectionError in `checkout`; the pool retries with a
new connection). A connection that dies within the window fails its statement, which the pool
then invalidates, as a ping that failed would have.
"""

from __future__ import annotations

import time
import weakref
from typing import Any

from sqlalchemy import Engine, event
from sqlalchemy.exc import DisconnectionError

PING_AFTER_IDLE = 10.0  # seconds
_IDLE_SINCE = "smsb_idle_since"
_installed: weakref.WeakSet[Engine] = weakref.WeakSet()


def ping_when_idle(engine: Engine, *, after: float = PING_AFTER_IDLE) -> None:
    """Install the checkout ping on `engine`'s pool (once per engine)."""
    if engine in _installed:
        return
    _installed.add(engine)
    dialect = engine.dialect

    def checkout(dbapi_connection: Any, record: Any, proxy: Any) -> None:
        idle_since = record.info.pop(_IDLE_SINCE, None)
        if idle_since is None or time.monotonic() - idle_since < after:
            return  # new, or back from a use a moment ago
        try:
            dialect.do_ping(dbapi_connection)
        except dialect.loaded_dbapi.Error as exc:
            raise DisconnectionError("connection lost while idle in the pool") from exc

    event.listen(engine, "checkin", _checkin)
    event.listen(engine, "checkout", checkout)


def _checkin(dbapi_connection: Any, record: Any) -> None:
    if record is not None:
        record.info[_IDLE_SINCE] = time.monotonic()
