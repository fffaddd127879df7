"""Recording Shopify webhook deliveries exactly once, and processing them in a job."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import structlog
from sqlalchemy import bindparam, select, text
from sqlalchemy.dialects import postgresql

from ...extensions import db
from ...inputs import hostile_reason, is_bad_input_error
from ...metrics import WEBHOOKS
from ...models import Shop, WebhookEvent, WebhookStatus
from ...models.types import utcnow
from ...security.crypto import aad_for, keyring
from ...tenancy import PRIVILEGED, admin_engine, current_scope, side_transaction
from ..campaigns import report_cache
from . import webhook_handlers  # noqa: F401  (registers the topic handlers)
from .topics import HANDLERS

log = structlog.get_logger(__name__)

MAX_ATTEMPTS = 5
PAYLOAD_AAD_COLUMN = "payload_ciphertext"


class InvalidPayload(ValueError):
    """The payload holds what no column can (a NUL, a lone surrogate, a number past 64 bits)."""


@dataclass(frozen=True)
class Recorded:
    event_id: int
    created: bool


def record_event(
    *, shop_domain: str, topic: str, webhook_id: str, event_id: str | None, api_version: str | None, body: bytes
) -> Recorded:
    """Insert the delivery keyed by its webhook id, in one statement and one round trip:
    `INSERT … ON CONFLICT (webhook_id) DO NOTHING RETURNING id`, then COMMIT. A replay, even
    one racing the first delivery, inserts nothing and finds the first. The statement is
    compiled once (`_INSERT`)."""
    values = {
        "shop_domain": shop_domain,
        "topic": topic,
        "webhook_id": webhook_id,
        "event_id": event_id,
        "api_version": api_version,
        "received_at": utcnow(),
        "status": WebhookStatus.RECEIVED.value,
        # Bound to the webhook id, so a payload copied onto another event fails to decrypt.
        "payload_ciphertext": keyring().encrypt(body.decode("utf-8"), aad=payload_aad(webhook_id)),
    }
    inserted = _insert(values)
    if inserted is not None:
        return Recorded(event_id=int(inserted), created=True)
    existing = db.session.scalar(select(WebhookEvent.id).where(WebhookEvent.webhook_id == webhook_id))
    if existing is None:  # the first delivery's row was deleted meanwhile: record this one
        return record_event(
            shop_domain=shop_domain,
            topic=topic,
            webhook_id=webhook_id,
            event_id=event_id,
            api_version=api_version,
            body=body,
        )
    log.info("webhook_replayed", topic=topic, webhook_event_id=existing)
    return Recorded(event_id=int(existing), created=False)


# SQLAlchemy compiles a dialect INSERT … ON CONFLICT anew on every execution (its
# `inherit_cache = False`: ~1 ms of CPU here); the same statement as text() compiles once. Its
# binds carry the columns' types, so datetimes and text are processed as the ORM would.
_COLUMNS = ("shop_domain", "topic", "webhook_id", "event_id", "api_version", "received_at", "payload_ciphertext")
_INSERT = text(
    "INSERT INTO webhook_events (shop_id, status, attempts, shop_domain, topic, webhook_id, event_id,"
    " api_version, received_at, payload_ciphertext)"
    " VALUES ((SELECT id FROM shops WHERE domain = :shop_domain), :status, 0, :shop_domain, :topic,"
    " :webhook_id, :event_id, :api_version, :received_at, :payload_ciphertext)"
    " ON CONFLICT (webhook_id) DO NOTHING RETURNING id"
).bindparams(*(bindparam(name, type_=WebhookEvent.__table__.c[name].type) for name in _COLUMNS))


_INSERT_PSYCOPG = str(_INSERT.compile(dialect=postgresql.dialect()))  # the same text, %(name)s binds


def _insert(values: dict[str, Any]) -> int | None:
    """The new row's id, or None for a replay; its own short transaction beside the session.
    Privileged on PostgreSQL (every webhook request) there is no shop setting to apply, and
    the statement goes straight to the driver on a pooled connection: ~95 µs of CPU less than
    through SQLAlchemy's Connection (bench/README.md)."""
    # The engine a privileged session would use, chosen without making the request a session.
    engine = admin_engine() if current_scope() is PRIVILEGED else None
    if engine is None or engine.dialect.name != "postgresql":
        with side_transaction() as connection:
            return connection.execute(_INSERT, values).scalar()
    connection = engine.raw_connection()
    try:
        cursor = connection.cursor()
        cursor.execute(_INSERT_PSYCOPG, values)
        row = cursor.fetchone()
        connection.commit()
    finally:
        connection.close()  # back to the pool
    return None if row is None else int(row[0])


