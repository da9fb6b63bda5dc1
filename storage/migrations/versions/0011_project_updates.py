"""project updates: staff's implementation updates on a selected budget project, and a photo on an
outbox message (an update's photo goes out with its notices)

A new table and a plain added column (no batch copy on SQLite).

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02 00:50:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("outbox_messages", sa.Column("photo", sa.String(length=255), nullable=True))
    op.create_table(
        "budget_project_updates",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("stage", sa.String(length=16), nullable=False),
        sa.Column("texts", sa.JSON(), nullable=False),
        sa.Column("photo_file_id", sa.String(length=255), nullable=True),
        sa.Column("author_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["budget_projects.id"],
            name=op.f("fk_budget_project_updates_project_id_budget_projects"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["author_id"],
            ["residents.id"],
            name=op.f("fk_budget_project_updates_author_id_residents"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_budget_project_updates")),
    )
    op.create_index(
        op.f("ix_budget_project_updates_project_id"), "budget_project_updates", ["project_id"], unique=False
    )


def downgrade() -> None:
    # a plain ALTER (SQLite 3.35+), never a batch copy: the table is referenced with ON DELETE CASCADE
    op.execute(sa.text("ALTER TABLE outbox_messages DROP COLUMN photo"))
    op.drop_index(op.f("ix_budget_project_updates_project_id"), table_name="budget_project_updates")
    op.drop_table("budget_project_updates")
