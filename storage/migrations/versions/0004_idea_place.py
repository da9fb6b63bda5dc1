"""ideas.place_id: the neighborhood an idea is about, when its author typed a place

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01 22:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # a plain ADD COLUMN on both engines (a batch copy of `ideas` on SQLite would drop the table and
    # cascade that to every support); no foreign key, since SQLite cannot add one to an existing table
    op.add_column("ideas", sa.Column("place_id", sa.Integer(), nullable=True))


def downgrade() -> None:
    op.execute(sa.text("ALTER TABLE ideas DROP COLUMN place_id"))
