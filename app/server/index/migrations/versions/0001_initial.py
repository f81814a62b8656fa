"""Initial index schema: patient, study, series, instance, counter.

Revision ID: 0001_initial
Revises:
Create Date: 2026-11-26
"""

import sqlalchemy as sa
from alembic import op

revision = "0001_initial"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "patient",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("patient_id", sa.String(64), nullable=False),
        sa.Column("issuer", sa.String(64), nullable=False),
        sa.Column("patient_name", sa.String(324), nullable=False),
        sa.Column("patient_name_lc", sa.String(324), nullable=False),
        sa.Column("birth_date", sa.String(8), nullable=False),
        sa.Column("sex", sa.String(16), nullable=False),
        sa.UniqueConstraint("patient_id", "issuer", name="uq_patient_id_issuer"),
    )
    op.create_table(
        "study",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("patient_fk", sa.Integer, sa.ForeignKey("patient.id", ondelete="CASCADE"), nullable=False),
        sa.Column("study_instance_uid", sa.String(64), nullable=False),
        sa.Column("study_date", sa.String(8), nullable=False),
        sa.Column("study_time", sa.String(16), nullable=False),
        sa.Column("study_description", sa.String(64), nullable=False),
        sa.Column("accession_number", sa.String(64), nullable=False),
        sa.Column("referring_physician_name", sa.String(324), nullable=False),
        sa.Column("study_id", sa.String(16), nullable=False),
        sa.Column("modalities", sa.String(160), nullable=False),
        sa.Column("num_series", sa.Integer, nullable=False),
        sa.Column("num_instances", sa.Integer, nullable=False),
        sa.UniqueConstraint("study_instance_uid", name="uq_study_uid"),
    )
    op.create_index("ix_study_patient", "study", ["patient_fk"])
    op.create_index("ix_study_date", "study", ["study_date"])
    op.create_index("ix_study_accession", "study", ["accession_number"])
    op.create_table(
        "series",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("study_fk", sa.Integer, sa.ForeignKey("study.id", ondelete="CASCADE"), nullable=False),
        sa.Column("series_instance_uid", sa.String(64), nullable=False),
        sa.Column("modality", sa.String(16), nullable=False),
        sa.Column("series_number", sa.Integer, nullable=True),
        sa.Column("series_description", sa.String(64), nullable=False),
        sa.Column("series_date", sa.String(8), nullable=False),
        sa.Column("series_time", sa.String(16), nullable=False),
        sa.Column("body_part", sa.String(16), nullable=False),
        sa.Column("num_instances", sa.Integer, nullable=False),
        sa.UniqueConstraint("series_instance_uid", name="uq_series_uid"),
    )
    op.create_index("ix_series_study", "series", ["study_fk"])
    op.create_table(
        "instance",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("series_fk", sa.Integer, sa.ForeignKey("series.id", ondelete="CASCADE"), nullable=False),
        sa.Column("sop_instance_uid", sa.String(64), nullable=False),
        sa.Column("sop_class_uid", sa.String(64), nullable=False),
        sa.Column("instance_number", sa.Integer, nullable=True),
        sa.Column("transfer_syntax_uid", sa.String(64), nullable=False),
        sa.Column("image_rows", sa.Integer, nullable=True),
        sa.Column("image_columns", sa.Integer, nullable=True),
        sa.Column("number_of_frames", sa.Integer, nullable=True),
        sa.Column("relpath", sa.String(80), nullable=False),
        sa.Column("size", sa.BigInteger, nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=False), nullable=False),
        sa.Column("source_ae", sa.String(64), nullable=False),
        sa.UniqueConstraint("relpath", name="uq_instance_relpath"),
    )
    op.create_index("ix_instance_series", "instance", ["series_fk"])
    op.create_index("ix_instance_sop_uid", "instance", ["sop_instance_uid"])
    op.create_table(
        "counter",
        sa.Column("name", sa.String(32), primary_key=True),
        sa.Column("value", sa.BigInteger, nullable=False),
    )
    op.bulk_insert(
        sa.table("counter", sa.column("name", sa.String), sa.column("value", sa.BigInteger)),
        [{"name": "changes", "value": 0}, {"name": "request", "value": 0}],
    )


def downgrade() -> None:
    op.drop_table("counter")
    op.drop_index("ix_instance_sop_uid", "instance")
    op.drop_index("ix_instance_series", "instance")
    op.drop_table("instance")
    op.drop_index("ix_series_study", "series")
    op.drop_table("series")
    op.drop_index("ix_study_accession", "study")
    op.drop_index("ix_study_date", "study")
    op.drop_index("ix_study_patient", "study")
    op.drop_table("study")
    op.drop_table("patient")
