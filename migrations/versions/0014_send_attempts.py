"""send attempts: a batch's provider call recorded beside its rows

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-27 19:40:00.000000

Before, a batch marked each row `submitting` (an UPDATE of every row: a new tuple and an entry
in each index, then another for `sent`) and committed before the provider call. On PostgreSQL
the batch now keeps its rows locked and `queued` across the call and commits one row here, on
a connection of its own, before it (services/sending.py). Row-level security like every shop
table (migration 0010).
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

BIGINT = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
CONDITION = "shop_id = NULLIF(current_setting('app.shop_id', true), '')::bigint"


def upgrade():
    op.create_table(
        "send_attempts",
        sa.Column("id", BIGINT, nullable=False),
        sa.Column("shop_id", sa.BigInteger(), nullable=False),
        sa.Column("campaign_id", sa.BigInteger(), nullable=False),
        sa.Column("message_ids", sa.Text(), nullable=False),
        sa.Column("attempts", sa.Text(), nullable=False),
        sa.Column("credits", sa.Text(), nullable=False),
        sa.Column("segments", sa.Text(), nullable=False),
        sa.Column("attempted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("lease_until", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_send_attempts")),
    )
    op.create_index("ix_send_attempts_campaign_id", "send_attempts", ["campaign_id"])
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE send_attempts ENABLE ROW LEVEL SECURITY")
        op.execute("ALTER TABLE send_attempts FORCE ROW LEVEL SECURITY")
        op.execute(f"CREATE POLICY shop_isolation ON send_attempts USING ({CONDITION}) WITH CHECK ({CONDITION})")


def downgrade():
    op.drop_index("ix_send_attempts_campaign_id", table_name="send_attempts")
    op.drop_table("send_attempts")
