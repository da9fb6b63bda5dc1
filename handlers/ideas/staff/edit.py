"""Staff edit an idea while rules allow it (`Decision.EDIT`): its title, its description (both typed,
the old text kept in the audit log) and its theme (a button)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiogram import F
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State
from aiogram.types import CallbackQuery, Message
from aiogram.utils.callback_answer import CallbackAnswer
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import CitySpec
from bot.i18n import N_
from bot.routing import Handlers
from bot.services import ideas
from bot.services.ideas.rules import Decision
from bot.services.residents import Viewer
from bot.ui.errors import refuse
from bot.ui.ideas.callbacks import ModAction, ModCb
from bot.ui.ideas.moderation import description_prompt, themes_view, title_prompt
from bot.ui.messages import replace, respond
from handlers.ideas.staff.common import ask, on_card, show
from handlers.ideas.staff.states import ModForm
from storage.models import Idea

handlers = Handlers()

# what is typed: the button that asks, the state, the question, the service call, the word after
TYPED: dict[ModAction, tuple[State, Callable[[Idea], str]]] = {
    ModAction.EDIT_TITLE: (ModForm.title, title_prompt),
    ModAction.EDIT_DESCRIPTION: (ModForm.description, description_prompt),
}
SAVE: dict[str, tuple[Callable[..., Awaitable[Idea]], str]] = {
    ModForm.title.state: (ideas.edit_title, N_("📝 Title changed.")),
    ModForm.description.state: (ideas.edit_description, N_("📄 Description changed.")),
}


@handlers.callback_query(ModCb.filter(F.action.in_(set(TYPED))))
async def ask_text(
    query: CallbackQuery,
    callback_data: ModCb,
    state: FSMContext,
    session: AsyncSession,
    lang: str,
    city: CitySpec,
) -> None:
    step, prompt = TYPED[callback_data.action]
    async with on_card(query, session, callback_data.id, lang, city):
        idea = await ideas.decidable(session, callback_data.id, Decision.EDIT)
    await ask(query, state, step, prompt(idea), idea_id=idea.id)


@handlers.message(ModForm.title, F.text)
@handlers.message(ModForm.description, F.text)
async def save_text(
    message: Message, state: FSMContext, session: AsyncSession, viewer: Viewer, lang: str, city: CitySpec
) -> None:
    save, done = SAVE[await state.get_state() or ""]
    try:
        idea = await save(
            session, (await state.get_data()).get("idea_id", 0), viewer.resident.id, message.text
        )
    except ideas.Invalid:  # too short or long: the form stays for another try
        raise
    except ideas.IdeaError as error:  # the idea is gone or decided: the form closes (and stays closed)
        await state.clear()
        await refuse(message, error, {"lang": lang, "city": city})
        return
    await state.clear()
    await respond(message, _(done))
    await show(message, session, idea, lang, city)


@handlers.callback_query(ModCb.filter(F.action == ModAction.EDIT_THEME))
async def themes(
    query: CallbackQuery, callback_data: ModCb, session: AsyncSession, lang: str, city: CitySpec
) -> None:
    async with on_card(query, session, callback_data.id, lang, city):
        idea = await ideas.decidable(session, callback_data.id, Decision.EDIT)
    await replace(query.message, *themes_view(idea, await ideas.themes(session), lang))


@handlers.callback_query(ModCb.filter(F.action == ModAction.SET_THEME))
async def set_theme(
    query: CallbackQuery,
    callback_data: ModCb,
    session: AsyncSession,
    viewer: Viewer,
    lang: str,
    city: CitySpec,
    callback_answer: CallbackAnswer,
) -> None:
    theme_id = (
        int(callback_data.value) if callback_data.value.isascii() and callback_data.value.isdigit() else 0
    )
    async with on_card(query, session, callback_data.id, lang, city):
        idea = await ideas.set_theme(session, callback_data.id, viewer.resident.id, theme_id)
    callback_answer.text = _("Theme changed.")
    await show(query, session, idea, lang, city)
