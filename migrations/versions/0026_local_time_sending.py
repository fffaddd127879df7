"""local-time sending: a campaign's local send time and date, and its cohorts

Revision ID: 0026
Revises: 0025
Create Date: 2026-12-07 15:00:00.000000

A campaign may go "at 10:00 in each subscriber's time zone": `campaigns.local_send_time`
("HH:MM") and `local_send_date` (optional). Its launch records one `campaign_cohorts` row per
start instant, with the id range of its messages (services/campaigns/local_time.py). Row-level
security like every shop table (migration 0010). No backfill: contacts.timezone has been
filled from the phone number when it names one zone since migration 0001; a number with
several zones (and none) keeps NULL and goes at the shop's zone.
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0026"
down_revision = "0025"
branch_labels = None
depends_on = None

BIGINT = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
CONDITION = "shop_id = NULLIF(current_setting('app.shop_id', true), '')::bigint"


def upgrade():
    with op.batch_alter_table("campaigns", schema=None) as batch_op:
        batch_op.add_column(sa.Column("local_send_time", sa.String(length=5), nullable=True))
        batch_op.add_column(sa.Column("local_send_date", sa.Date(), nullable=True))
    op.create_table(
        "campaign_cohorts",
        sa.Column("id", BIGINT, autoincrement=True, nullable=False),
        sa.Column("shop_id", BIGINT, nullable=False),
        sa.Column("campaign_id", BIGINT, nullable=False),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("zones", sa.Text(), nullable=False),
        sa.Column("recipients", sa.Integer(), nullable=False),
        sa.Column("first_message_id", BIGINT, nullable=True),
        sa.Column("last_message_id", BIGINT, nullable=True),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["campaigns.id"],
            name=op.f("fk_campaign_cohorts_campaign_id_campaigns"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["shop_id"], ["shops.id"], name=op.f("fk_campaign_cohorts_shop_id_shops"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_campaign_cohorts")),
    )
    op.create_index("ix_campaign_cohorts_campaign_id_starts_at", "campaign_cohorts", ["campaign_id", "starts_at"])
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE campaign_cohorts ENABLE ROW LEVEL SECURITY")
        op.execute("ALTER TABLE campaign_cohorts FORCE ROW LEVEL SECURITY")
        op.execute(f"CREATE POLICY shop_isolation ON campaign_cohorts USING ({CONDITION}) WITH CHECK ({CONDITION})")


def downgrade():
    op.drop_index("ix_campaign_cohorts_campaign_id_starts_at", table_name="campaign_cohorts")
    op.drop_table("campaign_cohorts")
    with op.batch_alter_table("campaigns", schema=None) as batch_op:
        batch_op.drop_column("local_send_date")
        batch_op.drop_column("local_send_time")
