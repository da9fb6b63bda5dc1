"""budget_pots.ballot_version: a new random number whenever what the pot's ballot shows changes, so a
process may keep the ballot it read until the number changes (`storage.models`, "a pot's ballot version")

A plain ADD COLUMN with a default on both engines; every pot starts at 0.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-03 14:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "budget_pots", sa.Column("ballot_version", sa.BigInteger(), server_default="0", nullable=False)
    )


def downgrade() -> None:
    op.execute(sa.text("ALTER TABLE budget_pots DROP COLUMN ballot_version"))
