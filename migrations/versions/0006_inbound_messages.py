"""inbound messages

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-27 07:05:31.232528

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

BIGINT = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "inbound_messages",
        sa.Column("id", BIGINT, nullable=False),
        sa.Column("shop_id", BIGINT, nullable=True),
        sa.Column("contact_id", BIGINT, nullable=True),
        sa.Column("provider_message_id", sa.String(length=64), nullable=True),
        sa.Column("phone_hash", sa.String(length=64), nullable=True),
        sa.Column("text_ciphertext", sa.Text(), nullable=True),
        sa.Column("sender_ciphertext", sa.Text(), nullable=True),
        sa.Column("keyword", sa.String(length=16), nullable=True),
        sa.Column("outcome", sa.String(length=32), nullable=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("processed_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["contact_id"], ["contacts.id"], name=op.f("fk_inbound_messages_contact_id_contacts"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["shop_id"], ["shops.id"], name=op.f("fk_inbound_messages_shop_id_shops"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inbound_messages")),
        sa.UniqueConstraint("provider_message_id", name="uq_inbound_messages_provider_message_id"),
    )
    with op.batch_alter_table("inbound_messages", schema=None) as batch_op:
        batch_op.create_index(
            "ix_inbound_messages_shop_id_contact_id_id", ["shop_id", "contact_id", "id"], unique=False
        )

    with op.batch_alter_table("shops", schema=None) as batch_op:
        batch_op.add_column(sa.Column("inbound_number", sa.String(length=20), nullable=True))
        batch_op.create_index(batch_op.f("ix_shops_inbound_number"), ["inbound_number"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("shops", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_shops_inbound_number"))
        batch_op.drop_column("inbound_number")

    with op.batch_alter_table("inbound_messages", schema=None) as batch_op:
        batch_op.drop_index("ix_inbound_messages_shop_id_contact_id_id")

    op.drop_table("inbound_messages")
