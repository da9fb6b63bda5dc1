"""The processes list (the staff hub's "Processes"), page by page, and starting a new process."""

from __future__ import annotations

from typing import Any

from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery
from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import CitySpec
from bot.services import processes
from bot.services.paging import Page
from bot.ui.callbacks import HubCb, ProcessCb
from bot.ui.messages import replace
from bot.ui.processes import PAGE_SIZE, list_keyboard, list_text
from handlers.processes.form import PROCESS_FORM


def _page(value: str) -> int:
    """The page a button asks for; anything but a short run of ASCII digits is the first page."""
    return int(value) if value.isascii() and value.isdigit() and len(value) <= 4 else 0


async def listing(
    query: CallbackQuery,
    callback_data: HubCb | ProcessCb,
    state: FSMContext,
    session: AsyncSession,
    lang: str,
    city: CitySpec,
) -> None:
    await state.clear()
    found = await processes.all_processes(session)
    number = _page(callback_data.value) if isinstance(callback_data, ProcessCb) else 0
    page = Page.of(number, PAGE_SIZE, len(found))
    await replace(query.message, list_text(page.cut(found), lang, city.zone), list_keyboard(page))


async def new(
    query: CallbackQuery,
    state: FSMContext,
    session: AsyncSession,
    lang: str,
    city: CitySpec,
    **ctx: Any,
) -> None:
    form_ctx = {**ctx, "session": session, "lang": lang, "city": city}
    await PROCESS_FORM.start(query, state, form_ctx)
