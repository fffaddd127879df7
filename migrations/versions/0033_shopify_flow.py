"""shopify flow: the triggers each shop's workflows use, and the action requests Flow sent

Revision ID: 0033
Revises: 0032
Create Date: 2026-12-07 17:45:00.000000

`shopify_flow_triggers` holds what Flow's trigger lifecycle callback said, one row per (shop,
trigger handle), with the callback's own timestamp (a late older callback never wins).
`shopify_flow_actions` holds one row per Flow action run, unique per (shop, action_run_id) so a
retried request records nothing new; its properties (a customer id, a message) are sealed, the
customer id also kept in the clear so customers/redact deletes the customer's rows.
Row-level security like every shop table (migration 0010).
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0033"
down_revision = "0032"
branch_labels = None
depends_on = None

BIGINT = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
CONDITION = "shop_id = NULLIF(current_setting('app.shop_id', true), '')::bigint"
TABLES = ("shopify_flow_triggers", "shopify_flow_actions")


def upgrade():
    op.create_table(
        "shopify_flow_triggers",
        sa.Column("id", BIGINT, nullable=False),
        sa.Column("shop_id", BIGINT, nullable=False),
        sa.Column("handle", sa.String(length=64), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("callback_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["shop_id"], ["shops.id"], name=op.f("fk_shopify_flow_triggers_shop_id_shops"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_shopify_flow_triggers")),
        sa.UniqueConstraint("shop_id", "handle", name="uq_shopify_flow_triggers_shop_id_handle"),
    )
    op.create_table(
        "shopify_flow_actions",
        sa.Column("id", BIGINT, nullable=False),
        sa.Column("shop_id", BIGINT, nullable=False),
        sa.Column("action_run_id", sa.String(length=255), nullable=False),
        sa.Column("handle", sa.String(length=64), nullable=False),
        sa.Column("shopify_customer_id", sa.BigInteger(), nullable=True),
        sa.Column("properties_ciphertext", sa.Text(), nullable=False),
        sa.Column(
            "state",
            sa.Enum("received", "done", name="shopifyflowactionstate", native_enum=False, length=16),
            nullable=False,
        ),
        sa.Column("outcome", sa.String(length=32), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["shop_id"], ["shops.id"], name=op.f("fk_shopify_flow_actions_shop_id_shops"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_shopify_flow_actions")),
        sa.UniqueConstraint("shop_id", "action_run_id", name="uq_shopify_flow_actions_shop_id_action_run_id"),
    )
    op.create_index("ix_shopify_flow_actions_shop_id_id", "shopify_flow_actions", ["shop_id", "id"])
    op.create_index(
        "ix_shopify_flow_actions_shop_id_shopify_customer_id",
        "shopify_flow_actions",
        ["shop_id", "shopify_customer_id"],
    )
    if op.get_bind().dialect.name == "postgresql":
        for table in TABLES:
            op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
            op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
            op.execute(f"CREATE POLICY shop_isolation ON {table} USING ({CONDITION}) WITH CHECK ({CONDITION})")


def downgrade():
    op.drop_index("ix_shopify_flow_actions_shop_id_shopify_customer_id", table_name="shopify_flow_actions")
    op.drop_index("ix_shopify_flow_actions_shop_id_id", table_name="shopify_flow_actions")
    op.drop_table("shopify_flow_actions")
    op.drop_table("shopify_flow_triggers")
