"""delivery event reference: our own message id, as a delivery report carries it back

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-07 10:00:00.000000

Every message goes to Mitto with `reference` = our message id, and its reports carry it back.
`delivery_events.reference` keeps it, so a report is matched to its message on our own id first
and on Mitto's message id only when the reference names none (services/sending/delivery.py).
Nullable with no default: PostgreSQL adds it without rewriting the table, and older reports
(and those without a reference) keep NULL. No new table, so no new row-level security policy.
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("delivery_events") as batch_op:
        batch_op.add_column(sa.Column("reference", sa.String(length=64), nullable=True))


def downgrade():
    with op.batch_alter_table("delivery_events") as batch_op:
        batch_op.drop_column("reference")
