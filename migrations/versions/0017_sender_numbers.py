"""sender numbers: numeric senders assigned to one shop by the operator

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-07 00:30:00.000000

Before, a shop's numeric `sender_id` setting was copied into `shops.inbound_number` and inbound
texts routed by it, so any shop could claim any number, and two shops claiming one made replies
to it match both (and a STOP was kept for neither). Numbers now belong to a shop only by the
operator's assignment (`sender_numbers`, one row per number, unique); `sender_assignments` keeps
every period a shop held a number, so a STOP to a released number still reaches each of them.
`messages.sender` records what each text went from (a nullable column without a default: no
rewrite of the table). `shops.inbound_number` goes: nothing routes by a typed number any more,
and the numbers it held are not carried over (they were never checked; the operator assigns).
Row-level security like every shop table (migration 0010); operators reach them privileged.
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None

BIGINT = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
CONDITION = "shop_id = NULLIF(current_setting('app.shop_id', true), '')::bigint"
TABLES = ("sender_numbers", "sender_assignments")


def upgrade():
    op.create_table(
        "sender_numbers",
        sa.Column("id", BIGINT, nullable=False),
        sa.Column("number", sa.String(length=16), nullable=False),
        sa.Column("shop_id", BIGINT, nullable=True),
        sa.Column("assigned_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("released_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("note", sa.String(length=255), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["shop_id"], ["shops.id"], name=op.f("fk_sender_numbers_shop_id_shops"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sender_numbers")),
        sa.UniqueConstraint("number", name=op.f("uq_sender_numbers_number")),
    )
    op.create_index("ix_sender_numbers_shop_id", "sender_numbers", ["shop_id"])
    op.create_table(
        "sender_assignments",
        sa.Column("id", BIGINT, nullable=False),
        sa.Column("number", sa.String(length=16), nullable=False),
        sa.Column("shop_id", BIGINT, nullable=False),
        sa.Column("assigned_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("released_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["shop_id"], ["shops.id"], name=op.f("fk_sender_assignments_shop_id_shops"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sender_assignments")),
    )
    op.create_index("ix_sender_assignments_number_shop_id", "sender_assignments", ["number", "shop_id"])
    with op.batch_alter_table("messages") as batch:
        batch.add_column(sa.Column("sender", sa.String(length=16), nullable=True))
    with op.batch_alter_table("send_attempts") as batch:  # the senders of an attempt's rows, parallel to its ids
        batch.add_column(sa.Column("senders", sa.Text(), nullable=True))
    with op.batch_alter_table("shops") as batch:
        batch.drop_index("ix_shops_inbound_number")
        batch.drop_column("inbound_number")
    if op.get_bind().dialect.name == "postgresql":
        for table in TABLES:
            op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
            op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
            op.execute(f"CREATE POLICY shop_isolation ON {table} USING ({CONDITION}) WITH CHECK ({CONDITION})")


def downgrade():
    with op.batch_alter_table("shops") as batch:
        batch.add_column(sa.Column("inbound_number", sa.String(length=20), nullable=True))
        batch.create_index("ix_shops_inbound_number", ["inbound_number"], unique=False)
    with op.batch_alter_table("send_attempts") as batch:
        batch.drop_column("senders")
    with op.batch_alter_table("messages") as batch:
        batch.drop_column("sender")
    op.drop_index("ix_sender_assignments_number_shop_id", table_name="sender_assignments")
    op.drop_table("sender_assignments")
    op.drop_index("ix_sender_numbers_shop_id", table_name="sender_numbers")
    op.drop_table("sender_numbers")
