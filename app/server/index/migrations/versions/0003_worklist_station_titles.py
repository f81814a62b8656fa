"""Worklist: room for several Scheduled Station AE Titles (AE, VM 1-n) in one item.

DCMTK's sample worklists schedule a step on up to four stations (``FG56\\ER67\\JJ56\\TZ77``,
19 characters); the column holds the values joined by ``\\``, as ``study.modalities`` does.

Revision ID: 0003_worklist_station_titles
Revises: 0002_services
Create Date: 2026-11-27
"""

import sqlalchemy as sa
from alembic import op

revision = "0003_worklist_station_titles"
down_revision = "0002_services"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("worklist_item") as batch:
        batch.alter_column("station_ae_title", type_=sa.String(160), existing_type=sa.String(16),
                           existing_nullable=False)


def downgrade() -> None:
    with op.batch_alter_table("worklist_item") as batch:
        batch.alter_column("station_ae_title", type_=sa.String(16), existing_type=sa.String(160),
                           existing_nullable=False)
