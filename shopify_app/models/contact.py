"""Subscribers (contacts), their consent history, tags, and the suppression list.

PII (phone, email, names, birthday, consent IP) is stored only as AES-GCM ciphertext bound to
shop and column; phones and emails are found through keyed blind indexes (`*_hash`).
"""

from __future__ import annotations

import enum
from datetime import datetime
from decimal import Decimal

from sqlalchemy import (
    BigInteger,
    ForeignKey,
    Index,
    Numeric,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .sealed import Sealed, SealedName
from .types import BigIntFK, BigIntPK, UTCDateTime, str_enum, utcnow


class ConsentState(enum.StrEnum):
    PENDING = "pending"  # double opt-in sent, not confirmed
    SUBSCRIBED = "subscribed"
    UNSUBSCRIBED = "unsubscribed"


class ConsentSource(enum.StrEnum):
    PROXY_FORM = "proxy_form"
    ADMIN = "admin"
    IMPORT = "import"
    SHOPIFY = "shopify"
    KEYWORD = "keyword"
    CONFIRMATION_LINK = "confirmation_link"
    UNSUBSCRIBE_LINK = "unsubscribe_link"


class Contact(db.Model):  # type: ignore[name-defined,misc]
    __tablename__ = "contacts"
    __table_args__ = (
        UniqueConstraint("shop_id", "phone_hash", name="uq_contacts_shop_id_phone_hash"),
        Index("ix_contacts_shop_id_id", "shop_id", "id"),
        # Every column a segment filters on, and the id: counts are index-only (migrations 0024, 0028).
        Index(
            "ix_contacts_segment_filters",
            "shop_id",
            "consent_state",
            "order_count",
            "total_spent",
            "last_clicked_at",
            "last_messaged_at",
            "last_order_at",
            "created_at",
            "country_code",
            "id",
        ),
        Index("ix_contacts_shop_id_email_hash", "shop_id", "email_hash"),
        Index("ix_contacts_shop_id_created_at", "shop_id", "created_at"),
        Index("ix_contacts_shop_id_shopify_customer_id", "shop_id", "shopify_customer_id"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    shop_id: Mapped[int] = mapped_column(BigIntFK, ForeignKey("shops.id", ondelete="CASCADE"))
    phone_ciphertext: Mapped[str] = mapped_column(Text)
    phone_hash: Mapped[str] = mapped_column(String(64))
    email_ciphertext: Mapped[str | None] = mapped_column(Text)
    email_hash: Mapped[str | None] = mapped_column(String(64))
    first_name_ciphertext: Mapped[str | None] = mapped_column(Text)
    last_name_ciphertext: Mapped[str | None] = mapped_column(Text)
    birthday_ciphertext: Mapped[str | None] = mapped_column(Text)
    # Length and alphabet of each name in clear (not the name): a launch's segment estimate
    # renders the template with the longest name of the audience, found in one SQL query.
    first_name_len: Mapped[int] = mapped_column(SmallInteger, default=0)
    last_name_len: Mapped[int] = mapped_column(SmallInteger, default=0)
    names_ucs2: Mapped[bool] = mapped_column(default=False)
    # Month and day in clear: the birthday automation selects on them; alone they identify no one.
    birth_month: Mapped[int | None] = mapped_column(SmallInteger)
    birth_day: Mapped[int | None] = mapped_column(SmallInteger)
    country_code: Mapped[str | None] = mapped_column(String(2))
    timezone: Mapped[str | None] = mapped_column(String(64))
    consent_state: Mapped[ConsentState] = mapped_column(str_enum(ConsentState, 16), default=ConsentState.PENDING)
    consent_source: Mapped[ConsentSource | None] = mapped_column(str_enum(ConsentSource, 24))
    consented_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    unsubscribed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    shopify_customer_id: Mapped[int | None] = mapped_column(BigInteger)
    # Where the contact's SMS consent stands in Shopify (models/shopify_sync.py); NULL: never sent.
    shopify_sync: Mapped[str | None] = mapped_column(String(16))
    # Denormalised for segment queries; maintained by the order and click handlers.
    last_order_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    order_count: Mapped[int] = mapped_column(default=0)
    # Recomputed from the contact's `orders` rows (services/automations/order_facts.py), never
    # incremented: an order delivered twice or updated counts once. In the shop's currency.
    total_spent: Mapped[Decimal] = mapped_column(Numeric(14, 2), default=Decimal("0"), server_default="0")
    first_order_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_clicked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The newest text the provider accepted for the contact, rolled up from `messages` every few
    # minutes off the send path (services/campaigns/last_messaged.py): "received within N days".
    last_messaged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The newest of the contact's inbound texts the merchant has read (the inbox's unread marks).
    inbox_read_id: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    phone = Sealed()
    email = Sealed()
    first_name = SealedName()
    last_name = SealedName()
    birthday = Sealed()

    tags: Mapped[list[ContactTag]] = relationship(
        cascade="all, delete-orphan", passive_deletes=True, lazy="selectin", order_by="ContactTag.tag"
    )

    @property
    def tag_names(self) -> list[str]:
        return [tag.tag for tag in self.tags]


class ContactTag(db.Model):  # type: ignore[name-defined,misc]
    __tablename__ = "contact_tags"
    __table_args__ = (Index("ix_contact_tags_shop_id_tag_contact_id", "shop_id", "tag", "contact_id"),)

    contact_id: Mapped[int] = mapped_column(BigIntFK, ForeignKey("contacts.id", ondelete="CASCADE"), primary_key=True)
    tag: Mapped[str] = mapped_column(String(64), primary_key=True)
    shop_id: Mapped[int] = mapped_column(BigIntFK, ForeignKey("shops.id", ondelete="CASCADE"))


class ConsentEvent(db.Model):  # type: ignore[name-defined,misc]
    """Append-only: every consent change, with where it came from and what the shopper saw."""

    __tablename__ = "consent_events"
    __table_args__ = (
        Index("ix_consent_events_contact_id_id", "contact_id", "id"),
        Index("ix_consent_events_shop_id_state_occurred_at", "shop_id", "state", "occurred_at"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    shop_id: Mapped[int] = mapped_column(BigIntFK, ForeignKey("shops.id", ondelete="CASCADE"), index=True)
    contact_id: Mapped[int] = mapped_column(BigIntFK, ForeignKey("contacts.id", ondelete="CASCADE"))
    state: Mapped[ConsentState] = mapped_column(str_enum(ConsentState, 16))
    source: Mapped[ConsentSource] = mapped_column(str_enum(ConsentSource, 24))
    consent_text: Mapped[str | None] = mapped_column(Text)
    ip_ciphertext: Mapped[str | None] = mapped_column(Text)
    user_agent: Mapped[str | None] = mapped_column(String(512))
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    ip = Sealed()


class Suppression(db.Model):  # type: ignore[name-defined,misc]
    """Numbers that opted out and were deleted: only the keyed hash stays, so a re-import
    never messages them again without new consent."""

    __tablename__ = "suppressions"
    __table_args__ = (UniqueConstraint("shop_id", "phone_hash", name="uq_suppressions_shop_id_phone_hash"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    shop_id: Mapped[int] = mapped_column(BigIntFK, ForeignKey("shops.id", ondelete="CASCADE"))
    phone_hash: Mapped[str] = mapped_column(String(64))
    reason: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
