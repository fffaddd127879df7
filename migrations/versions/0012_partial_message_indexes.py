"""partial indexes on messages.automation_run_id and provider_message_id

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-27 12:10:00.000000

A launch snapshots every recipient with both columns NULL; full indexes took one insertion per
row each for entries no lookup ever wants. Lookups name a value (`= …`, `IN (…)`), which
implies NOT NULL, so the partial indexes serve them; the automation carrier's
`ON CONFLICT (automation_run_id)` names the predicate (services/automations.py).
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

INDEXES = (
    ("uq_messages_automation_run_id", "automation_run_id", True),
    ("ix_messages_provider_message_id", "provider_message_id", False),
)


def upgrade():
    for name, column, unique in INDEXES:
        op.drop_index(name, table_name="messages")
        where = sa.text(f"{column} IS NOT NULL")
        op.create_index(name, "messages", [column], unique=unique, postgresql_where=where, sqlite_where=where)


def downgrade():
    for name, column, unique in INDEXES:
        op.drop_index(name, table_name="messages")
        op.create_index(name, "messages", [column], unique=unique)
