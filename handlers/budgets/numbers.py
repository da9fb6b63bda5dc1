"""Choosing a pot's projects by typing their numbers: asked from the pot's page (⌨️), read as one list
that replaces the draft, then the review with Confirm. A list that cannot be taken (a number not on the
ballot, too many projects, over the budget) is answered with the reason and the prompt stays open; a
ballot that can take no list any more (voting closed meanwhile) ends it with the reason, and so does
any command or button (`ends_on_leave` in `make_router`)."""

from __future__ import annotations

from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message
from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import CitySpec
from bot.services import budgets
from bot.services.residents import Viewer
from bot.ui.budgets import drafts, screens
from bot.ui.budgets import numbers as prompt
from bot.ui.budgets.callbacks import BallotCb
from bot.ui.errors import refuse
from bot.ui.messages import reply, respond

# refusals of a typed list that leave the prompt open for another try
RETYPE = (budgets.NoNumbers, budgets.UnknownNumbers, budgets.TooMany, budgets.OverBudget)


async def ask(
    query: CallbackQuery,
    callback_data: BallotCb,
    state: FSMContext,
    session: AsyncSession,
    viewer: Viewer,
    lang: str,
) -> None:
    view = await drafts.view(state, session, viewer.resident, callback_data.pot)
    await state.set_state(prompt.Numbers.typing)
    await state.update_data({prompt.POT_KEY: view.pot.id})
    await reply(query, prompt.ask_text(view, lang), prompt.ask_keyboard(view.pot.id, callback_data.page))


async def typed(
    message: Message, state: FSMContext, session: AsyncSession, viewer: Viewer, lang: str, city: CitySpec
) -> None:
    view = await _ballot(message, state, session, viewer, lang, city)
    if view is None:
        return
    try:
        chosen = budgets.numbered(view, budgets.typed_numbers(message.text or ""))
    except RETYPE as error:
        await respond(message, prompt.refused_text(error, view, city.currency, lang))
        return
    await drafts.keep(state, view.pot.id, chosen.chosen)
    await state.set_state(None)
    text, keyboard = screens.review_screen(chosen, 0, city, lang)
    await respond(message, text, keyboard)


async def not_text(
    message: Message, state: FSMContext, session: AsyncSession, viewer: Viewer, lang: str, city: CitySpec
) -> None:
    """A sticker, a photo or a voice note while numbers are asked for."""
    view = await _ballot(message, state, session, viewer, lang, city)
    if view is not None:
        await respond(message, prompt.refused_text(budgets.NoNumbers("not text"), view, city.currency, lang))


async def _ballot(
    message: Message, state: FSMContext, session: AsyncSession, viewer: Viewer, lang: str, city: CitySpec
) -> budgets.BallotView | None:
    """The ballot the numbers are for; None when it can no longer take any (voting closed meanwhile,
    a verification owed): then the prompt ends, with the reason."""
    pot_id = int((await state.get_data()).get(prompt.POT_KEY) or 0)
    try:
        return await drafts.view(state, session, viewer.resident, pot_id)
    except budgets.BudgetError as error:
        await state.set_state(None)
        await refuse(message, error, {"lang": lang, "city": city})
        return None
