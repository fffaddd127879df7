"""GDPR requests answered for Shopify's compliance webhooks, and the audit log."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from .sealed import Sealed
from .types import BigIntFK, BigIntPK, UTCDateTime, str_enum, utcnow


class PrivacyRequestKind(enum.StrEnum):
    DATA_REQUEST = "data_request"
    CUSTOMER_REDACT = "customer_redact"
    MERCHANT_EXPORT = "merchant_export"  # asked for in the admin; downloadable once
    MERCHANT_ERASURE = "merchant_erasure"


class PrivacyRequest(db.Model):  # type: ignore[name-defined,misc]
    __tablename__ = "privacy_requests"
    __table_args__ = (Index("ix_privacy_requests_shop_id_id", "shop_id", "id"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    shop_id: Mapped[int] = mapped_column(BigIntFK, ForeignKey("shops.id", ondelete="CASCADE"))
    kind: Mapped[PrivacyRequestKind] = mapped_column(str_enum(PrivacyRequestKind, 24))
    shopify_request_id: Mapped[str | None] = mapped_column(String(64))
    # Kept only on data requests, so a later redaction can delete the export it produced.
    shopify_customer_id: Mapped[int | None] = mapped_column(BigInteger)
    summary: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # counts only, no PII
    export_ciphertext: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    export = Sealed()


class AuditLog(db.Model):  # type: ignore[name-defined,misc]
    """Append-only record of who did what; details hold ids and counts, never PII."""

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_shop_id_id", "shop_id", "id"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    shop_id: Mapped[int | None] = mapped_column(BigIntFK, ForeignKey("shops.id", ondelete="SET NULL"))
    actor: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(64))
    target_type: Mapped[str | None] = mapped_column(String(64))
    target_id: Mapped[str | None] = mapped_column(String(64))
    request_id: Mapped[str | None] = mapped_column(String(128))
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
