"""The ballots open to me, a pot's projects page by page, a project's card, and ticking it."""

from __future__ import annotations

from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message
from aiogram.utils.callback_answer import CallbackAnswer
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import CitySpec
from bot.services import budgets
from bot.services.budgets import rules
from bot.services.residents import Viewer
from bot.ui.budgets import cards, drafts, keyboards, screens
from bot.ui.budgets.callbacks import BallotAction, BallotCb
from bot.ui.budgets.errors import reason
from bot.ui.cards import refresh_card, show_card
from bot.ui.messages import reply
from handlers.budgets import verify
from storage.db import will_write


async def home(event: Message | CallbackQuery, session: AsyncSession, viewer: Viewer, lang: str) -> None:
    found = await budgets.open_pots(session, viewer.resident)
    await reply(event, cards.home_text(found), keyboards.home(found, lang))


async def pot(
    query: CallbackQuery,
    callback_data: BallotCb,
    state: FSMContext,
    session: AsyncSession,
    viewer: Viewer,
    lang: str,
    city: CitySpec,
) -> None:
    pot_id = callback_data.pot
    found = await budgets.gate(session, viewer.resident, pot_id)
    if found.pending is not None:  # verify first: the prompt (the ballot's actions refuse until then)
        will_write(session)  # a view until here: the prompt's state is a change
        await verify.ask(query, state, found, lang)
        return
    view = await drafts.view(state, session, viewer.resident, pot_id, opened=found)
    await reply(query, *screens.pot_screen(view, callback_data.page, city, lang))


def _render(view: budgets.BallotView, project_id: int, city: CitySpec, lang: str):  # noqa: ANN202
    project = view.project(project_id)
    chosen = project_id in view.chosen
    refusal = None if chosen else rules.refusal_to_add(view.limits, view.cart, project.cost)
    why = reason(refusal, city.currency, lang) if refusal is not None else None
    return lambda limit: cards.project_card(
        project, view.limits, view.cart, chosen, why, city.currency, lang, limit
    )


async def card(
    query: CallbackQuery,
    callback_data: BallotCb,
    state: FSMContext,
    session: AsyncSession,
    viewer: Viewer,
    lang: str,
    city: CitySpec,
) -> None:
    cb = callback_data
    view = await drafts.view(state, session, viewer.resident, cb.pot)
    project = view.project(cb.project)
    chosen = project.id in view.chosen
    keyboard = keyboards.card(cb.pot, project, cb.page, chosen, view.limits, view.cart)
    await show_card(query.message, _render(view, project.id, city, lang), project.photo_file_id, keyboard)


async def tick(
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
    done, view = budgets.ticked(view, cb.project, cb.action == BallotAction.ADD)
    await drafts.keep(state, cb.pot, done.chosen)
    callback_answer.text = _("✅ Added to your ballot.") if done.added else _("Removed from your ballot.")
    keyboard = keyboards.card(cb.pot, view.project(cb.project), cb.page, done.added, view.limits, view.cart)
    await refresh_card(query.message, _render(view, cb.project, city, lang), keyboard)