def payload_aad(webhook_id: str) -> str:
    return aad_for(table="webhook_events", column=PAYLOAD_AAD_COLUMN, shop_id=None) + f":webhook={webhook_id}"


def process_event(*, event_id: int) -> str:
    """Run the topic's handler once; safe to call again for a processed event (no-op)."""
    event = db.session.get(WebhookEvent, event_id, with_for_update=True)
    if event is None or event.status != WebhookStatus.RECEIVED:
        db.session.rollback()
        return "skipped"
    handler = HANDLERS.get(event.topic)
    try:
        if handler is not None:
            payload = _decrypt_payload(event)
            if reason := hostile_reason(payload):
                raise InvalidPayload(reason)
            shop = db.session.get(Shop, event.shop_id) if event.shop_id else None
            handler(shop=shop, payload=payload, event=event)
        _mark(event, WebhookStatus.PROCESSED)
    except Exception as exc:
        db.session.rollback()
        # Bad input fails the same way every time: failed at once, not retried for hours.
        bad_input = is_bad_input_error(exc) or isinstance(exc, InvalidPayload)
        _record_failure(event_id, exc, final=bad_input)
        WEBHOOKS.labels(event.topic if handler else "other", "failed").inc()
        if bad_input:
            return "failed (invalid payload)"
        raise
    WEBHOOKS.labels(event.topic if handler else "other", "processed").inc()
    if event.shop_id is not None and event.topic.startswith(("orders/", "customers")):
        report_cache.invalidate(event.shop_id)  # after the commit: orders and opt-outs change reports
    outcome = "processed" if handler is not None else "acknowledged (no handler for topic)"
    log.info("webhook_processed", topic=event.topic, webhook_event_id=event_id, outcome=outcome)
    return outcome


def _decrypt_payload(event: WebhookEvent) -> dict[str, Any]:
    if event.payload_ciphertext is None:
        return {}
    return dict(json.loads(keyring().decrypt(event.payload_ciphertext, aad=payload_aad(event.webhook_id))))


def _mark(event: WebhookEvent, status: WebhookStatus) -> None:
    event.status = status
    event.processed_at = utcnow()
    event.attempts += 1
    event.payload_ciphertext = None  # PII is not kept once the work is done
    db.session.commit()


def _record_failure(event_id: int, exc: Exception, *, final: bool = False) -> None:
    event = db.session.get(WebhookEvent, event_id)
    if event is None:
        return
    event.attempts += 1
    event.error = type(exc).__name__  # the class only: messages can carry payload values
    if final or event.attempts >= MAX_ATTEMPTS:
        event.status = WebhookStatus.FAILED
    db.session.commit()
    log.warning("webhook_failed", topic=event.topic, webhook_event_id=event_id, attempts=event.attempts)


def unprocessed_event_ids(*, older_than: timedelta, now: datetime | None = None, limit: int = 500) -> list[int]:
    """Events recorded but never processed (a crash or Redis outage between record and enqueue)."""
    cutoff = (now or utcnow()) - older_than
    query = (
        select(WebhookEvent.id)
        .where(WebhookEvent.status == WebhookStatus.RECEIVED, WebhookEvent.received_at < cutoff)
        .order_by(WebhookEvent.id)
        .limit(limit)
    )
    return list(db.session.scalars(query))
