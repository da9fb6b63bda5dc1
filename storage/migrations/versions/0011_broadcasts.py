"""staff broadcasts (composed, scheduled, cancelled, with a progress message) and photos in the outbox

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02 01:10:00

A new table, and one nullable column added to outbox_messages (batch mode on SQLite).
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
    with op.batch_alter_table("outbox_messages") as batch:
        batch.add_column(sa.Column("photo", sa.String(length=256), nullable=True))
    op.create_table(
        "broadcasts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("texts", sa.JSON(), nullable=False),
        sa.Column("audience", sa.JSON(), nullable=False),
        sa.Column("category", sa.String(length=32), nullable=False),
        sa.Column("photo", sa.String(length=256), nullable=True),
        sa.Column("flow", sa.String(length=32), nullable=True),
        sa.Column("send_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("message_id", sa.Integer(), nullable=True),
        sa.Column("recipients", sa.Integer(), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("progress_chat_id", sa.BigInteger(), nullable=True),
        sa.Column("progress_message_id", sa.BigInteger(), nullable=True),
        sa.Column("progress_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["created_by"], ["residents.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["message_id"], ["outbox_messages.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_broadcasts_status_send_at", "broadcasts", ["status", "send_at"])


def downgrade() -> None:
    op.drop_index("ix_broadcasts_status_send_at", table_name="broadcasts")
    op.drop_table("broadcasts")
    with op.batch_alter_table("outbox_messages") as batch:
        batch.drop_column("photo")
