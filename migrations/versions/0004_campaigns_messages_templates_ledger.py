"""campaigns messages templates ledger

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-27 06:45:52.794747

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

BIGINT = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "templates",
        sa.Column("id", BIGINT, nullable=False),
        sa.Column("shop_id", BIGINT, nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["shop_id"], ["shops.id"], name=op.f("fk_templates_shop_id_shops"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_templates")),
        sa.UniqueConstraint("shop_id", "name", name="uq_templates_shop_id_name"),
    )
    with op.batch_alter_table("templates", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_templates_shop_id"), ["shop_id"], unique=False)

    op.create_table(
        "campaigns",
        sa.Column("id", BIGINT, nullable=False),
        sa.Column("shop_id", BIGINT, nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("template_id", BIGINT, nullable=True),
        sa.Column("segment_id", BIGINT, nullable=True),
        sa.Column(
            "state",
            sa.Enum(
                "draft",
                "scheduled",
                "sending",
                "paused",
                "completed",
                "cancelled",
                "failed",
                name="campaignstate",
                native_enum=False,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column("send_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("audience", sa.JSON(), nullable=False),
        sa.Column("recipients", sa.Integer(), nullable=False),
        sa.Column("estimated_segments", sa.Integer(), nullable=False),
        sa.Column("credits_reserved", sa.Integer(), nullable=False),
        sa.Column("failure_reason", sa.String(length=255), nullable=True),
        sa.Column("launched_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["segment_id"], ["segments.id"], name=op.f("fk_campaigns_segment_id_segments"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(["shop_id"], ["shops.id"], name=op.f("fk_campaigns_shop_id_shops"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(
            ["template_id"], ["templates.id"], name=op.f("fk_campaigns_template_id_templates"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_campaigns")),
    )
    with op.batch_alter_table("campaigns", schema=None) as batch_op:
        batch_op.create_index("ix_campaigns_shop_id_id", ["shop_id", "id"], unique=False)
        batch_op.create_index("ix_campaigns_state_send_at", ["state", "send_at"], unique=False)

    op.create_table(
        "messages",
        sa.Column("id", BIGINT, nullable=False),
        sa.Column("shop_id", BIGINT, nullable=False),
        sa.Column("campaign_id", BIGINT, nullable=False),
        sa.Column("contact_id", BIGINT, nullable=True),
        sa.Column(
            "state",
            sa.Enum(
                "queued",
                "deferred",
                "submitting",
                "sent",
                "delivered",
                "failed",
                "skipped",
                "unknown",
                "cancelled",
                name="messagestate",
                native_enum=False,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column("skip_reason", sa.String(length=32), nullable=True),
        sa.Column("attempts", sa.SmallInteger(), nullable=False),
        sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("attempted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("defer_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("provider_message_id", sa.String(length=64), nullable=True),
        sa.Column("bulk_id", sa.String(length=64), nullable=True),
        sa.Column("segments", sa.SmallInteger(), nullable=True),
        sa.Column("credits", sa.Integer(), nullable=True),
        sa.Column("error_code", sa.String(length=64), nullable=True),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("failed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["campaign_id"], ["campaigns.id"], name=op.f("fk_messages_campaign_id_campaigns"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["contact_id"], ["contacts.id"], name=op.f("fk_messages_contact_id_contacts"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(["shop_id"], ["shops.id"], name=op.f("fk_messages_shop_id_shops"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_messages")),
        sa.UniqueConstraint("campaign_id", "contact_id", name="uq_messages_campaign_id_contact_id"),
    )
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.create_index("ix_messages_campaign_id_state_id", ["campaign_id", "state", "id"], unique=False)
        batch_op.create_index("ix_messages_contact_id_sent_at", ["contact_id", "sent_at"], unique=False)
        batch_op.create_index("ix_messages_provider_message_id", ["provider_message_id"], unique=False)

    op.create_table(
        "credit_ledger",
        sa.Column("id", BIGINT, nullable=False),
        sa.Column("shop_id", BIGINT, nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "grant",
                "reserve",
                "debit",
                "reserve_release",
                "release",
                "refund",
                name="ledgerkind",
                native_enum=False,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column("amount", sa.Integer(), nullable=False),
        sa.Column("campaign_id", BIGINT, nullable=True),
        sa.Column("message_id", BIGINT, nullable=True),
        sa.Column("idempotency_key", sa.String(length=128), nullable=False),
        sa.Column("note", sa.String(length=255), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["campaign_id"], ["campaigns.id"], name=op.f("fk_credit_ledger_campaign_id_campaigns"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["message_id"], ["messages.id"], name=op.f("fk_credit_ledger_message_id_messages"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["shop_id"], ["shops.id"], name=op.f("fk_credit_ledger_shop_id_shops"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_credit_ledger")),
        sa.UniqueConstraint("shop_id", "idempotency_key", name="uq_credit_ledger_shop_id_idempotency_key"),
    )
    with op.batch_alter_table("credit_ledger", schema=None) as batch_op:
        batch_op.create_index("ix_credit_ledger_campaign_id_kind", ["campaign_id", "kind"], unique=False)
        batch_op.create_index("ix_credit_ledger_shop_id_id", ["shop_id", "id"], unique=False)

    with op.batch_alter_table("contacts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("first_name_len", sa.SmallInteger(), nullable=False, server_default="0"))
        batch_op.add_column(sa.Column("last_name_len", sa.SmallInteger(), nullable=False, server_default="0"))
        batch_op.add_column(sa.Column("names_ucs2", sa.Boolean(), nullable=False, server_default=sa.false()))


def downgrade() -> None:
    with op.batch_alter_table("contacts", schema=None) as batch_op:
        batch_op.drop_column("names_ucs2")
        batch_op.drop_column("last_name_len")
        batch_op.drop_column("first_name_len")

    with op.batch_alter_table("credit_ledger", schema=None) as batch_op:
        batch_op.drop_index("ix_credit_ledger_shop_id_id")
        batch_op.drop_index("ix_credit_ledger_campaign_id_kind")

    op.drop_table("credit_ledger")
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.drop_index("ix_messages_provider_message_id")
        batch_op.drop_index("ix_messages_contact_id_sent_at")
        batch_op.drop_index("ix_messages_campaign_id_state_id")

    op.drop_table("messages")
    with op.batch_alter_table("campaigns", schema=None) as batch_op:
        batch_op.drop_index("ix_campaigns_state_send_at")
        batch_op.drop_index("ix_campaigns_shop_id_id")

    op.drop_table("campaigns")
    with op.batch_alter_table("templates", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_templates_shop_id"))

    op.drop_table("templates")
