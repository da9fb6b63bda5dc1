"""The ideas menu (/ideas, the main menu's "Ideas") and starting a new idea."""

from __future__ import annotations

from typing import Any

from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import CitySpec
from bot.services import ideas, processes
from bot.services.residents import Viewer
from bot.ui.ideas import keyboards
from bot.ui.ideas.callbacks import IdeaCb
from bot.ui.ideas.cards import home_text
from bot.ui.ideas.errors import closed_text, refusal_text
from bot.ui.messages import reply, respond
from handlers.ideas.form import IDEA_FORM


async def home(
    event: Message | CallbackQuery,
    state: FSMContext,
    session: AsyncSession,
    viewer: Viewer,
    lang: str,
    city: CitySpec,
) -> None:
    await state.clear()
    view = await processes.outlook(session, viewer.resident.neighborhood_id)
    await reply(event, home_text(view, lang, city.zone), keyboards.home())


async def new(
    query: CallbackQuery,
    state: FSMContext,
    session: AsyncSession,
    viewer: Viewer,
    lang: str,
    city: CitySpec,
    **ctx: Any,
) -> None:
    view = await processes.outlook(session, viewer.resident.neighborhood_id)
    if not view.open:
        await respond(query.message, closed_text(ideas.not_open(view), lang, city))
        return
    if len(view.open) > 1:
        await reply(
            query,
            _("Which process is your idea for?"),
            keyboards.choose_process(view.open, lang, browsing=False),
        )
        return
    await start_form(query, state, session, viewer, lang, city, view.open[0].id, ctx)


async def chose_process(
    query: CallbackQuery,
    callback_data: IdeaCb,
    state: FSMContext,
    session: AsyncSession,
    viewer: Viewer,
    lang: str,
    city: CitySpec,
    **ctx: Any,
) -> None:
    await start_form(query, state, session, viewer, lang, city, callback_data.id, ctx)


async def start_form(
    query: CallbackQuery,
    state: FSMContext,
    session: AsyncSession,
    viewer: Viewer,
    lang: str,
    city: CitySpec,
    process_id: int,
    ctx: dict[str, Any],
) -> None:
    process = await processes.get(session, process_id)
    try:
        await ideas.check_can_submit(session, viewer.resident, process)
    except ideas.IdeaError as error:
        await respond(query.message, refusal_text(error, lang, city))
        return
    initial = {
        "process_id": process.id,
        "process_name": processes.name(process, lang),
        "citywide": process.scope == processes.CITY,
        "scope": ideas.SCOPE_NEIGHBORHOOD,
    }
    form_ctx = {**ctx, "session": session, "viewer": viewer, "lang": lang, "city": city}
    await IDEA_FORM.start(query, state, form_ctx, initial)
