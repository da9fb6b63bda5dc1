"""budgets: pots, projects, ballots (one per person per pot: UNIQUE(pot_id, identity)) and choices

New tables only (op.create_table on both engines; no batch copy of an existing table).

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01 23:55:27.630753
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "budget_pots",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("process_id", sa.Integer(), nullable=False),
        sa.Column("names", sa.JSON(), nullable=False),
        sa.Column("scope", sa.String(length=16), nullable=False),
        sa.Column("district_id", sa.Integer(), nullable=True),
        sa.Column("neighborhood_id", sa.Integer(), nullable=True),
        sa.Column("budget", sa.BigInteger(), nullable=False),
        sa.Column("ballot_kind", sa.String(length=16), nullable=False),
        sa.Column("min_projects", sa.Integer(), nullable=True),
        sa.Column("max_projects", sa.Integer(), nullable=True),
        sa.Column("min_share", sa.Integer(), nullable=True),
        sa.Column("approval_limit", sa.Integer(), nullable=True),
        sa.Column("rule", sa.String(length=24), nullable=False),
        sa.Column("rule_param", sa.Integer(), nullable=True),
        sa.Column("meta", sa.JSON(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["district_id"],
            ["districts.id"],
            name=op.f("fk_budget_pots_district_id_districts"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["neighborhood_id"],
            ["neighborhoods.id"],
            name=op.f("fk_budget_pots_neighborhood_id_neighborhoods"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["process_id"],
            ["processes.id"],
            name=op.f("fk_budget_pots_process_id_processes"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_budget_pots")),
    )
    op.create_index(op.f("ix_budget_pots_process_id"), "budget_pots", ["process_id"], unique=False)

    op.create_table(
        "budget_ballots",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("pot_id", sa.Integer(), nullable=False),
        sa.Column("identity", sa.String(length=80), nullable=False),
        sa.Column("resident_id", sa.Integer(), nullable=True),
        sa.Column("receipt", sa.String(length=16), nullable=False),
        sa.Column("voter_label", sa.String(length=64), nullable=True),
        sa.Column("confirmed_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["pot_id"],
            ["budget_pots.id"],
            name=op.f("fk_budget_ballots_pot_id_budget_pots"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["resident_id"],
            ["residents.id"],
            name=op.f("fk_budget_ballots_resident_id_residents"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_budget_ballots")),
        sa.UniqueConstraint("pot_id", "identity", name=op.f("uq_budget_ballots_pot_id_identity")),
        sa.UniqueConstraint("pot_id", "receipt", name=op.f("uq_budget_ballots_pot_id_receipt")),
    )
    op.create_index(op.f("ix_budget_ballots_resident_id"), "budget_ballots", ["resident_id"], unique=False)

    op.create_table(
        "budget_projects",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("pot_id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("titles", sa.JSON(), nullable=False),
        sa.Column("summaries", sa.JSON(), nullable=False),
        sa.Column("cost", sa.BigInteger(), nullable=False),
        sa.Column("idea_id", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("status_reason", sa.Text(), nullable=True),
        sa.Column("neighborhood_id", sa.Integer(), nullable=True),
        sa.Column("latitude", sa.Float(), nullable=True),
        sa.Column("longitude", sa.Float(), nullable=True),
        sa.Column("photo_file_id", sa.String(length=255), nullable=True),
        sa.Column("fields", sa.JSON(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["idea_id"], ["ideas.id"], name=op.f("fk_budget_projects_idea_id_ideas"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["neighborhood_id"],
            ["neighborhoods.id"],
            name=op.f("fk_budget_projects_neighborhood_id_neighborhoods"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["pot_id"],
            ["budget_pots.id"],
            name=op.f("fk_budget_projects_pot_id_budget_pots"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_budget_projects")),
        sa.UniqueConstraint("pot_id", "code", name=op.f("uq_budget_projects_pot_id_code")),
    )
    op.create_index(op.f("ix_budget_projects_pot_id"), "budget_projects", ["pot_id"], unique=False)

    op.create_table(
        "budget_choices",
        sa.Column("ballot_id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("points", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["ballot_id"],
            ["budget_ballots.id"],
            name=op.f("fk_budget_choices_ballot_id_budget_ballots"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["budget_projects.id"],
            name=op.f("fk_budget_choices_project_id_budget_projects"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("ballot_id", "project_id", name=op.f("pk_budget_choices")),
    )
    op.create_index(op.f("ix_budget_choices_project_id"), "budget_choices", ["project_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_budget_choices_project_id"), table_name="budget_choices")

    op.drop_table("budget_choices")
    op.drop_index(op.f("ix_budget_projects_pot_id"), table_name="budget_projects")

    op.drop_table("budget_projects")
    op.drop_index(op.f("ix_budget_ballots_resident_id"), table_name="budget_ballots")

    op.drop_table("budget_ballots")
    op.drop_index(op.f("ix_budget_pots_process_id"), table_name="budget_pots")

    op.drop_table("budget_pots")
