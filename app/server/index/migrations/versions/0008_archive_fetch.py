"""The archive tier: a fetch-back claimed in the index (``archive_study.fetch_owner``).

With several server processes on one index, the process that fetches an archived study back
(C-FIND + C-MOVE to the archive) claims it first: ``fetch_owner`` names the process and
``fetch_expires_at`` ends the claim should it die meanwhile. The others wait for the study to
come online instead of asking the archive again (``app.server.archive_fetch``).

Revision ID: 0008_archive_fetch
Revises: 0007_archive
Create Date: 2026-11-27
"""

import sqlalchemy as sa
from alembic import op

revision = "0008_archive_fetch"
down_revision = "0007_archive"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("archive_study") as batch:
        batch.add_column(sa.Column("fetch_owner", sa.String(128), nullable=True))
        batch.add_column(sa.Column("fetch_expires_at", sa.DateTime(timezone=False), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("archive_study") as batch:
        batch.drop_column("fetch_expires_at")
        batch.drop_column("fetch_owner")
