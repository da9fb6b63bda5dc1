"""A resident's drafts (the projects ticked, per pot) in their conversation state, until they confirm:
nothing of a draft is stored in the ballot tables, and a draft survives a restart on SQL or Redis
storage like any form."""

from __future__ import annotations

from aiogram.fsm.context import FSMContext
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services import budgets
from storage.models import Resident

KEY = "budget_drafts"


async def draft(state: FSMContext, pot_id: int) -> list[int] | None:
    """The draft for the pot, or None when the person has not touched this pot's ballot yet."""
    found = (await state.get_data()).get(KEY, {}).get(str(pot_id))
    return [int(p) for p in found] if isinstance(found, list) else None


async def keep(state: FSMContext, pot_id: int, chosen: tuple[int, ...] | list[int]) -> None:
    drafts = dict((await state.get_data()).get(KEY, {}))
    drafts[str(pot_id)] = list(chosen)
    await state.update_data({KEY: drafts})


async def drop(state: FSMContext, pot_id: int) -> None:
    drafts = dict((await state.get_data()).get(KEY, {}))
    drafts.pop(str(pot_id), None)
    await state.update_data({KEY: drafts})


async def view(
    state: FSMContext, session: AsyncSession, resident: Resident, pot_id: int
) -> budgets.BallotView:
    """The pot's ballot as the person sees it now, with their draft (or, without one, their confirmed
    ballot): what every ballot screen and action starts from."""
    return await budgets.ballot_view(session, resident, pot_id, await draft(state, pot_id))
