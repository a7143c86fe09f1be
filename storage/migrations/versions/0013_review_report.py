"""model_review: the generated review report (period, number, Word file) (issue 13)

Revision ID: 0013
Revises: 0012
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("model_review") as batch:
        batch.add_column(sa.Column("period_from", sa.Date(), nullable=True))
        batch.add_column(sa.Column("period_to", sa.Date(), nullable=True))
        batch.add_column(sa.Column("doc_number", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("document", sa.LargeBinary(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("model_review") as batch:
        batch.drop_column("document")
        batch.drop_column("doc_number")
        batch.drop_column("period_to")
        batch.drop_column("period_from")
