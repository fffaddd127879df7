"""import seen numbers: the numbers a CSV import has met so far in its file, in the database

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-07 13:00:00.000000

A contact import tells "Duplicate of an earlier row" from "Already a contact" by the numbers
it has met earlier in the same file. It kept them in a Python set (~150 MB per million rows,
growing with the file); here they are one row per (import, phone hash), inserted a batch at a
time with ON CONFLICT DO NOTHING RETURNING (what is not returned was met before) and deleted
when the import ends. UNLOGGED on PostgreSQL: no WAL for rows that live minutes; after a crash
the table comes back empty, and a resumed import then only reports a number met before the
crash as "Already a contact" (its contact exists). Row-level security like every shop table
(migration 0010).
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0025"
down_revision = "0024"
branch_labels = None
depends_on = None

BIGINT = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
CONDITION = "shop_id = NULLIF(current_setting('app.shop_id', true), '')::bigint"


def upgrade():
    postgres = op.get_bind().dialect.name == "postgresql"
    op.create_table(
        "import_seen_numbers",
        sa.Column("transfer_id", BIGINT, nullable=False),
        sa.Column("phone_hash", sa.String(length=64), nullable=False),
        sa.Column("shop_id", BIGINT, nullable=False),
        sa.ForeignKeyConstraint(
            ["transfer_id"],
            ["contact_transfers.id"],
            name=op.f("fk_import_seen_numbers_transfer_id_contact_transfers"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["shop_id"], ["shops.id"], name=op.f("fk_import_seen_numbers_shop_id_shops"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("transfer_id", "phone_hash", name=op.f("pk_import_seen_numbers")),
        prefixes=["UNLOGGED"] if postgres else [],
    )
    if postgres:
        op.execute("ALTER TABLE import_seen_numbers ENABLE ROW LEVEL SECURITY")
        op.execute("ALTER TABLE import_seen_numbers FORCE ROW LEVEL SECURITY")
        op.execute(f"CREATE POLICY shop_isolation ON import_seen_numbers USING ({CONDITION}) WITH CHECK ({CONDITION})")


def downgrade():
    op.drop_table("import_seen_numbers")
