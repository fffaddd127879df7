"""inbox read marks: the last shopper text the merchant has read, per contact

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-08 01:00:00.000000

`contacts.inbox_read_id` is the id of the newest inbound message of the contact the merchant
marked read (POST /api/inbox/<contact_id>/read); the thread's unread texts are the later ones
(found through ix_inbound_messages_shop_id_contact_id_id). Nullable with no default: PostgreSQL
adds it without rewriting the table, and NULL means nothing read yet. No new table, so no new
row-level security policy: the contacts table has one (migration 0010).
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("contacts") as batch_op:
        batch_op.add_column(sa.Column("inbox_read_id", sa.BigInteger(), nullable=True))


def downgrade():
    with op.batch_alter_table("contacts") as batch_op:
        batch_op.drop_column("inbox_read_id")
