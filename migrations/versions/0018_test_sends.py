"""test sends: a merchant's test of a campaign, sent to their own phone

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-08 00:30:00.000000

POST /api/campaigns/<id>/test-send records one row per test (services/test_sends.py): the
message it made (a message of the shop's hidden `test` carrier campaign, with no contact), the
request's idempotency key, the phone's keyed hash (a customer's erasure finds it), and the
sealed number and text. The day's count per shop is read from here, so a limit survives a
flushed Redis. `campaigns.kind` gains the value `test`: a non-native enum, no change here.
Row-level security like every shop table (migration 0010).
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None

BIGINT = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
CONDITION = "shop_id = NULLIF(current_setting('app.shop_id', true), '')::bigint"


def upgrade():
    op.create_table(
        "test_sends",
        sa.Column("id", BIGINT, nullable=False),
        sa.Column("shop_id", BIGINT, nullable=False),
        sa.Column("campaign_id", BIGINT, nullable=True),
        sa.Column("message_id", sa.BigInteger(), nullable=False),
        sa.Column("idempotency_key", sa.String(length=100), nullable=False),
        sa.Column("phone_hash", sa.String(length=64), nullable=False),
        sa.Column("context_ciphertext", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["shop_id"], ["shops.id"], name=op.f("fk_test_sends_shop_id_shops"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["campaign_id"], ["campaigns.id"], name=op.f("fk_test_sends_campaign_id_campaigns"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_test_sends")),
        sa.UniqueConstraint("shop_id", "idempotency_key", name="uq_test_sends_shop_id_idempotency_key"),
        sa.UniqueConstraint("message_id", name="uq_test_sends_message_id"),
    )
    op.create_index("ix_test_sends_shop_id_created_at", "test_sends", ["shop_id", "created_at"])
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE test_sends ENABLE ROW LEVEL SECURITY")
        op.execute("ALTER TABLE test_sends FORCE ROW LEVEL SECURITY")
        op.execute(f"CREATE POLICY shop_isolation ON test_sends USING ({CONDITION}) WITH CHECK ({CONDITION})")


def downgrade():
    op.drop_index("ix_test_sends_shop_id_created_at", table_name="test_sends")
    op.drop_table("test_sends")
