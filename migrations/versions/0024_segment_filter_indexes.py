"""segment filter indexes: counts read narrow indexes, not the sealed contact rows

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-07 12:15:00.000000

A segment count (`POST /api/segments/count`, the editor's live preview) at 100k contacts read
every contact row (~600 bytes each with the sealed phone, email and names) and joined the
matches back to contacts: 80-115 ms for two filters (bench/lists.py). Every column a segment
filters on now sits in one index with the id, so the count is an index-only scan of ~1/10 the
pages; it also serves what `(shop_id, consent_state)` served (its prefix), which it replaces.
The tag index gains `contact_id`, so a tag's members are read from the index alone.
Cost: the order and click handlers' updates of `order_count`, `last_order_at` and
`last_clicked_at` now touch an index (no HOT update for them).
"""

from alembic import op

# revision identifiers, used by Alembic.
revision = "0024"
down_revision = "0023"
branch_labels = None
depends_on = None

SEGMENT_COLUMNS = [
    "shop_id",
    "consent_state",
    "order_count",
    "last_clicked_at",
    "last_order_at",
    "created_at",
    "country_code",
    "id",
]


def upgrade():
    op.create_index("ix_contacts_segment_filters", "contacts", SEGMENT_COLUMNS, unique=False)
    op.drop_index("ix_contacts_shop_id_consent_state", table_name="contacts")
    op.create_index("ix_contact_tags_shop_id_tag_contact_id", "contact_tags", ["shop_id", "tag", "contact_id"])
    op.drop_index("ix_contact_tags_shop_id_tag", table_name="contact_tags")


def downgrade():
    op.create_index("ix_contact_tags_shop_id_tag", "contact_tags", ["shop_id", "tag"], unique=False)
    op.drop_index("ix_contact_tags_shop_id_tag_contact_id", table_name="contact_tags")
    op.create_index("ix_contacts_shop_id_consent_state", "contacts", ["shop_id", "consent_state"], unique=False)
    op.drop_index("ix_contacts_segment_filters", table_name="contacts")
