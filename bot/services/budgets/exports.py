"""What the budgets feature holds about a person, for "Export my data": their confirmed ballots (found
by their identity, so a ballot cast from an account they deleted is theirs too), with the receipt and the
neighborhood kept on the ballot for the turnout."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services import geography
from bot.services.budgets import pot_name, title
from bot.services.privacy import exporter
from bot.services.residents import person_key
from storage.models import BudgetBallot, BudgetChoice, BudgetPot, BudgetProject, Resident


@exporter("ballots")
async def export_ballots(session: AsyncSession, resident: Resident) -> list[dict[str, Any]]:
    ballots = await session.execute(
        select(BudgetBallot, BudgetPot)
        .join(BudgetPot, BudgetPot.id == BudgetBallot.pot_id)
        .where(BudgetBallot.identity == person_key(resident))
        .order_by(BudgetBallot.id)
    )
    found = []
    for ballot, pot in ballots.all():
        projects = await session.scalars(
            select(BudgetProject)
            .join(BudgetChoice, BudgetChoice.project_id == BudgetProject.id)
            .where(BudgetChoice.ballot_id == ballot.id)
            .order_by(BudgetChoice.position)
        )
        hood = (
            await geography.neighborhood(session, ballot.neighborhood_id) if ballot.neighborhood_id else None
        )
        found.append(
            {
                "pot": pot_name(pot, resident.language or "en"),
                "receipt": ballot.receipt,
                "confirmed_at": ballot.confirmed_at.isoformat(),
                "neighborhood": hood.name if hood is not None else None,
                "projects": [title(p, resident.language or "en") for p in projects],
            }
        )
    return found


@exporter("verifications")
async def export_verifications(session: AsyncSession, resident: Resident) -> list[dict[str, Any]]:
    """The processes the person verified for (by their identity), how and when; never the hash of the
    phone number or code (it proves nothing to the person and would link them to the number)."""
    from bot.services import processes
    from storage.models import Process, Verification

    rows = await session.execute(
        select(Verification, Process)
        .join(Process, Process.id == Verification.process_id)
        .where(Verification.identity == person_key(resident))
        .order_by(Verification.id)
    )
    lang = resident.language or "en"
    return [
        {
            "process": processes.name(process, lang),
            "method": row.method,
            "verified_at": row.verified_at.isoformat(),
        }
        for row, process in rows.all()
    ]
