"""What every staff flow of ideas shares: showing an idea's card, moving on in the queue, recording a
decision on the card and telling its author, and refreshing a card a press came too late for."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State
from aiogram.types import CallbackQuery, InaccessibleMessage, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import CitySpec, Settings
from bot.routing import Handlers
from bot.services import ideas
from bot.services.budgets import staff as budget_staff
from bot.services.ideas.rules import Decision
from bot.ui.cards import refresh_card, send_card, show_card
from bot.ui.ideas.moderation import card_keyboard, done_keyboard, staff_card
from bot.ui.messages import replace, respond
from handlers.ideas.staff.states import ModForm
from storage.models import Idea

handlers = Handlers()  # registered last: the answer to anything but text in a staff form

Event = CallbackQuery | Message


def default_lang(settings: Settings, city: CitySpec) -> str:
    return settings.default_language or city.default_language


def message_of(event: Event) -> Message | None:
    message = event.message if isinstance(event, CallbackQuery) else event
    return message if isinstance(message, Message) else None


async def _render(session: AsyncSession, idea: Idea, lang: str, city: CitySpec):  # noqa: ANN202
    view = await ideas.reviewed(session, idea)
    return lambda limit: staff_card(view, lang, city.zone, limit)


async def _keyboard(session: AsyncSession, idea: Idea) -> InlineKeyboardMarkup:
    projectable = await budget_staff.takes_projects(session, idea.process_id)
    return card_keyboard(idea.id, idea.status, projectable)


async def show(event: Event, session: AsyncSession, idea: Idea, lang: str, city: CitySpec) -> None:
    """An idea's card: in place after a button when it has no photo, else as new messages."""
    render, keyboard = await _render(session, idea, lang, city), await _keyboard(session, idea)
    if isinstance(event, CallbackQuery):
        await show_card(event.message, render, idea.photo_file_id, keyboard)
    else:
        await send_card(event.bot, event.chat.id, render, idea.photo_file_id, keyboard)


async def show_next(event: Event, session: AsyncSession, lang: str, city: CitySpec, after: int = 0) -> None:
    """The next idea waiting for review, or a word that the queue is empty."""
    idea = await ideas.next_pending(session, after)
    if idea is not None:
        await show(event, session, idea, lang, city)
    elif isinstance(event, CallbackQuery):
        await replace(event.message, _("🎉 Nothing is waiting for review."), done_keyboard())
    else:
        await event.answer(_("🎉 Nothing is waiting for review."), reply_markup=done_keyboard())


@asynccontextmanager
async def on_card(
    query: CallbackQuery, session: AsyncSession, idea_id: int, lang: str, city: CitySpec
) -> AsyncIterator[None]:
    """A press about idea `idea_id`: when it comes too late, the message shows the card as the idea is
    now, and the error table tells why (another staff member decided first)."""
    try:
        yield
    except ideas.AlreadyDecided:
        idea = await ideas.get(session, idea_id)
        if idea is not None:
            keyboard = await _keyboard(session, idea)
            await refresh_card(query.message, await _render(session, idea, lang, city), keyboard)
        raise


async def _close(message: Message | InaccessibleMessage | None, text: str) -> None:
    """Turn a decided card into a one-line record of the decision (no buttons left to press)."""
    if isinstance(message, Message) and message.photo:
        await message.edit_caption(caption=text, reply_markup=None)
    else:
        await replace(message, text)


@dataclass(frozen=True)
class Ctx:
    """What a decision's aftermath needs of the update: the staff member's language, the city, settings."""

    lang: str
    city: CitySpec
    settings: Settings


async def after_decision(
    event: Event,
    session: AsyncSession,
    idea: Idea,
    outcome: str,
    moves_on: bool,
    decision: Decision,
    ctx: Ctx,
) -> None:
    """Record the outcome on the card, tell the author, then move to the next idea waiting (`moves_on`:
    the idea was waiting) or ask what next."""
    await ideas.tell_author(session, idea, default_lang(ctx.settings, ctx.city), decision)
    if isinstance(event, CallbackQuery):
        await _close(event.message, outcome)
    else:
        await event.answer(outcome)
    message = message_of(event)
    if message is None:
        return
    if moves_on:
        await show_next(message, session, ctx.lang, ctx.city, idea.id)
    else:
        await respond(message, _("What next?"), done_keyboard())


async def ask(query: CallbackQuery, state: FSMContext, step: State, prompt: str, **data: object) -> None:
    """Ask staff to type something (a reason, a title); the answer comes as a message in `step`."""
    await state.set_state(step)
    await state.set_data(data)
    if isinstance(query.message, Message):
        await respond(query.message, prompt)


@handlers.message(ModForm.reason)
@handlers.message(ModForm.title)
@handlers.message(ModForm.description)
@handlers.message(ModForm.target)
async def text_expected(message: Message) -> None:
    await respond(message, _("Please type your answer as text, or send /cancel to stop."))
