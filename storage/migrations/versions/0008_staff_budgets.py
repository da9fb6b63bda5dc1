"""staff budgets: a project's feasibility note (budget_projects.note)

One nullable column added (op.add_column on both engines; no batch copy of the table).

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02 00:25:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("budget_projects", sa.Column("note", sa.Text(), nullable=True))


def downgrade() -> None:
    # a plain ALTER (SQLite 3.35+), never a batch copy: the table is referenced with ON DELETE CASCADE
    op.execute(sa.text("ALTER TABLE budget_projects DROP COLUMN note"))
