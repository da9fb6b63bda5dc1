"""Reviewing my draft, confirming it (the receipt), and going back to my confirmed ballot."""

from __future__ import annotations

from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery
from aiogram.utils.callback_answer import CallbackAnswer
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import CitySpec
from bot.services import budgets
from bot.services.residents import Viewer
from bot.ui.budgets import cards, drafts, keyboards, screens
from bot.ui.budgets.callbacks import BallotCb
from bot.ui.messages import reply


async def review(
    query: CallbackQuery,
    callback_data: BallotCb,
    state: FSMContext,
    session: AsyncSession,
    viewer: Viewer,
    lang: str,
    city: CitySpec,
) -> None:
    view = await drafts.view(state, session, viewer.resident, callback_data.pot)
    await reply(query, *screens.review_screen(view, callback_data.page, city, lang))


async def confirm(
    query: CallbackQuery,
    callback_data: BallotCb,
    state: FSMContext,
    session: AsyncSession,
    viewer: Viewer,
    lang: str,
    city: CitySpec,
    callback_answer: CallbackAnswer,
) -> None:
    cb = callback_data
    view = await drafts.view(state, session, viewer.resident, cb.pot)
    done = await budgets.confirm_view(session, viewer.resident, view)
    await drafts.drop(state, cb.pot)
    picked = [view.project(p) for p in done.chosen]
    text = cards.receipt_text(
        view.pot, done.ballot, picked, done.changed, view.closes, city.zone, city.currency, lang
    )
    callback_answer.text = _("✅ Your ballot is saved.")
    await reply(query, text, keyboards.after(cb.pot))


async def reset(
    query: CallbackQuery,
    callback_data: BallotCb,
    state: FSMContext,
    session: AsyncSession,
    viewer: Viewer,
    lang: str,
    city: CitySpec,
    callback_answer: CallbackAnswer,
) -> None:
    await budgets.pot_for(session, viewer.resident, callback_data.pot)
    await drafts.drop(state, callback_data.pot)
    callback_answer.text = _("Your draft was dropped: this is the ballot you confirmed.")
    await review(query, callback_data, state, session, viewer, lang, city)
