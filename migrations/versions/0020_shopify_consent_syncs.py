"""shopify consent syncs: SMS consent changes recorded first, sent to Shopify after

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-08 02:00:00.000000

`shopify_consent_syncs` is the outbox (models/shopify_sync.py): one row per consent change of
ours, written in the change's transaction and sent by a job (jobs/shopify_consent.py); the
sweep finds rows still pending through ix_shopify_consent_syncs_status_updated_at.
`contacts.shopify_sync` shows where the contact stands in Shopify (NULL: never sent; nullable
with no default, so PostgreSQL adds it without rewriting the table). Row-level security like
every shop table (migration 0010).
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None

BIGINT = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
CONDITION = "shop_id = NULLIF(current_setting('app.shop_id', true), '')::bigint"


def upgrade():
    with op.batch_alter_table("contacts") as batch_op:
        batch_op.add_column(sa.Column("shopify_sync", sa.String(length=16), nullable=True))
    op.create_table(
        "shopify_consent_syncs",
        sa.Column("id", BIGINT, nullable=False),
        sa.Column("shop_id", BIGINT, nullable=False),
        sa.Column("contact_id", BIGINT, nullable=False),
        sa.Column("marketing_state", sa.String(length=16), nullable=False),
        sa.Column("opt_in_level", sa.String(length=24), nullable=True),
        sa.Column("consent_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.SmallInteger(), nullable=False),
        sa.Column("error", sa.String(length=64), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["shop_id"], ["shops.id"], name=op.f("fk_shopify_consent_syncs_shop_id_shops"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["contact_id"],
            ["contacts.id"],
            name=op.f("fk_shopify_consent_syncs_contact_id_contacts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_shopify_consent_syncs")),
    )
    op.create_index("ix_shopify_consent_syncs_contact_id_id", "shopify_consent_syncs", ["contact_id", "id"])
    op.create_index("ix_shopify_consent_syncs_status_updated_at", "shopify_consent_syncs", ["status", "updated_at"])
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE shopify_consent_syncs ENABLE ROW LEVEL SECURITY")
        op.execute("ALTER TABLE shopify_consent_syncs FORCE ROW LEVEL SECURITY")
        op.execute(
            f"CREATE POLICY shop_isolation ON shopify_consent_syncs USING ({CONDITION}) WITH CHECK ({CONDITION})"
        )


def downgrade():
    op.drop_index("ix_shopify_consent_syncs_status_updated_at", table_name="shopify_consent_syncs")
    op.drop_index("ix_shopify_consent_syncs_contact_id_id", table_name="shopify_consent_syncs")
    op.drop_table("shopify_consent_syncs")
    with op.batch_alter_table("contacts") as batch_op:
        batch_op.drop_column("shopify_sync")
