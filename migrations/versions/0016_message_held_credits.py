"""messages.held_credits: what the launch held for each broadcast message

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-07 00:30:00.000000

A launch holds an upper bound per destination country; a message can still cost more when its
contact (longer name, another country), the shop's name or the discount changes after the
launch. Each snapshot row records its share of the hold, so a batch takes the excess over it
from the balance before the provider call (services/sending.py, services/credits.py). NULL on
rows snapshotted before this migration and on carrier campaigns' rows (they hold per message).
Nullable with no default: PostgreSQL adds the column without rewriting the table.
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("messages") as batch_op:
        batch_op.add_column(sa.Column("held_credits", sa.Integer(), nullable=True))


def downgrade():
    with op.batch_alter_table("messages") as batch_op:
        batch_op.drop_column("held_credits")
