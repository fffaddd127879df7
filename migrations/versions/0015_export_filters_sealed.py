"""contact exports keep their filter sealed in their own row

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-07 00:45:00.000000

An export's filter (which may be a phone number) used to travel as the RQ job's argument, so it
sat in clear in the Redis job hash. The job now takes only the export's id and reads the filter
from this column (AES-GCM, bound to the row's shop like every sealed column), cleared when the
export is done.
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("contact_transfers") as batch:
        batch.add_column(sa.Column("filters_ciphertext", sa.Text(), nullable=True))


def downgrade():
    with op.batch_alter_table("contact_transfers") as batch:
        batch.drop_column("filters_ciphertext")
