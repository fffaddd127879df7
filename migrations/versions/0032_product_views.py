"""product views: the product pages identified shoppers viewed, reported by the web pixel

Revision ID: 0032
Revises: 0031
Create Date: 2026-12-07 17:40:00.000000

`product_views` holds one row per product_viewed event the pixel reported for a contact of the
shop (a logged-in customer the shop's contacts know, or the signed browse token of one of our
short links), unique per (shop, pixel event id) so a report sent twice is stored once. The
browse-abandonment sweep reads a shop's unsettled views by (shop_id, triggered_at, viewed_at).
Row-level security like every shop table (migration 0010).
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0032"
down_revision = "0031"
branch_labels = None
depends_on = None

BIGINT = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
CONDITION = "shop_id = NULLIF(current_setting('app.shop_id', true), '')::bigint"


def upgrade():
    op.create_table(
        "product_views",
        sa.Column("id", BIGINT, nullable=False),
        sa.Column("shop_id", BIGINT, nullable=False),
        sa.Column("contact_id", BIGINT, nullable=False),
        sa.Column("product_id", sa.BigInteger(), nullable=False),
        sa.Column("variant_id", sa.BigInteger(), nullable=True),
        sa.Column("product_title", sa.String(length=255), nullable=False),
        sa.Column("url_path", sa.String(length=512), nullable=False),
        sa.Column("event_id", sa.String(length=64), nullable=False),
        sa.Column("viewed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("triggered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["shop_id"], ["shops.id"], name=op.f("fk_product_views_shop_id_shops"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["contact_id"], ["contacts.id"], name=op.f("fk_product_views_contact_id_contacts"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_product_views")),
        sa.UniqueConstraint("shop_id", "event_id", name="uq_product_views_shop_id_event_id"),
    )
    op.create_index(
        "ix_product_views_shop_id_triggered_at_viewed_at", "product_views", ["shop_id", "triggered_at", "viewed_at"]
    )
    op.create_index("ix_product_views_contact_id", "product_views", ["contact_id"])
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE product_views ENABLE ROW LEVEL SECURITY")
        op.execute("ALTER TABLE product_views FORCE ROW LEVEL SECURITY")
        op.execute(f"CREATE POLICY shop_isolation ON product_views USING ({CONDITION}) WITH CHECK ({CONDITION})")


def downgrade():
    op.drop_index("ix_product_views_contact_id", table_name="product_views")
    op.drop_index("ix_product_views_shop_id_triggered_at_viewed_at", table_name="product_views")
    op.drop_table("product_views")
