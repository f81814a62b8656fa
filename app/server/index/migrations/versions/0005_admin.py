"""Admin API: study reading status, the change log, and the corrected marks.

``study_status`` holds who read or approved a study and when; ``change_log`` records
approvals, corrections, merges, splits and deletions in commit order (AUTOINCREMENT on
SQLite, so an id is never reused); ``patient.corrected`` and ``study.corrected`` tell the
outbound paths (WADO-RS, C-MOVE, sends) that the stored files carry other values than the
catalogue (``app.server.corrections.apply_catalogue_values``).

Revision ID: 0005_admin
Revises: 0004_patient_name_index
Create Date: 2026-11-27
"""

import sqlalchemy as sa
from alembic import op

revision = "0005_admin"
down_revision = "0004_patient_name_index"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("patient", sa.Column("corrected", sa.Integer(), nullable=False, server_default="0"))
    op.add_column("study", sa.Column("corrected", sa.Integer(), nullable=False, server_default="0"))
    op.create_table(
        "study_status",
        sa.Column("study_fk", sa.Integer(), sa.ForeignKey("study.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("approved_by", sa.String(64), nullable=False),
        sa.Column("approved_at", sa.DateTime(timezone=False), nullable=True),
        sa.Column("read_by", sa.String(64), nullable=False),
        sa.Column("read_at", sa.DateTime(timezone=False), nullable=True),
    )
    op.create_table(
        "change_log",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("at", sa.DateTime(timezone=False), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("level", sa.String(16), nullable=False),
        sa.Column("study_instance_uid", sa.String(64), nullable=False),
        sa.Column("series_instance_uid", sa.String(64), nullable=False),
        sa.Column("sop_instance_uid", sa.String(64), nullable=False),
        sa.Column("patient_id", sa.String(64), nullable=False),
        sa.Column("by", sa.String(64), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sqlite_autoincrement=True,
    )


def downgrade() -> None:
    op.drop_table("change_log")
    op.drop_table("study_status")
    with op.batch_alter_table("study") as batch:
        batch.drop_column("corrected")
    with op.batch_alter_table("patient") as batch:
        batch.drop_column("corrected")
