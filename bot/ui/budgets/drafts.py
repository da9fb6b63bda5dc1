"""A resident's drafts (the projects ticked, per pot), until they confirm: nothing of a draft is stored in
the ballot tables. They are kept in a conversation box of their own (`bot.ui.conversation`), so leaving
the ballot for the menu or a form and coming back finds the draft as it was, and a draft survives a
restart on SQL or Redis storage like any form."""

from __future__ import annotations

from aiogram.fsm.context import FSMContext
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services import budgets
from bot.ui.conversation import beside, box
from storage.models import Resident

KEY = "budget_drafts"
BOX = box("ballot_drafts")


async def draft(state: FSMContext, pot_id: int) -> list[int] | None:
    """The draft for the pot, or None when the person has not touched this pot's ballot yet."""
    found = (await beside(state, BOX).get_data()).get(KEY, {}).get(str(pot_id))
    return [int(p) for p in found] if isinstance(found, list) else None


async def keep(state: FSMContext, pot_id: int, chosen: tuple[int, ...] | list[int]) -> None:
    drafts = beside(state, BOX)
    kept = dict((await drafts.get_data()).get(KEY, {}))
    kept[str(pot_id)] = list(chosen)
    await drafts.update_data({KEY: kept})


async def drop(state: FSMContext, pot_id: int) -> None:
    drafts = beside(state, BOX)
    kept = dict((await drafts.get_data()).get(KEY, {}))
    kept.pop(str(pot_id), None)
    await drafts.set_data({KEY: kept} if kept else {})


async def view(
    state: FSMContext,
    session: AsyncSession,
    resident: Resident,
    pot_id: int,
    opened: budgets.Gate | None = None,
) -> budgets.BallotView:
    """The pot's ballot as the person sees it now, with their draft (or, without one, their confirmed
    ballot): what every ballot screen and action starts from (`opened`: the pot's gate, when passed)."""
    return await budgets.ballot_view(session, resident, pot_id, await draft(state, pot_id), opened=opened)
