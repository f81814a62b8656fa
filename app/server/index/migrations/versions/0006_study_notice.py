"""Stable-study notices: ``study_notice`` and an index on ``instance.received_at``.

A study that has had no new instance for ``[server.notify] stable_seconds`` is notified once
per newest instance time (``app.server.stable_study``); the index keeps the check to the
instances received recently.

Revision ID: 0006_study_notice
Revises: 0005_admin
Create Date: 2026-11-27
"""

import sqlalchemy as sa
from alembic import op

revision = "0006_study_notice"
down_revision = "0005_admin"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "study_notice",
        sa.Column("study_fk", sa.Integer(), sa.ForeignKey("study.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("last_received_at", sa.DateTime(timezone=False), nullable=False),
        sa.Column("notified_at", sa.DateTime(timezone=False), nullable=False),
    )
    op.create_index("ix_instance_received_at", "instance", ["received_at"])


def downgrade() -> None:
    op.drop_index("ix_instance_received_at", table_name="instance")
    op.drop_table("study_notice")
