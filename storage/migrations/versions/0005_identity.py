"""residents.identity (a keyed hash of the Telegram id, kept after deletion) and installation_secrets

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 22:30:00

Existing residents get their identity lazily: the key may come from the settings (IDENTITY_KEY), which
a migration does not read, so `bot.services.residents.load` fills the column the next time the person
writes to the bot. Accounts deleted before this revision have no Telegram id left and stay without one.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "installation_secrets",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("value", sa.String(length=255), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_installation_secrets")),
    )
    # a plain ADD COLUMN on both engines: a batch copy of `residents` on SQLite would drop the table and
    # cascade that to every row that refers to a resident
    op.add_column("residents", sa.Column("identity", sa.String(length=64), nullable=True))
    op.create_index(op.f("ix_residents_identity"), "residents", ["identity"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_residents_identity"), table_name="residents")
    op.execute(sa.text("ALTER TABLE residents DROP COLUMN identity"))
    op.drop_table("installation_secrets")
