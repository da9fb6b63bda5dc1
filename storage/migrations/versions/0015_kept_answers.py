"""processed_updates.answer_to and answer: an update's answers, kept for an hour so that a delivery
coming again after its process died is answered with them (`bot.middlewares.dedup`)

Plain ADD COLUMNs, both nullable, on both engines (the ids recorded before have no answer), and an index
of the rows that have one, by person (partial on both engines: an hour's rows, not two days').

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-06 04:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_KEPT = sa.text("answer_to IS NOT NULL")


def upgrade() -> None:
    op.add_column("processed_updates", sa.Column("answer_to", sa.BigInteger(), nullable=True))
    op.add_column("processed_updates", sa.Column("answer", sa.Text(), nullable=True))
    op.create_index(
        "ix_processed_updates_answer_to",
        "processed_updates",
        ["answer_to"],
        postgresql_where=_KEPT,
        sqlite_where=_KEPT,
    )


def downgrade() -> None:
    op.drop_index("ix_processed_updates_answer_to", table_name="processed_updates")
    for column in ("answer", "answer_to"):
        op.execute(sa.text(f"ALTER TABLE processed_updates DROP COLUMN {column}"))
