"""inbound reply message: the answer to a sender who is no contact

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-07 10:20:00.000000

Every text the app sends goes through the send path as a message row (issue 27). The answers to
STOP/START/HELP/join and the double opt-in confirmation are runs of internal automations, which
need a contact; a HELP from a number that is no contact is answered by a message row with no
contact, and `inbound_messages.reply_message_id` names it, so the send path finds the number in
the (sealed) text it answers. Nullable with no default (no table rewrite on PostgreSQL), a
partial index for the batch's lookup by message id. No new table, so no new row-level security
policy. The new campaign and automation kinds are VARCHAR values (no native enum): no change.
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0023"
down_revision = "0022"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("inbound_messages") as batch_op:
        batch_op.add_column(sa.Column("reply_message_id", sa.BigInteger(), nullable=True))
        batch_op.create_index(
            "ix_inbound_messages_reply_message_id",
            ["reply_message_id"],
            postgresql_where=sa.text("reply_message_id IS NOT NULL"),
            sqlite_where=sa.text("reply_message_id IS NOT NULL"),
        )


def downgrade():
    with op.batch_alter_table("inbound_messages") as batch_op:
        batch_op.drop_index("ix_inbound_messages_reply_message_id")
        batch_op.drop_column("reply_message_id")
