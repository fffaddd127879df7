"""Extension singletons, bound to an app in `init_extensions`.

Redis: `REDIS_URL` when set; otherwise an in-process fakeredis (with Lua) private to the app.
Queues: one RQ queue per name in `QUEUE_NAMES`; without Redis they are synchronous
(`is_async=False`): a job runs inside the request that enqueued it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, cast

import fakeredis
import redis
from flask import Flask, current_app
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from rq import Queue
from sqlalchemy import MetaData
from sqlalchemy.orm import DeclarativeBase

from .config import PROJECT_ROOT, QUEUE_NAMES
from .dbpool import ping_when_idle
from .foreign_keys import enforce_on_sqlite
from .session_scope import ScopedSession

# Named constraints so Alembic (and SQLite batch mode) can alter and drop them reliably.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


# Sessions route each statement by tenancy scope: the admin engine while privileged.
db = SQLAlchemy(model_class=Base, session_options={"class_": ScopedSession})
migrate = Migrate(render_as_batch=True, compare_type=True)


class RedisExtension:
    """Holds the app's Redis client and queues in `app.extensions`, so apps never share them."""

    key = "sms_blossom_redis"

    def init_app(self, app: Flask) -> None:
        url = app.config["REDIS_URL"]
        if url:
            client: redis.Redis = redis.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=2)
        else:
            client = fakeredis.FakeRedis(server=fakeredis.FakeServer())
        is_async = bool(app.config["QUEUE_ASYNC"])
        queues = {name: Queue(name, connection=client, is_async=is_async) for name in QUEUE_NAMES}
        app.extensions[self.key] = {"client": client, "queues": queues}

    def _state(self, app: Flask | None = None) -> dict[str, Any]:
        app = app or cast(Flask, current_app)
        return cast(dict[str, Any], app.extensions[self.key])

    def client(self, app: Flask | None = None) -> redis.Redis:
        return cast(redis.Redis, self._state(app)["client"])

    def queue(self, name: str, app: Flask | None = None) -> Queue:
        try:
            return cast(Queue, self._state(app)["queues"][name])
        except KeyError:
            raise ValueError(f"unknown queue {name!r}; known: {', '.join(QUEUE_NAMES)}") from None

    def queues(self, app: Flask | None = None) -> list[Queue]:
        return list(self._state(app)["queues"].values())


redis_ext = RedisExtension()


SMS_KEY = "sms_blossom_sms"


def init_sms_backend(app: Flask, build: Callable[[Mapping[str, Any]], Any]) -> None:
    """How the app's SMS backend is built (clients/sms.py `build_backend`, handed in by
    create_app so that this module, below the clients, does not import them)."""
    app.extensions[SMS_KEY] = {"build": build}


def sms_backend(app: Flask | None = None) -> Any:
    """The app's SMS backend (`SMS_BACKEND`), built once per app so `memory` keeps its log."""
    app = app or cast(Flask, current_app)
    state = app.extensions[SMS_KEY]
    if "backend" not in state:
        state["backend"] = state["build"](app.config)
    return state["backend"]


def init_extensions(app: Flask) -> None:
    db.init_app(app)
    with app.app_context():
        for engine in db.engines.values():
            if engine.dialect.name == "postgresql":
                ping_when_idle(engine)
            enforce_on_sqlite(engine)
    migrate.init_app(app, db, directory=str(app.config.get("MIGRATIONS_DIR", _migrations_dir())))
    redis_ext.init_app(app)


def _migrations_dir() -> str:
    return str(PROJECT_ROOT / "migrations")
