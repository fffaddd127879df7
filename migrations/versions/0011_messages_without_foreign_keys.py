"""messages without foreign keys

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-27 12:00:00.000000

A launch snapshots the whole audience into `messages` in one INSERT … SELECT; the three
foreign-key triggers (shop, campaign, contact) were 8.5 of its 14 s at a million recipients
(bench/README.md). The rows are only ever written by that snapshot, from ids it just read, and
the application keeps what the constraints did on delete: a shop's redaction deletes every
table's rows, deleting a campaign deletes its messages, deleting a contact clears
`messages.contact_id` (services/campaigns.py, services/contacts.py, services/privacy.py).
"""

from alembic import op

# revision identifiers, used by Alembic.
revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

FOREIGN_KEYS = (
    ("fk_messages_shop_id_shops", "shop_id", "shops", "CASCADE"),
    ("fk_messages_campaign_id_campaigns", "campaign_id", "campaigns", "CASCADE"),
    ("fk_messages_contact_id_contacts", "contact_id", "contacts", "SET NULL"),
)


def upgrade():
    with op.batch_alter_table("messages") as batch:
        for name, _column, _table, _on_delete in FOREIGN_KEYS:
            batch.drop_constraint(name, type_="foreignkey")


def downgrade():
    with op.batch_alter_table("messages") as batch:
        for name, column, table, on_delete in FOREIGN_KEYS:
            batch.create_foreign_key(name, table, [column], ["id"], ondelete=on_delete)
