"""spend controls: a shop's low-balance threshold, auto-recharge and spend cap, and its alerts

Revision ID: 0030
Revises: 0029
Create Date: 2026-12-07 15:00:00.000000

`spend_controls` holds one row per shop that set spend controls (the settings as
SpendSettingsSchema dumps them, and the armed/fired state of the low-balance and auto-recharge
alarms with their crossing counters); `spend_alerts` one row per alarm crossing, unique per
(shop, kind, crossing) so a check that runs twice records nothing twice. Row-level security
like every shop table (migration 0010). `app_subscriptions.capped_amount`: the usage cap as
Shopify last reported it (nullable, no default: PostgreSQL adds it without a rewrite).
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0030"
down_revision = "0029"
branch_labels = None
depends_on = None

BIGINT = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
CONDITION = "shop_id = NULLIF(current_setting('app.shop_id', true), '')::bigint"
TABLES = ("spend_controls", "spend_alerts")


def upgrade():
    with op.batch_alter_table("app_subscriptions") as batch_op:
        batch_op.add_column(sa.Column("capped_amount", sa.Numeric(precision=10, scale=2), nullable=True))
    op.create_table(
        "spend_controls",
        sa.Column("id", BIGINT, nullable=False),
        sa.Column("shop_id", BIGINT, nullable=False),
        sa.Column("settings", sa.JSON(), nullable=False),
        sa.Column("low_balance_fired", sa.Boolean(), nullable=False),
        sa.Column("low_balance_crossings", sa.Integer(), nullable=False),
        sa.Column("recharge_fired", sa.Boolean(), nullable=False),
        sa.Column("recharge_crossings", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["shop_id"], ["shops.id"], name=op.f("fk_spend_controls_shop_id_shops"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_spend_controls")),
        sa.UniqueConstraint("shop_id", name="uq_spend_controls_shop_id"),
    )
    op.create_table(
        "spend_alerts",
        sa.Column("id", BIGINT, nullable=False),
        sa.Column("shop_id", BIGINT, nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("crossing", sa.Integer(), nullable=False),
        sa.Column("balance", sa.Integer(), nullable=False),
        sa.Column("threshold", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("emailed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("email_skipped", sa.String(length=32), nullable=True),
        sa.ForeignKeyConstraint(
            ["shop_id"], ["shops.id"], name=op.f("fk_spend_alerts_shop_id_shops"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_spend_alerts")),
        sa.UniqueConstraint("shop_id", "kind", "crossing", name="uq_spend_alerts_shop_id_kind_crossing"),
    )
    op.create_index("ix_spend_alerts_shop_id_id", "spend_alerts", ["shop_id", "id"])
    if op.get_bind().dialect.name == "postgresql":
        for table in TABLES:
            op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
            op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
            op.execute(f"CREATE POLICY shop_isolation ON {table} USING ({CONDITION}) WITH CHECK ({CONDITION})")


def downgrade():
    op.drop_index("ix_spend_alerts_shop_id_id", table_name="spend_alerts")
    op.drop_table("spend_alerts")
    op.drop_table("spend_controls")
    with op.batch_alter_table("app_subscriptions") as batch_op:
        batch_op.drop_column("capped_amount")
