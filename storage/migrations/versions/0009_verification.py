"""verification per process: processes.verification (none | phone | code), verifications (one per
person and per phone number or code in a process), verification_codes (keyed hashes only) and
verification_failures (wrong codes, for throttling)

New tables and one ADD COLUMN with a server default (op.add_column / op.create_table on both engines;
no batch copy of `processes`, which rows of other tables refer to with ON DELETE CASCADE). Existing
processes get "none": as before.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02 00:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "processes",
        sa.Column("verification", sa.String(length=8), server_default="none", nullable=False),
    )
    op.create_table(
        "verifications",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("process_id", sa.Integer(), nullable=False),
        sa.Column("identity", sa.String(length=64), nullable=False),
        sa.Column("method", sa.String(length=8), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("verified_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["process_id"],
            ["processes.id"],
            name=op.f("fk_verifications_process_id_processes"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_verifications")),
        sa.UniqueConstraint("process_id", "identity", name=op.f("uq_verifications_process_id_identity")),
        sa.UniqueConstraint("process_id", "key", name=op.f("uq_verifications_process_id_key")),
    )
    op.create_table(
        "verification_codes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("process_id", sa.Integer(), nullable=False),
        sa.Column("code_hash", sa.String(length=64), nullable=False),
        sa.Column("batch", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["process_id"],
            ["processes.id"],
            name=op.f("fk_verification_codes_process_id_processes"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_verification_codes")),
        sa.UniqueConstraint(
            "process_id", "code_hash", name=op.f("uq_verification_codes_process_id_code_hash")
        ),
    )
    op.create_table(
        "verification_failures",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("identity", sa.String(length=64), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_verification_failures")),
    )
    op.create_index(
        "ix_verification_failures_identity_at", "verification_failures", ["identity", "at"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_verification_failures_identity_at", table_name="verification_failures")
    op.drop_table("verification_failures")
    op.drop_table("verification_codes")
    op.drop_table("verifications")
    op.execute(sa.text("ALTER TABLE processes DROP COLUMN verification"))
