"""commerce segments: what contacts spent and bought, and the backfill of past orders

Revision ID: 0028
Revises: 0027
Create Date: 2026-12-07 14:40:00.000000

Segments filter on a contact's total spent and average order value (total_spent / order_count)
and on the last text they were sent (`last_messaged_at`, rolled up from `messages` every few
minutes: an EXISTS over 1M messages took 260-630 ms), so both join the covering index of
migration 0024 and a count stays index-only (bench/segments.py: 100k contacts, 1M orders). Products bought and discount codes used are
many per contact: small tables shaped like `contact_tags`, read by (shop_id, value,
contact_id). `seen_products` is what the editor's product picker searches; `order_backfills`
tracks the paginated pull of past orders (one at a time per shop, a partial unique index).
Row-level security on each new table like every shop table (migration 0010).
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0028"
down_revision = "0027"
branch_labels = None
depends_on = None

BIGINT = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
CONDITION = "shop_id = NULLIF(current_setting('app.shop_id', true), '')::bigint"
NEW_TABLES = ("contact_products", "contact_discount_codes", "seen_products", "order_backfills")
OLD_SEGMENT_COLUMNS = [
    "shop_id",
    "consent_state",
    "order_count",
    "last_clicked_at",
    "last_order_at",
    "created_at",
    "country_code",
    "id",
]
SEGMENT_COLUMNS = [
    *OLD_SEGMENT_COLUMNS[:3],
    "total_spent",
    "last_clicked_at",
    "last_messaged_at",
    *OLD_SEGMENT_COLUMNS[4:],
]
ONE_ORDER_BACKFILL = sa.text("status IN ('queued', 'running')")


def _shop_fk(table):
    return sa.ForeignKeyConstraint(
        ["shop_id"], ["shops.id"], name=op.f(f"fk_{table}_shop_id_shops"), ondelete="CASCADE"
    )


def _contact_fk(table):
    return sa.ForeignKeyConstraint(
        ["contact_id"], ["contacts.id"], name=op.f(f"fk_{table}_contact_id_contacts"), ondelete="CASCADE"
    )


def upgrade():
    with op.batch_alter_table("contacts") as batch:
        batch.add_column(sa.Column("total_spent", sa.Numeric(14, 2), server_default="0", nullable=False))
        batch.add_column(sa.Column("first_order_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("last_messaged_at", sa.DateTime(timezone=True), nullable=True))
    op.drop_index("ix_contacts_segment_filters", table_name="contacts")
    op.create_index("ix_contacts_segment_filters", "contacts", SEGMENT_COLUMNS, unique=False)
    _backfill_summaries()
    _create_tables()
    if op.get_bind().dialect.name == "postgresql":
        for table in NEW_TABLES:
            op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
            op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
            op.execute(f"CREATE POLICY shop_isolation ON {table} USING ({CONDITION}) WITH CHECK ({CONDITION})")


def _backfill_summaries():
    """The contacts' summaries from the orders already stored (order_count was incremented), and
    the newest text each was sent."""
    op.execute(
        "UPDATE contacts SET "
        "order_count = (SELECT count(*) FROM orders o WHERE o.contact_id = contacts.id), "
        "total_spent = COALESCE((SELECT sum(o.total_price) FROM orders o WHERE o.contact_id = contacts.id), 0), "
        "first_order_at = (SELECT min(COALESCE(o.ordered_at, o.created_at)) FROM orders o "
        "WHERE o.contact_id = contacts.id) "
        "WHERE EXISTS (SELECT 1 FROM orders o WHERE o.contact_id = contacts.id)"
    )
    # One probe of the partial (contact_id, sent_at) index per contact.
    op.execute(
        "UPDATE contacts SET last_messaged_at = (SELECT max(m.sent_at) FROM messages m "
        "WHERE m.contact_id = contacts.id AND m.sent_at IS NOT NULL)"
    )


def _create_tables():
    op.create_table(
        "contact_products",
        sa.Column("contact_id", BIGINT, nullable=False),
        sa.Column("product_id", sa.BigInteger(), nullable=False),
        sa.Column("shop_id", BIGINT, nullable=False),
        _contact_fk("contact_products"),
        _shop_fk("contact_products"),
        sa.PrimaryKeyConstraint("contact_id", "product_id", name=op.f("pk_contact_products")),
    )
    op.create_index(
        "ix_contact_products_shop_id_product_id_contact_id", "contact_products", ["shop_id", "product_id", "contact_id"]
    )
    op.create_table(
        "contact_discount_codes",
        sa.Column("contact_id", BIGINT, nullable=False),
        sa.Column("code", sa.String(length=255), nullable=False),
        sa.Column("shop_id", BIGINT, nullable=False),
        _contact_fk("contact_discount_codes"),
        _shop_fk("contact_discount_codes"),
        sa.PrimaryKeyConstraint("contact_id", "code", name=op.f("pk_contact_discount_codes")),
    )
    op.create_index(
        "ix_contact_discount_codes_shop_id_code_contact_id", "contact_discount_codes", ["shop_id", "code", "contact_id"]
    )
    op.create_table(
        "seen_products",
        sa.Column("shop_id", BIGINT, nullable=False),
        sa.Column("product_id", sa.BigInteger(), nullable=False),
        sa.Column("title", sa.String(length=255), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        _shop_fk("seen_products"),
        sa.PrimaryKeyConstraint("shop_id", "product_id", name=op.f("pk_seen_products")),
    )
    op.create_table(
        "order_backfills",
        sa.Column("id", BIGINT, autoincrement=True, nullable=False),
        sa.Column("shop_id", BIGINT, nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_from", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_to", sa.DateTime(timezone=True), nullable=False),
        sa.Column("cursor", sa.Text(), nullable=True),
        sa.Column("pages", sa.Integer(), nullable=False),
        sa.Column("orders_seen", sa.Integer(), nullable=False),
        sa.Column("orders_added", sa.Integer(), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        _shop_fk("order_backfills"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_order_backfills")),
    )
    op.create_index(op.f("ix_order_backfills_shop_id"), "order_backfills", ["shop_id"])
    op.create_index(
        "uq_order_backfills_shop_id_running",
        "order_backfills",
        ["shop_id"],
        unique=True,
        postgresql_where=ONE_ORDER_BACKFILL,
        sqlite_where=ONE_ORDER_BACKFILL,
    )


def downgrade():
    for table in reversed(NEW_TABLES):
        op.drop_table(table)
    op.drop_index("ix_contacts_segment_filters", table_name="contacts")
    op.create_index("ix_contacts_segment_filters", "contacts", OLD_SEGMENT_COLUMNS, unique=False)
    with op.batch_alter_table("contacts") as batch:
        batch.drop_column("last_messaged_at")
        batch.drop_column("first_order_at")
        batch.drop_column("total_spent")
