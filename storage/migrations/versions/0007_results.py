"""budget results: a pot's counted outcome and turnout, stored once and served from here

A new table only (op.create_table on both engines).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02 00:20:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "budget_results",
        sa.Column("pot_id", sa.Integer(), nullable=False),
        sa.Column("ballots", sa.Integer(), nullable=False),
        sa.Column("outcome", sa.JSON(), nullable=False),
        sa.Column("turnout", sa.JSON(), nullable=False),
        sa.Column("computed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("computed_by", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["pot_id"],
            ["budget_pots.id"],
            name=op.f("fk_budget_results_pot_id_budget_pots"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["computed_by"],
            ["residents.id"],
            name=op.f("fk_budget_results_computed_by_residents"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("pot_id", name=op.f("pk_budget_results")),
    )


def downgrade() -> None:
    op.drop_table("budget_results")
