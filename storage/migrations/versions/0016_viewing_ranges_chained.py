"""clip_viewing: a viewing's byte ranges chained when it ends (issue 11)

A viewing is closed by a ``viewing_ended`` custody event carrying its merged byte ranges
(``closed_seq``). The player's viewing id may then name a new viewing, so the row's key becomes its
``viewed`` event (``event_seq``, unique per viewing) and the id is unique among open viewings only.
Rows already there stay open; the checkpoint writer closes them (chaining their ranges) once idle.

Revision ID: 0016
Revises: 0015
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("clip_viewing") as batch:
        batch.add_column(sa.Column("closed_seq", sa.BigInteger(), nullable=True))
        batch.drop_constraint("pk_clip_viewing", type_="primary")
        batch.create_primary_key("pk_clip_viewing", ["event_seq"])
    op.create_index("uq_clip_viewing_open", "clip_viewing", ["id"], unique=True,
                    sqlite_where=sa.text("closed_seq IS NULL"), postgresql_where=sa.text("closed_seq IS NULL"))


def downgrade() -> None:
    op.drop_index("uq_clip_viewing_open", table_name="clip_viewing")
    op.execute("DELETE FROM clip_viewing WHERE closed_seq IS NOT NULL")  # their ranges are on the chain
    with op.batch_alter_table("clip_viewing") as batch:
        batch.drop_constraint("pk_clip_viewing", type_="primary")
        batch.create_primary_key("pk_clip_viewing", ["id"])
        batch.drop_column("closed_seq")
