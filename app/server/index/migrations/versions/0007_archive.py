"""The external archive tier: ``archive_study`` and ``archive_instance``.

Archive state per study (sending, committing under a Transaction UID, committed, failed;
online or removed, kept online until) and the instances the archive committed to keep
(PS3.4 J.3.3), for ``app.server.archive``.

Revision ID: 0007_archive
Revises: 0006_study_notice
Create Date: 2026-11-27
"""

import sqlalchemy as sa
from alembic import op

revision = "0007_archive"
down_revision = "0006_study_notice"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "archive_study",
        sa.Column("study_fk", sa.Integer(), sa.ForeignKey("study.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("job_id", sa.Integer(), nullable=True),
        sa.Column("transaction_uid", sa.String(64), nullable=False),
        sa.Column("requested_at", sa.DateTime(timezone=False), nullable=False),
        sa.Column("committed_at", sa.DateTime(timezone=False), nullable=True),
        sa.Column("online", sa.Integer(), nullable=False, server_default="1"),
        sa.Column("online_until", sa.DateTime(timezone=False), nullable=True),
        sa.Column("removed_at", sa.DateTime(timezone=False), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=False),
    )
    op.create_index("ix_archive_study_transaction", "archive_study", ["transaction_uid"])
    op.create_table(
        "archive_instance",
        sa.Column("study_fk", sa.Integer(), sa.ForeignKey("study.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("sop_instance_uid", sa.String(64), primary_key=True),
        sa.Column("committed", sa.Integer(), nullable=False),
        sa.Column("failure_reason", sa.Integer(), nullable=True),
    )


def downgrade() -> None:
    op.drop_table("archive_instance")
    op.drop_index("ix_archive_study_transaction", table_name="archive_study")
    op.drop_table("archive_study")
