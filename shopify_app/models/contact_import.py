"""CSV imports and exports of contacts: progress rows plus the file, encrypted, in chunks.

The uploaded file is kept in the database (AES-GCM, ~1 MB chunks) rather than on a local disk,
so any worker machine can process it and no plaintext PII touches a filesystem.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from .sealed import Sealed
from .types import BigIntFK, BigIntPK, UTCDateTime, str_enum, utcnow


class TransferKind(enum.StrEnum):
    IMPORT = "import"
    EXPORT = "export"
    SHOPIFY_IMPORT = "shopify_import"  # Shopify's SMS subscribers, by bulk operation (services/shopify_import.py)


class TransferStatus(enum.StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"


# One Shopify import at a time per shop: a second start finds the first (the index settles a race).
ONE_SHOPIFY_IMPORT = "kind = 'shopify_import' AND status IN ('queued', 'running')"


class ContactTransfer(db.Model):  # type: ignore[name-defined,misc]
    __tablename__ = "contact_transfers"
    __table_args__ = (
        Index(
            "uq_contact_transfers_shop_id_shopify_import",
            "shop_id",
            unique=True,
            postgresql_where=text(ONE_SHOPIFY_IMPORT),
            sqlite_where=text(ONE_SHOPIFY_IMPORT),
        ),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    shop_id: Mapped[int] = mapped_column(BigIntFK, ForeignKey("shops.id", ondelete="CASCADE"), index=True)
    kind: Mapped[TransferKind] = mapped_column(str_enum(TransferKind, 16))
    status: Mapped[TransferStatus] = mapped_column(
        str_enum(TransferStatus, 16),
        default=TransferStatus.QUEUED,
    )
    filename: Mapped[str | None] = mapped_column(String(255))
    total_rows: Mapped[int] = mapped_column(default=0)
    processed_rows: Mapped[int] = mapped_column(default=0)
    created_count: Mapped[int] = mapped_column(default=0)
    updated_count: Mapped[int] = mapped_column(default=0)
    error_count: Mapped[int] = mapped_column(default=0)
    errors: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)  # first 1,000 row errors
    failure: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # An export's filter as the merchant sent it (JSON; `phone` is PII), read by the job so
    # Redis never holds it; cleared once the export is done.
    filters_ciphertext: Mapped[str | None] = mapped_column(Text)
    # A Shopify import's bulk operation (gid://shopify/BulkOperation/...), polled until it ends.
    bulk_operation_id: Mapped[str | None] = mapped_column(String(255))

    filters = Sealed()


class TransferChunk(db.Model):  # type: ignore[name-defined,misc]
    __tablename__ = "contact_transfer_chunks"

    transfer_id: Mapped[int] = mapped_column(
        BigIntFK, ForeignKey("contact_transfers.id", ondelete="CASCADE"), primary_key=True
    )
    seq: Mapped[int] = mapped_column(primary_key=True)
    shop_id: Mapped[int] = mapped_column(BigIntFK, ForeignKey("shops.id", ondelete="CASCADE"))
    ciphertext: Mapped[str] = mapped_column(Text)


class ImportSeenNumber(db.Model):  # type: ignore[name-defined,misc]
    """A phone number (its keyed hash) an import has met so far in its file: how a later row
    with the same number is told from one that is already a contact, without holding the
    whole file's numbers in the job's memory. Deleted when the import ends; UNLOGGED on
    PostgreSQL (migration 0025): a crash loses only what a resumed run rebuilds."""

    __tablename__ = "import_seen_numbers"

    transfer_id: Mapped[int] = mapped_column(
        BigIntFK, ForeignKey("contact_transfers.id", ondelete="CASCADE"), primary_key=True
    )
    phone_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    shop_id: Mapped[int] = mapped_column(BigIntFK, ForeignKey("shops.id", ondelete="CASCADE"))
