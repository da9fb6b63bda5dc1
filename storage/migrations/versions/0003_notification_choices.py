"""notification choices per category (categories come from the feature manifest)

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01 21:30:00

The three fixed columns `residents.notify_phases/events/council` become rows of
`notification_choices`, one per category a resident turned off or on, so a feature adds a category
without a migration. A resident's explicit "off" is kept; "on" was the default and needs no row.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OLD = {"phases": "notify_phases", "events": "notify_events", "council": "notify_council"}


def upgrade() -> None:
    op.create_table(
        "notification_choices",
        sa.Column("resident_id", sa.Integer(), nullable=False),
        sa.Column("category", sa.String(length=32), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["resident_id"],
            ["residents.id"],
            name=op.f("fk_notification_choices_resident_id_residents"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("resident_id", "category", name=op.f("pk_notification_choices")),
    )
    for category, column in OLD.items():
        op.execute(
            sa.text(
                "INSERT INTO notification_choices (resident_id, category, enabled) "
                f"SELECT id, '{category}', false FROM residents WHERE {column} = false"
            )
        )
    # plain ALTER TABLE (SQLite 3.35+ and PostgreSQL): a batch copy of `residents` would drop the table,
    # and with foreign keys on, SQLite would cascade that to every row that refers to a resident
    for column in OLD.values():
        op.execute(sa.text(f"ALTER TABLE residents DROP COLUMN {column}"))


def downgrade() -> None:
    for column in OLD.values():
        op.execute(sa.text(f"ALTER TABLE residents ADD COLUMN {column} BOOLEAN NOT NULL DEFAULT true"))
    for category, column in OLD.items():
        op.execute(
            sa.text(
                f"UPDATE residents SET {column} = false WHERE id IN (SELECT resident_id FROM "
                f"notification_choices WHERE category = '{category}' AND enabled = false)"
            )
        )
    op.drop_table("notification_choices")
