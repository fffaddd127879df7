"""media: the images of MMS campaigns, and campaigns.media_id

Revision ID: 0029
Revises: 0028
Create Date: 2026-12-07 14:30:00.000000

An image attached to a campaign is stored in the database (at most 1 MB once re-encoded by
services/media/images.py) and served publicly at `/media/<token>.<ext>` so the provider can
fetch it over HTTPS without credentials: the random token is the capability (unique). A
campaign points at its image (NULL: plain SMS); deleting an image detaches it (SET NULL).
Row-level security like every shop table (migration 0010); the public route reads as the
admin role, by token.
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0029"
down_revision = "0028"
branch_labels = None
depends_on = None

BIGINT = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
CONDITION = "shop_id = NULLIF(current_setting('app.shop_id', true), '')::bigint"


def upgrade():
    op.create_table(
        "media",
        sa.Column("id", BIGINT, autoincrement=True, nullable=False),
        sa.Column("shop_id", BIGINT, nullable=False),
        sa.Column("token", sa.String(length=64), nullable=False),
        sa.Column("content_type", sa.String(length=32), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("width", sa.Integer(), nullable=False),
        sa.Column("height", sa.Integer(), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["shop_id"], ["shops.id"], name=op.f("fk_media_shop_id_shops"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_media")),
        sa.UniqueConstraint("token", name=op.f("uq_media_token")),
    )
    op.create_index("ix_media_shop_id_id", "media", ["shop_id", "id"], unique=False)
    with op.batch_alter_table("campaigns", schema=None) as batch_op:
        batch_op.add_column(sa.Column("media_id", BIGINT, nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_campaigns_media_id_media"), "media", ["media_id"], ["id"], ondelete="SET NULL"
        )
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE media ENABLE ROW LEVEL SECURITY")
        op.execute("ALTER TABLE media FORCE ROW LEVEL SECURITY")
        op.execute(f"CREATE POLICY shop_isolation ON media USING ({CONDITION}) WITH CHECK ({CONDITION})")


def downgrade():
    with op.batch_alter_table("campaigns", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_campaigns_media_id_media"), type_="foreignkey")
        batch_op.drop_column("media_id")
    op.drop_index("ix_media_shop_id_id", table_name="media")
    op.drop_table("media")
