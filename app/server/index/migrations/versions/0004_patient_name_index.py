"""Index on the lower-cased Patient Name, for C-FIND / QIDO-RS name searches.

A single-value or prefix-wildcard Patient Name key (``SMITH*``, PS3.4 C.2.2.2.4) matches
``patient.patient_name_lc``; without an index SQLite scanned every study and looked up
its patient: 520 ms per ``SMITH*`` search with 100,000 studies, 1.7 ms with it
(``Catalogue.search`` in process, the ``benchmarks/qr_latency.py`` data).
With ``case_sensitive_like`` on (app.server.index.engine) and this BINARY-collated index,
SQLite's LIKE optimisation turns a prefix into an index range.

Revision ID: 0004_patient_name_index
Revises: 0003_worklist_station_titles
Create Date: 2026-11-27
"""

from alembic import op

revision = "0004_patient_name_index"
down_revision = "0003_worklist_station_titles"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_patient_name_lc", "patient", ["patient_name_lc"])


def downgrade() -> None:
    op.drop_index("ix_patient_name_lc", table_name="patient")
