"""shopify imports: Shopify's SMS subscribers imported by a bulk operation, one at a time per shop

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-07 08:00:00.000000

A Shopify import is a `contact_transfers` row of kind `shopify_import` (services/shopify_import.py),
so the admin's import progress applies to it. `bulk_operation_id` names the Shopify bulk
operation its job polls (nullable, no default: PostgreSQL adds it without rewriting the table).
The partial unique index allows one queued or running Shopify import per shop. The table's
row-level security (migration 0010) covers the new column and index as they are.
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None

ONE_SHOPIFY_IMPORT = sa.text("kind = 'shopify_import' AND status IN ('queued', 'running')")


def upgrade():
    with op.batch_alter_table("contact_transfers") as batch_op:
        batch_op.add_column(sa.Column("bulk_operation_id", sa.String(length=255), nullable=True))
    op.create_index(
        "uq_contact_transfers_shop_id_shopify_import",
        "contact_transfers",
        ["shop_id"],
        unique=True,
        postgresql_where=ONE_SHOPIFY_IMPORT,
        sqlite_where=ONE_SHOPIFY_IMPORT,
    )


def downgrade():
    op.drop_index("uq_contact_transfers_shop_id_shopify_import", table_name="contact_transfers")
    op.execute("DELETE FROM contact_transfers WHERE kind = 'shopify_import'")
    with op.batch_alter_table("contact_transfers") as batch_op:
        batch_op.drop_column("bulk_operation_id")
