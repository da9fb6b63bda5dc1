"""budget_ballots.neighborhood_id: the voter's neighborhood when they confirmed the ballot, for the
turnout by neighborhood (imported ballots have none)

A plain ADD COLUMN on both engines: a batch copy of `budget_ballots` on SQLite would drop the table, and
`budget_choices` references it with ON DELETE CASCADE. No foreign key (SQLite cannot add one to an
existing table), as `ideas.place_id`. Ballots confirmed before this take their voter's neighborhood now,
which is what the turnout used for them until now.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-02 02:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("budget_ballots", sa.Column("neighborhood_id", sa.Integer(), nullable=True))
    op.execute(
        sa.text(
            "UPDATE budget_ballots SET neighborhood_id = (SELECT residents.neighborhood_id FROM residents "
            "WHERE residents.id = budget_ballots.resident_id) WHERE resident_id IS NOT NULL"
        )
    )


def downgrade() -> None:
    op.execute(sa.text("ALTER TABLE budget_ballots DROP COLUMN neighborhood_id"))
