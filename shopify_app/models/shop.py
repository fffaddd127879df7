"""A Shopify store that installed the app."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from .sealed import Sealed
from .types import BigIntPK, UTCDateTime, utcnow


class Shop(db.Model):  # type: ignore[name-defined,misc]
    __tablename__ = "shops"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    domain: Mapped[str] = mapped_column(String(255), unique=True)
    name: Mapped[str | None] = mapped_column(String(255))
    email_ciphertext: Mapped[str | None] = mapped_column(Text)
    country_code: Mapped[str | None] = mapped_column(String(2))
    currency: Mapped[str | None] = mapped_column(String(3))
    timezone: Mapped[str | None] = mapped_column(String(64))
    plan: Mapped[str | None] = mapped_column(String(64))
    scopes: Mapped[str | None] = mapped_column(Text)
    # Offline token pair, stored only as AES-GCM ciphertext (security/crypto.py).
    access_token_ciphertext: Mapped[str | None] = mapped_column(Text)
    access_token_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    refresh_token_ciphertext: Mapped[str | None] = mapped_column(Text)
    refresh_token_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    needs_reauth: Mapped[bool] = mapped_column(default=False)
    subscription_id: Mapped[str | None] = mapped_column(String(255))
    subscription_name: Mapped[str | None] = mapped_column(String(255))
    subscription_status: Mapped[str | None] = mapped_column(String(32))
    # When the current subscription became ACTIVE: its billing cycles (plan credits) count from here.
    subscription_activated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The usage line item of the subscription: overage is charged against it (appUsageRecordCreate).
    subscription_usage_line_item_id: Mapped[str | None] = mapped_column(String(255))
    installed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    uninstalled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    settings: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    email = Sealed()
    access_token = Sealed()
    refresh_token = Sealed()
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    @property
    def is_installed(self) -> bool:
        return self.installed_at is not None and self.uninstalled_at is None

    def __repr__(self) -> str:
        return f"<Shop {self.id} {self.domain}>"
