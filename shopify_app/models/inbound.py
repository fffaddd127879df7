"""Texts shoppers send to a shop's number: keywords act, everything is kept (sealed) for the inbox."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy import text as sql_text
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from .sealed import Sealed
from .types import BigIntFK, BigIntPK, UTCDateTime, utcnow


class InboundMessage(db.Model):  # type: ignore[name-defined,misc]
    __tablename__ = "inbound_messages"
    __table_args__ = (
        UniqueConstraint("provider_message_id", name="uq_inbound_messages_provider_message_id"),
        Index("ix_inbound_messages_shop_id_contact_id_id", "shop_id", "contact_id", "id"),
        Index(
            "ix_inbound_messages_reply_message_id",
            "reply_message_id",
            postgresql_where=sql_text("reply_message_id IS NOT NULL"),
            sqlite_where=sql_text("reply_message_id IS NOT NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    shop_id: Mapped[int | None] = mapped_column(BigIntFK, ForeignKey("shops.id", ondelete="CASCADE"))
    contact_id: Mapped[int | None] = mapped_column(BigIntFK, ForeignKey("contacts.id", ondelete="SET NULL"))
    provider_message_id: Mapped[str | None] = mapped_column(String(64))
    phone_hash: Mapped[str | None] = mapped_column(String(64))  # of the sender, per shop
    text_ciphertext: Mapped[str | None] = mapped_column(Text)
    sender_ciphertext: Mapped[str | None] = mapped_column(Text)
    keyword: Mapped[str | None] = mapped_column(String(16))  # stop, start, help, confirm, join
    outcome: Mapped[str | None] = mapped_column(String(32))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    processed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The answer to a sender who is no contact (a HELP from a stranger): a message row with no
    # contact, whose number the send path reads from here (services/contacts/keyword_recipients.py).
    reply_message_id: Mapped[int | None] = mapped_column(BigInteger)

    text = Sealed()
    sender = Sealed()  # E.164, so a job can reply without a phone number in its arguments
