"""contacts consent segments transfers

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27 06:17:36.120605

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

BIGINT = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "contact_transfers",
        sa.Column("id", BIGINT, nullable=False),
        sa.Column("shop_id", BIGINT, nullable=False),
        sa.Column(
            "kind", sa.Enum("import", "export", name="transferkind", native_enum=False, length=16), nullable=False
        ),
        sa.Column(
            "status",
            sa.Enum("queued", "running", "completed", "failed", name="transferstatus", native_enum=False, length=16),
            nullable=False,
        ),
        sa.Column("filename", sa.String(length=255), nullable=True),
        sa.Column("total_rows", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("processed_rows", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("created_count", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("updated_count", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("error_count", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("errors", sa.JSON(), nullable=False),
        sa.Column("failure", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["shop_id"], ["shops.id"], name=op.f("fk_contact_transfers_shop_id_shops"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contact_transfers")),
    )
    with op.batch_alter_table("contact_transfers", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_contact_transfers_shop_id"), ["shop_id"], unique=False)

    op.create_table(
        "contacts",
        sa.Column("id", BIGINT, nullable=False),
        sa.Column("shop_id", BIGINT, nullable=False),
        sa.Column("phone_ciphertext", sa.Text(), nullable=False),
        sa.Column("phone_hash", sa.String(length=64), nullable=False),
        sa.Column("email_ciphertext", sa.Text(), nullable=True),
        sa.Column("email_hash", sa.String(length=64), nullable=True),
        sa.Column("first_name_ciphertext", sa.Text(), nullable=True),
        sa.Column("last_name_ciphertext", sa.Text(), nullable=True),
        sa.Column("birthday_ciphertext", sa.Text(), nullable=True),
        sa.Column("birth_month", sa.SmallInteger(), nullable=True),
        sa.Column("birth_day", sa.SmallInteger(), nullable=True),
        sa.Column("country_code", sa.String(length=2), nullable=True),
        sa.Column("timezone", sa.String(length=64), nullable=True),
        sa.Column(
            "consent_state",
            sa.Enum("pending", "subscribed", "unsubscribed", name="consentstate", native_enum=False, length=16),
            nullable=False,
        ),
        sa.Column(
            "consent_source",
            sa.Enum(
                "proxy_form",
                "admin",
                "import",
                "shopify",
                "keyword",
                "confirmation_link",
                "unsubscribe_link",
                name="consentsource",
                native_enum=False,
                length=24,
            ),
            nullable=True,
        ),
        sa.Column("consented_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("unsubscribed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("shopify_customer_id", sa.BigInteger(), nullable=True),
        sa.Column("last_order_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("order_count", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("last_clicked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["shop_id"], ["shops.id"], name=op.f("fk_contacts_shop_id_shops"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contacts")),
        sa.UniqueConstraint("shop_id", "phone_hash", name="uq_contacts_shop_id_phone_hash"),
    )
    with op.batch_alter_table("contacts", schema=None) as batch_op:
        batch_op.create_index("ix_contacts_shop_id_consent_state", ["shop_id", "consent_state"], unique=False)
        batch_op.create_index("ix_contacts_shop_id_created_at", ["shop_id", "created_at"], unique=False)
        batch_op.create_index("ix_contacts_shop_id_email_hash", ["shop_id", "email_hash"], unique=False)
        batch_op.create_index("ix_contacts_shop_id_id", ["shop_id", "id"], unique=False)

    op.create_table(
        "segments",
        sa.Column("id", BIGINT, nullable=False),
        sa.Column("shop_id", BIGINT, nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("filters", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["shop_id"], ["shops.id"], name=op.f("fk_segments_shop_id_shops"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_segments")),
        sa.UniqueConstraint("shop_id", "name", name="uq_segments_shop_id_name"),
    )
    with op.batch_alter_table("segments", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_segments_shop_id"), ["shop_id"], unique=False)

    op.create_table(
        "suppressions",
        sa.Column("id", BIGINT, nullable=False),
        sa.Column("shop_id", BIGINT, nullable=False),
        sa.Column("phone_hash", sa.String(length=64), nullable=False),
        sa.Column("reason", sa.String(length=32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["shop_id"], ["shops.id"], name=op.f("fk_suppressions_shop_id_shops"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_suppressions")),
        sa.UniqueConstraint("shop_id", "phone_hash", name="uq_suppressions_shop_id_phone_hash"),
    )
    op.create_table(
        "consent_events",
        sa.Column("id", BIGINT, nullable=False),
        sa.Column("shop_id", BIGINT, nullable=False),
        sa.Column("contact_id", BIGINT, nullable=False),
        sa.Column(
            "state",
            sa.Enum("pending", "subscribed", "unsubscribed", name="consentstate", native_enum=False, length=16),
            nullable=False,
        ),
        sa.Column(
            "source",
            sa.Enum(
                "proxy_form",
                "admin",
                "import",
                "shopify",
                "keyword",
                "confirmation_link",
                "unsubscribe_link",
                name="consentsource",
                native_enum=False,
                length=24,
            ),
            nullable=False,
        ),
        sa.Column("consent_text", sa.Text(), nullable=True),
        sa.Column("ip_ciphertext", sa.Text(), nullable=True),
        sa.Column("user_agent", sa.String(length=512), nullable=True),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["contact_id"], ["contacts.id"], name=op.f("fk_consent_events_contact_id_contacts"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["shop_id"], ["shops.id"], name=op.f("fk_consent_events_shop_id_shops"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_consent_events")),
    )
    with op.batch_alter_table("consent_events", schema=None) as batch_op:
        batch_op.create_index("ix_consent_events_contact_id_id", ["contact_id", "id"], unique=False)
        batch_op.create_index(batch_op.f("ix_consent_events_shop_id"), ["shop_id"], unique=False)

    op.create_table(
        "contact_tags",
        sa.Column("contact_id", BIGINT, nullable=False),
        sa.Column("tag", sa.String(length=64), nullable=False),
        sa.Column("shop_id", BIGINT, nullable=False),
        sa.ForeignKeyConstraint(
            ["contact_id"], ["contacts.id"], name=op.f("fk_contact_tags_contact_id_contacts"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["shop_id"], ["shops.id"], name=op.f("fk_contact_tags_shop_id_shops"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("contact_id", "tag", name=op.f("pk_contact_tags")),
    )
    with op.batch_alter_table("contact_tags", schema=None) as batch_op:
        batch_op.create_index("ix_contact_tags_shop_id_tag", ["shop_id", "tag"], unique=False)

    op.create_table(
        "contact_transfer_chunks",
        sa.Column("transfer_id", BIGINT, nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("shop_id", BIGINT, nullable=False),
        sa.Column("ciphertext", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["shop_id"], ["shops.id"], name=op.f("fk_contact_transfer_chunks_shop_id_shops"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["transfer_id"],
            ["contact_transfers.id"],
            name=op.f("fk_contact_transfer_chunks_transfer_id_contact_transfers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("transfer_id", "seq", name=op.f("pk_contact_transfer_chunks")),
    )


def downgrade() -> None:
    op.drop_table("contact_transfer_chunks")
    with op.batch_alter_table("contact_tags", schema=None) as batch_op:
        batch_op.drop_index("ix_contact_tags_shop_id_tag")

    op.drop_table("contact_tags")
    with op.batch_alter_table("consent_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_consent_events_shop_id"))
        batch_op.drop_index("ix_consent_events_contact_id_id")

    op.drop_table("consent_events")
    op.drop_table("suppressions")
    with op.batch_alter_table("segments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_segments_shop_id"))

    op.drop_table("segments")
    with op.batch_alter_table("contacts", schema=None) as batch_op:
        batch_op.drop_index("ix_contacts_shop_id_id")
        batch_op.drop_index("ix_contacts_shop_id_email_hash")
        batch_op.drop_index("ix_contacts_shop_id_created_at")
        batch_op.drop_index("ix_contacts_shop_id_consent_state")

    op.drop_table("contacts")
    with op.batch_alter_table("contact_transfers", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_contact_transfers_shop_id"))

    op.drop_table("contact_transfers")
