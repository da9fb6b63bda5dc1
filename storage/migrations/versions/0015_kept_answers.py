"""processed_updates.answer_to, answer_method and answer: an update's first answer, kept for an hour
so that a delivery coming again after its process died is answered with it (`bot.middlewares.dedup`)

Plain ADD COLUMNs, all nullable, on both engines; the ids recorded before have no answer.

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

_COLUMNS = ("answer_to", "answer_method", "answer")


def upgrade() -> None:
    op.add_column("processed_updates", sa.Column("answer_to", sa.BigInteger(), nullable=True))
    op.add_column("processed_updates", sa.Column("answer_method", sa.String(length=64), nullable=True))
    op.add_column("processed_updates", sa.Column("answer", sa.Text(), nullable=True))


def downgrade() -> None:
    for column in reversed(_COLUMNS):
        op.execute(sa.text(f"ALTER TABLE processed_updates DROP COLUMN {column}"))
