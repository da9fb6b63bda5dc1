"""Budgets, staff screens: the processes, a process's budget (voting dates, pots), a pot (its rules
and projects, paged), a project, and the approved ideas that may become projects."""

from __future__ import annotations

from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery
from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import CitySpec
from bot.services import budgets, processes
from bot.services.budgets import implementation, rules, staff
from bot.services.paging import Page
from bot.services.residents import Viewer
from bot.ui.budgets.staff import (
    PAGE_SIZE,
    PotSpec,
    StaffCb,
    ideas_view,
    pot_view,
    process_view,
    processes_view,
    project_view,
)
from bot.ui.callbacks import HubCb
from bot.ui.messages import replace


async def spec_of(session: AsyncSession, pot) -> PotSpec:  # noqa: ANN001
    return PotSpec.of(pot, await staff.place_name(session, pot.scope, pot.district_id, pot.neighborhood_id))


async def listing(
    query: CallbackQuery, callback_data: HubCb | StaffCb, state: FSMContext, session: AsyncSession, lang: str
) -> None:
    await state.clear()
    found = await processes.all_processes(session)
    page = Page.of(callback_data.page if isinstance(callback_data, StaffCb) else 0, PAGE_SIZE, len(found))
    await replace(query.message, *processes_view(page.cut(found), page, lang))


async def process(
    query: CallbackQuery, callback_data: StaffCb, state: FSMContext, session: AsyncSession, lang: str,
    city: CitySpec,
) -> None:  # fmt: skip
    await state.clear()
    found = await staff.process(session, callback_data.id)
    specs = []
    for pot in await budgets.pots_of(session, found.id):
        specs.append((pot, await spec_of(session, pot), len(await staff.projects(session, pot.id))))
    view = process_view(found, specs, staff.editable(found), city.zone, city.currency, lang)
    await replace(query.message, *view)


async def pot(
    query: CallbackQuery, callback_data: StaffCb, state: FSMContext, session: AsyncSession, lang: str,
    city: CitySpec,
) -> None:  # fmt: skip
    await state.clear()
    found = await staff.pot(session, callback_data.id)
    projects = await staff.projects(session, found.id)
    page = Page.of(callback_data.page, PAGE_SIZE, len(projects))
    spec, editable = await spec_of(session, found), staff.editable(found.process)
    await replace(
        query.message, *pot_view(found, spec, page.cut(projects), page, editable, city.currency, lang)
    )


async def project(
    query: CallbackQuery, callback_data: StaffCb, state: FSMContext, session: AsyncSession, lang: str,
    city: CitySpec, viewer: Viewer,
) -> None:  # fmt: skip
    await state.clear()
    found = await staff.project(session, callback_data.id)
    pot = await staff.pot(session, found.pot_id)
    postable = implementation.can_post(viewer.is_staff, await implementation.selected(session, found))
    updates = await implementation.count_updates(session, found.id) if postable else 0
    place = await staff.place_name(session, rules.NEIGHBORHOOD, None, found.neighborhood_id)
    view = project_view(found, pot, staff.editable(pot.process), city.currency, lang, postable, updates, place)
    await replace(query.message, *view)


async def ideas(
    query: CallbackQuery, callback_data: StaffCb, state: FSMContext, session: AsyncSession
) -> None:
    await state.clear()
    pot = await staff.pot(session, callback_data.id)
    if not staff.editable(pot.process):
        raise budgets.VotingStarted(f"pot {pot.id}")
    found = await staff.ideas_to_turn(session, pot.process_id)
    page = Page.of(callback_data.page, PAGE_SIZE, len(found))
    await replace(query.message, *ideas_view(pot, page.cut(found), page))
