"""Templates, campaigns, one message row per recipient, and the credit ledger."""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Date,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from .types import BigIntFK, BigIntPK, UTCDateTime, str_enum, utcnow


class Template(db.Model):  # type: ignore[name-defined,misc]
    __tablename__ = "templates"
    __table_args__ = (UniqueConstraint("shop_id", "name", name="uq_templates_shop_id_name"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    shop_id: Mapped[int] = mapped_column(BigIntFK, ForeignKey("shops.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(120))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class CampaignState(enum.StrEnum):
    DRAFT = "draft"
    SCHEDULED = "scheduled"
    SENDING = "sending"
    PAUSED = "paused"
    COMPLETED = "completed"
    CANCELLED = "cancelled"
    FAILED = "failed"


class CampaignKind(enum.StrEnum):
    """`broadcast`: a merchant's campaign. The others carry an automation's messages and are
    never listed as campaigns; their rules differ (see services/sending/policy.py `POLICIES`)."""

    BROADCAST = "broadcast"
    AUTOMATION = "automation"  # marketing automations: welcome, abandoned checkout, ...
    TRANSACTIONAL = "transactional"  # order confirmation, shipping update
    CONVERSATION = "conversation"  # the merchant's replies from the inbox
    TEST = "test"  # a merchant's tests of their campaigns, to their own phone (models/test_send.py)
    KEYWORD_REPLY = "keyword_reply"  # the app's answers to STOP, START, HELP and the join keyword
    CONFIRMATION = "confirmation"  # the double opt-in confirmation of a storefront sign-up


class Campaign(db.Model):  # type: ignore[name-defined,misc]
    __tablename__ = "campaigns"
    __table_args__ = (
        Index("ix_campaigns_shop_id_id", "shop_id", "id"),
        Index("ix_campaigns_state_send_at", "state", "send_at"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    shop_id: Mapped[int] = mapped_column(BigIntFK, ForeignKey("shops.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(120))
    kind: Mapped[CampaignKind] = mapped_column(
        str_enum(CampaignKind, 16), default=CampaignKind.BROADCAST, server_default=CampaignKind.BROADCAST.value
    )
    body: Mapped[str] = mapped_column(Text)
    template_id: Mapped[int | None] = mapped_column(BigIntFK, ForeignKey("templates.id", ondelete="SET NULL"))
    segment_id: Mapped[int | None] = mapped_column(BigIntFK, ForeignKey("segments.id", ondelete="SET NULL"))
    discount_id: Mapped[int | None] = mapped_column(BigIntFK, ForeignKey("discounts.id", ondelete="SET NULL"))
    # An MMS campaign's image (models/media.py); NULL: a plain SMS campaign.
    media_id: Mapped[int | None] = mapped_column(BigIntFK, ForeignKey("media.id", ondelete="SET NULL"))
    state: Mapped[CampaignState] = mapped_column(str_enum(CampaignState), default=CampaignState.DRAFT)
    send_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Local-time sending (services/campaigns/local_time.py): "HH:MM" on each recipient's clock,
    # on `local_send_date` when given (else the first such time after the launch).
    local_send_time: Mapped[str | None] = mapped_column(String(5))
    local_send_date: Mapped[date | None] = mapped_column(Date)
    audience: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # filters snapshotted at launch
    recipients: Mapped[int] = mapped_column(default=0)
    # The most one message can cost in credits (segments x the dearest destination country): what
    # an attempted-but-unsettled message keeps held. (Named before per-country pricing existed.)
    estimated_segments: Mapped[int] = mapped_column(default=0)
    credits_reserved: Mapped[int] = mapped_column(default=0)
    failure_reason: Mapped[str | None] = mapped_column(String(255))
    launched_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class MessageState(enum.StrEnum):
    QUEUED = "queued"
    DEFERRED = "deferred"
    SUBMITTING = "submitting"
    SENT = "sent"
    DELIVERED = "delivered"
    FAILED = "failed"
    SKIPPED = "skipped"
    UNKNOWN = "unknown"
    CANCELLED = "cancelled"


# Waiting to be sent: queued, or deferred (quiet hours, rate limits) until `defer_until`.
WAITING_MESSAGE_STATES = (MessageState.QUEUED, MessageState.DEFERRED)
OPEN_MESSAGE_STATES = (*WAITING_MESSAGE_STATES, MessageState.SUBMITTING)


class Message(db.Model):  # type: ignore[name-defined,misc]
    """One per recipient of a campaign; the text is rendered at send time, never stored."""

    __tablename__ = "messages"
    __table_args__ = (
        # A broadcast reaches a contact once; an automation's carrier once per run.
        Index(
            "uq_messages_campaign_id_contact_id",
            "campaign_id",
            "contact_id",
            unique=True,
            postgresql_where=text("automation_run_id IS NULL"),
            sqlite_where=text("automation_run_id IS NULL"),
        ),
        # Partial: a broadcast's million rows have neither yet, and a NULL entry costs the
        # snapshot an index insertion per row for nothing (migration 0012).
        Index(
            "uq_messages_automation_run_id",
            "automation_run_id",
            unique=True,
            postgresql_where=text("automation_run_id IS NOT NULL"),
            sqlite_where=text("automation_run_id IS NOT NULL"),
        ),
        Index("ix_messages_campaign_id_state_id", "campaign_id", "state", "id"),
        Index(
            "ix_messages_provider_message_id",
            "provider_message_id",
            postgresql_where=text("provider_message_id IS NOT NULL"),
            sqlite_where=text("provider_message_id IS NOT NULL"),
        ),
        # Partial: a row has no sent_at until the provider accepted it, and its snapshot and
        # attempt would each take an insertion per index for nothing (migration 0013).
        *(
            Index(
                name,
                column,
                "sent_at",
                postgresql_where=text("sent_at IS NOT NULL"),
                sqlite_where=text("sent_at IS NOT NULL"),
            )
            for name, column in (
                ("ix_messages_contact_id_sent_at", "contact_id"),
                ("ix_messages_shop_id_sent_at", "shop_id"),
            )
        ),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    # No foreign keys on shop, campaign and contact: their triggers were most of a launch's
    # snapshot (migration 0011). Deleting a campaign deletes its messages, deleting a contact
    # clears contact_id, a shop's redaction deletes everything (services/*, tests).
    shop_id: Mapped[int] = mapped_column(BigIntFK)
    campaign_id: Mapped[int] = mapped_column(BigIntFK)
    contact_id: Mapped[int | None] = mapped_column(BigIntFK)
    # No foreign key: a run is deleted with its contact, the message stays for the reports.
    automation_run_id: Mapped[int | None] = mapped_column(BigInteger)
    state: Mapped[MessageState] = mapped_column(str_enum(MessageState), default=MessageState.QUEUED)
    skip_reason: Mapped[str | None] = mapped_column(String(32))
    discount_code: Mapped[str | None] = mapped_column(String(32))  # a unique code made for this recipient
    # An A/B-tested campaign's variant (models/ab_test.py): the body this message carries. NULL
    # for other campaigns, and for the rest of a test's audience until the winner is decided.
    variant: Mapped[str | None] = mapped_column(String(1))
    attempts: Mapped[int] = mapped_column(SmallInteger, default=0)
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Written and committed before the provider call: a row with it set may have been sent.
    attempted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    defer_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    provider_message_id: Mapped[str | None] = mapped_column(String(64))
    bulk_id: Mapped[str | None] = mapped_column(String(64))
    # The sender id the text went (or was attempted) from: an alphanumeric name or the shop's number.
    sender: Mapped[str | None] = mapped_column(String(16))
    segments: Mapped[int | None] = mapped_column(SmallInteger)
    credits: Mapped[int | None] = mapped_column(Integer)
    # A broadcast message's share of its launch's hold (segments upper bound x its country's
    # price then); a send takes any excess of `credits` over it from the balance. NULL: none
    # recorded (a carrier's message holds its whole cost; a row from before migration 0016).
    held_credits: Mapped[int | None] = mapped_column(Integer)
    error_code: Mapped[str | None] = mapped_column(String(64))
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    failed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class SendAttempt(db.Model):  # type: ignore[name-defined,misc]
    """A provider call about to be made for some of a campaign's rows (the PostgreSQL send path
    of campaigns without per-message holds; services/sending/batch.py).

    Committed on a connection of its own before the call, while the batch's own transaction
    keeps the rows locked and `queued`; deleted by the transaction that records the answer, so
    the rows and the record change together. One that outlives its lease belongs to a batch
    that died after it may have called: no claim takes its rows, and the sweeper makes them
    `unknown` with the costs written here. The per-row values are PostgreSQL array literals
    (`{1,2,3}`), parallel to `message_ids`, unnested in SQL."""

    __tablename__ = "send_attempts"
    __table_args__ = (Index("ix_send_attempts_campaign_id", "campaign_id"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    # No foreign keys: the batch's transaction holds locks these would have to check against.
    shop_id: Mapped[int] = mapped_column(BigInteger)
    campaign_id: Mapped[int] = mapped_column(BigInteger)
    message_ids: Mapped[str] = mapped_column(Text)
    attempts: Mapped[str] = mapped_column(Text)
    credits: Mapped[str] = mapped_column(Text)
    segments: Mapped[str] = mapped_column(Text)
    # What each text goes from (messages.sender), so rows a dead batch leaves say it too.
    senders: Mapped[str | None] = mapped_column(Text)
    attempted_at: Mapped[datetime] = mapped_column(UTCDateTime)
    lease_until: Mapped[datetime] = mapped_column(UTCDateTime)


class LedgerKind(enum.StrEnum):
    GRANT = "grant"  # trial, purchase, operator
    RESERVE = "reserve"  # a launch holds the estimate
    DEBIT = "debit"  # a message accepted by the provider
    RESERVE_RELEASE = "reserve_release"  # the part of the hold that debit replaced
    RELEASE = "release"  # what is left of a hold when the campaign ends
    REFUND = "refund"


class CreditLedger(db.Model):  # type: ignore[name-defined,misc]
    """Append-only; a shop's balance is the sum of its rows and never negative.

    Every row carries an idempotency key unique per shop (`debit:b42`, `reserve:c7`, ...), so a
    job that runs twice can never charge or grant twice.
    """

    __tablename__ = "credit_ledger"
    __table_args__ = (
        UniqueConstraint("shop_id", "idempotency_key", name="uq_credit_ledger_shop_id_idempotency_key"),
        Index("ix_credit_ledger_shop_id_id", "shop_id", "id"),
        Index("ix_credit_ledger_campaign_id_kind", "campaign_id", "kind"),
        Index("ix_credit_ledger_shop_id_created_at", "shop_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    shop_id: Mapped[int] = mapped_column(BigIntFK, ForeignKey("shops.id", ondelete="CASCADE"))
    kind: Mapped[LedgerKind] = mapped_column(str_enum(LedgerKind))
    amount: Mapped[int] = mapped_column(Integer)
    campaign_id: Mapped[int | None] = mapped_column(BigIntFK, ForeignKey("campaigns.id", ondelete="SET NULL"))
    message_id: Mapped[int | None] = mapped_column(BigIntFK, ForeignKey("messages.id", ondelete="SET NULL"))
    idempotency_key: Mapped[str] = mapped_column(String(128))
    note: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class MessageStat(db.Model):  # type: ignore[name-defined,misc]
    """Append-only deltas of message counts (PostgreSQL only), kept by a statement-level trigger
    on `messages` (migration 0009) and folded together by a periodic compaction, so a report at a
    million messages sums a few rows instead of aggregating the messages. `day` is the UTC day
    of `sent_at` (NULL before the provider accepted it)."""

    __tablename__ = "message_stats"
    __table_args__ = (
        Index("ix_message_stats_campaign_id", "campaign_id"),
        Index("ix_message_stats_shop_id_day", "shop_id", "day"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    campaign_id: Mapped[int] = mapped_column(BigInteger)
    shop_id: Mapped[int] = mapped_column(BigInteger)
    day: Mapped[date | None] = mapped_column(Date)
    state: Mapped[str] = mapped_column(String(16))
    messages: Mapped[int] = mapped_column(BigInteger)
    accepted: Mapped[int] = mapped_column(BigInteger)
    credits: Mapped[int] = mapped_column(BigInteger)
