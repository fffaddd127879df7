"""ab tests: a campaign's other bodies, its test's settings and outcome, each message's variant

Revision ID: 0027
Revises: 0026
Create Date: 2026-12-07 15:00:00.000000

An A/B-tested campaign (services/campaigns/ab_tests.py) keeps its bodies B-D in
`campaign_variants` (A is the campaign's own body) and its test in `ab_tests`: the share of the
audience tested, the metric, the wait, who decides, and once decided (exactly once: a
conditional UPDATE on `decided_at IS NULL`) the winner and the figures it won on.
`messages.variant` records the body each recipient was assigned: nullable with no default, so
PostgreSQL adds it without rewriting the table, and every other campaign's rows keep NULL.
Row-level security on both new tables like every shop table (migration 0010).
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0027"
down_revision = "0026"
branch_labels = None
depends_on = None

BIGINT = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
CONDITION = "shop_id = NULLIF(current_setting('app.shop_id', true), '')::bigint"
TABLES = ("campaign_variants", "ab_tests")


def _owned(table):
    """The id, shop and campaign columns and keys both tables share."""
    return (
        sa.Column("id", BIGINT, nullable=False),
        sa.Column("shop_id", BIGINT, nullable=False),
        sa.Column("campaign_id", BIGINT, nullable=False),
        sa.ForeignKeyConstraint(["shop_id"], ["shops.id"], name=op.f(f"fk_{table}_shop_id_shops"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(
            ["campaign_id"], ["campaigns.id"], name=op.f(f"fk_{table}_campaign_id_campaigns"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{table}")),
    )


def upgrade():
    op.create_table(
        "campaign_variants",
        *_owned("campaign_variants"),
        sa.Column("label", sa.String(length=1), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("campaign_id", "label", name="uq_campaign_variants_campaign_id_label"),
    )
    op.create_table(
        "ab_tests",
        *_owned("ab_tests"),
        sa.Column("test_share", sa.SmallInteger(), nullable=False),
        sa.Column("metric", sa.String(length=16), nullable=False),
        sa.Column("wait_hours", sa.SmallInteger(), nullable=False),
        sa.Column("decision", sa.String(length=8), nullable=False),
        sa.Column("decide_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("test_recipients", sa.Integer(), nullable=True),
        sa.Column("held_recipients", sa.Integer(), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("winner", sa.String(length=1), nullable=True),
        sa.Column("decided_by", sa.String(length=64), nullable=True),
        sa.Column("results", sa.JSON(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("campaign_id", name="uq_ab_tests_campaign_id"),
    )
    for table in TABLES:
        op.create_index(op.f(f"ix_{table}_shop_id"), table, ["shop_id"])
    op.create_index("ix_ab_tests_decided_at_decide_at", "ab_tests", ["decided_at", "decide_at"])
    with op.batch_alter_table("messages") as batch_op:
        batch_op.add_column(sa.Column("variant", sa.String(length=1), nullable=True))
    if op.get_bind().dialect.name == "postgresql":
        for table in TABLES:
            op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
            op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
            op.execute(f"CREATE POLICY shop_isolation ON {table} USING ({CONDITION}) WITH CHECK ({CONDITION})")


def downgrade():
    with op.batch_alter_table("messages") as batch_op:
        batch_op.drop_column("variant")
    op.drop_index("ix_ab_tests_decided_at_decide_at", table_name="ab_tests")
    for table in reversed(TABLES):
        op.drop_index(op.f(f"ix_{table}_shop_id"), table_name=table)
        op.drop_table(table)
