"""partial indexes on messages (contact_id, sent_at) and (shop_id, sent_at)

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-27 19:20:00.000000

A message has no `sent_at` from its snapshot until the provider accepts it, and every write
before that (the snapshot's INSERT, the attempt's UPDATE: `state` changes, so it is never a
HOT update) took an insertion into both indexes for an entry no query wants. Every lookup
names a range of `sent_at` (the frequency cap, reports by period, attribution, delivery's
timeout), which implies NOT NULL, so the partial indexes serve them (tests/test_sending.py
checks the plans). bench/attempt_write.py: the attempt's UPDATE went from 19.4-19.7 to
11.8-13.4 µs per message on PostgreSQL.
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

INDEXES = (
    ("ix_messages_contact_id_sent_at", ["contact_id", "sent_at"]),
    ("ix_messages_shop_id_sent_at", ["shop_id", "sent_at"]),
)


def upgrade():
    where = sa.text("sent_at IS NOT NULL")
    for name, columns in INDEXES:
        op.drop_index(name, table_name="messages")
        op.create_index(name, "messages", columns, postgresql_where=where, sqlite_where=where)


def downgrade():
    for name, columns in INDEXES:
        op.drop_index(name, table_name="messages")
        op.create_index(name, "messages", columns)
