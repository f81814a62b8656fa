"""Services of issue 3: worklist items, performed procedure steps, durable jobs, file checksums.

Revision ID: 0002_services
Revises: 0001_initial
Create Date: 2026-11-26
"""

import sqlalchemy as sa
from alembic import op

revision = "0002_services"
down_revision = "0001_initial"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("instance") as batch:
        batch.add_column(sa.Column("checksum", sa.String(80), nullable=True))
    op.create_table(
        "worklist_item",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("patient_id", sa.String(64), nullable=False),
        sa.Column("patient_name", sa.String(324), nullable=False),
        sa.Column("patient_name_lc", sa.String(324), nullable=False),
        sa.Column("birth_date", sa.String(8), nullable=False),
        sa.Column("sex", sa.String(16), nullable=False),
        sa.Column("accession_number", sa.String(64), nullable=False),
        sa.Column("referring_physician_name", sa.String(324), nullable=False),
        sa.Column("requested_procedure_id", sa.String(16), nullable=False),
        sa.Column("study_instance_uid", sa.String(64), nullable=False),
        sa.Column("sps_id", sa.String(16), nullable=False),
        sa.Column("sps_start_date", sa.String(8), nullable=False),
        sa.Column("sps_start_time", sa.String(16), nullable=False),
        sa.Column("modality", sa.String(16), nullable=False),
        sa.Column("station_ae_title", sa.String(16), nullable=False),
        sa.Column("station_name", sa.String(16), nullable=False),
        sa.Column("performing_physician_name", sa.String(324), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("dataset", sa.Text, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=False), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=False), nullable=False),
    )
    op.create_index("ix_worklist_sps_date", "worklist_item", ["sps_start_date"])
    op.create_index("ix_worklist_accession", "worklist_item", ["accession_number"])
    op.create_index("ix_worklist_sps_id", "worklist_item", ["sps_id"])
    op.create_table(
        "mpps",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("sop_instance_uid", sa.String(64), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("calling_ae_title", sa.String(16), nullable=False),
        sa.Column("patient_id", sa.String(64), nullable=False),
        sa.Column("study_instance_uid", sa.String(64), nullable=False),
        sa.Column("accession_number", sa.String(64), nullable=False),
        sa.Column("dataset", sa.Text, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=False), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=False), nullable=False),
        sa.UniqueConstraint("sop_instance_uid", name="uq_mpps_uid"),
    )
    op.create_table(
        "job",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("description", sa.String(200), nullable=False),
        sa.Column("payload", sa.Text, nullable=False),
        sa.Column("progress", sa.Text, nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("max_attempts", sa.Integer, nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=False), nullable=False),
        sa.Column("last_error", sa.Text, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=False), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=False), nullable=False),
    )
    op.create_index("ix_job_due", "job", ["state", "next_attempt_at"])


def downgrade() -> None:
    op.drop_index("ix_job_due", "job")
    op.drop_table("job")
    op.drop_table("mpps")
    op.drop_index("ix_worklist_sps_id", "worklist_item")
    op.drop_index("ix_worklist_accession", "worklist_item")
    op.drop_index("ix_worklist_sps_date", "worklist_item")
    op.drop_table("worklist_item")
    with op.batch_alter_table("instance") as batch:
        batch.drop_column("checksum")
