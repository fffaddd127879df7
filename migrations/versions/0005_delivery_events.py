"""delivery events

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-27 07:04:14.451590

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

BIGINT = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "delivery_events",
        sa.Column("id", BIGINT, nullable=False),
        sa.Column("shop_id", BIGINT, nullable=True),
        sa.Column("message_id", BIGINT, nullable=True),
        sa.Column("provider_message_id", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column(
            "outcome",
            sa.Enum("delivered", "failed", "pending", "other", name="deliveryoutcome", native_enum=False, length=16),
            nullable=False,
        ),
        sa.Column("error_code", sa.String(length=64), nullable=True),
        sa.Column("reported_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("applied_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("result", sa.String(length=32), nullable=True),
        sa.ForeignKeyConstraint(
            ["message_id"], ["messages.id"], name=op.f("fk_delivery_events_message_id_messages"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["shop_id"], ["shops.id"], name=op.f("fk_delivery_events_shop_id_shops"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_delivery_events")),
    )
    with op.batch_alter_table("delivery_events", schema=None) as batch_op:
        batch_op.create_index("ix_delivery_events_applied_at_id", ["applied_at", "id"], unique=False)
        batch_op.create_index("ix_delivery_events_provider_message_id", ["provider_message_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_delivery_events_shop_id"), ["shop_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("delivery_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_delivery_events_shop_id"))
        batch_op.drop_index("ix_delivery_events_provider_message_id")
        batch_op.drop_index("ix_delivery_events_applied_at_id")

    op.drop_table("delivery_events")
