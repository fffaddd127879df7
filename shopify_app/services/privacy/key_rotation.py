"""Re-encrypt every sealed column to the newest key (`flask rotate-keys`).

Run after putting the new key first in ENCRYPTION_KEYS (old keys stay listed, so reads keep
working throughout: no downtime). Rows are found by their ciphertext prefix (`v1.<kid>.`),
walked in primary-key order in batches, and each one is updated only if it still holds the
ciphertext we read, so a concurrent write is never overwritten. Re-running resumes: rows
already on the newest key no longer match.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import structlog
from sqlalchemy import and_, select, tuple_, update

from ...extensions import db
from ...models import TransferChunk, WebhookEvent
from ...models.sealed import Sealed, sealed_attributes
from ...security.crypto import aad_for, keyring
from ..contacts.transfers import chunk_aad
from ..webhooks.webhook_intake import payload_aad

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class SealedColumn:
    model: Any
    column: str
    aad: Callable[[Any], str]

    @property
    def name(self) -> str:
        return f"{self.model.__tablename__}.{self.column}"


def _descriptor_column(model: Any, sealed: Sealed) -> SealedColumn:
    return SealedColumn(model, sealed.column, sealed.aad)


def _sealed_models() -> list[Any]:
    """Every model with a `Sealed` attribute, from the registry: a sealed column added later is
    rotated without anyone remembering to list it here."""
    models = [mapper.class_ for mapper in db.Model.registry.mappers]
    return sorted((m for m in models if sealed_attributes(m)), key=lambda m: m.__tablename__)


SEALED_COLUMNS: tuple[SealedColumn, ...] = (
    *(_descriptor_column(model, sealed) for model in _sealed_models() for sealed in sealed_attributes(model)),
    SealedColumn(WebhookEvent, "payload_ciphertext", lambda row: payload_aad(row.webhook_id)),
    SealedColumn(
        TransferChunk, "ciphertext", lambda row: aad_for(**chunk_aad(transfer_id=row.transfer_id, shop_id=row.shop_id))
    ),
)


def rotate_column(sealed: SealedColumn, *, batch_size: int = 500) -> int:
    """Re-encrypt the column's rows that are not on the current key; returns how many."""
    ring = keyring()
    current_prefix = f"v1.{ring.current_kid}."
    column = getattr(sealed.model, sealed.column)
    primary_key = list(sealed.model.__table__.primary_key.columns)
    key_columns = [getattr(sealed.model, col.key) for col in primary_key]
    rotated = 0
    last: tuple[Any, ...] | None = None
    while True:
        query = select(sealed.model).where(column.is_not(None), ~column.startswith(current_prefix, autoescape=True))
        if last is not None:
            query = query.where(tuple_(*key_columns) > tuple_(*last))
        rows = list(db.session.scalars(query.order_by(*key_columns).limit(batch_size)))
        if not rows:
            break
        for row in rows:
            old = getattr(row, sealed.column)
            new = ring.reencrypt(old, aad=sealed.aad(row))
            key_match = and_(*(col == getattr(row, col.key) for col in key_columns))
            db.session.execute(
                update(sealed.model).where(key_match, column == old).values({sealed.column: new}),
                execution_options={"synchronize_session": False},
            )
            rotated += 1
        last = tuple(getattr(rows[-1], col.key) for col in key_columns)
        db.session.commit()
        db.session.expire_all()
    log.info("key_rotation_column_done", column=sealed.name, rotated=rotated)
    return rotated


def rotate_all(*, batch_size: int = 500) -> dict[str, int]:
    return {sealed.name: rotate_column(sealed, batch_size=batch_size) for sealed in SEALED_COLUMNS}
