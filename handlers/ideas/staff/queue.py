"""The review queue (one idea per card, "2 / 5"), the next idea, a card, and the published list (with
hidden ideas, to unhide)."""

from __future__ import annotations

from aiogram import F
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery
from aiogram.utils.callback_answer import CallbackAnswer
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import CitySpec
from bot.routing import Handlers
from bot.services import ideas
from bot.services.paging import Page
from bot.ui.callbacks import HubCb
from bot.ui.ideas.callbacks import ModAction, ModCb
from bot.ui.ideas.moderation import PUBLISHED_PAGE, published_view
from bot.ui.messages import replace
from handlers.ideas.staff.common import show, show_next

handlers = Handlers()


@handlers.callback_query(ModCb.filter(F.action == ModAction.QUEUE))
@handlers.callback_query(HubCb.filter(F.section == "ideas-queue"))
async def queue(
    query: CallbackQuery, state: FSMContext, session: AsyncSession, lang: str, city: CitySpec
) -> None:
    await state.clear()
    await show_next(query, session, lang, city)


@handlers.callback_query(ModCb.filter(F.action == ModAction.NEXT))
async def next_card(
    query: CallbackQuery,
    callback_data: ModCb,
    session: AsyncSession,
    lang: str,
    city: CitySpec,
    callback_answer: CallbackAnswer,
) -> None:
    idea = await ideas.next_pending(session, callback_data.id)
    if idea is not None and idea.id == callback_data.id:
        callback_answer.text = _("This is the only idea waiting for review.")
        return
    await show_next(query, session, lang, city, callback_data.id)


@handlers.callback_query(ModCb.filter(F.action == ModAction.CARD))
async def card(
    query: CallbackQuery,
    callback_data: ModCb,
    state: FSMContext,
    session: AsyncSession,
    lang: str,
    city: CitySpec,
) -> None:
    await state.clear()
    idea = await ideas.get(session, callback_data.id)
    if idea is None:
        raise ideas.NotFound("no such idea")
    await show(query, session, idea, lang, city)


@handlers.callback_query(ModCb.filter(F.action == ModAction.PUBLISHED))
@handlers.callback_query(HubCb.filter(F.section == "ideas-published"))
async def published(
    query: CallbackQuery, callback_data: ModCb | HubCb, state: FSMContext, session: AsyncSession
) -> None:
    await state.clear()
    number = callback_data.page if isinstance(callback_data, ModCb) else 0
    items, total = await ideas.published(session, page=number, page_size=PUBLISHED_PAGE)
    await replace(query.message, *published_view(items, Page.of(number, PUBLISHED_PAGE, total)))
