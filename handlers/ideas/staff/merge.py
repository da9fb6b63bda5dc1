"""Merging a duplicate into another idea of the same process, published or waiting for review: the most
alike first (or a typed number), a confirmation, then the supports move (each person counted once)."""

from __future__ import annotations

from html import escape
from typing import Any

from aiogram import F
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message
from aiogram.utils.callback_answer import CallbackAnswer
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import CitySpec, Settings
from bot.routing import Handlers
from bot.services import ideas
from bot.services.ideas.rules import PENDING, Decision
from bot.services.residents import Viewer
from bot.ui.errors import refuse
from bot.ui.ideas.callbacks import ModAction, ModCb
from bot.ui.ideas.moderation import merge_confirm_view, merge_view
from bot.ui.messages import replace, respond
from handlers.ideas.staff.common import Ctx, after_decision, on_card
from handlers.ideas.staff.states import ModForm

handlers = Handlers()


def _number(text: str) -> int:
    value = text.strip().lstrip("#")
    return int(value) if value.isascii() and value.isdigit() and len(value) < 10 else 0


@handlers.callback_query(ModCb.filter(F.action == ModAction.MERGE))
async def targets(
    query: CallbackQuery,
    callback_data: ModCb,
    state: FSMContext,
    session: AsyncSession,
    lang: str,
    city: CitySpec,
) -> None:
    async with on_card(query, session, callback_data.id, lang, city):
        idea = await ideas.decidable(session, callback_data.id, Decision.MERGE)
    found = await ideas.merge_targets(session, idea)
    await state.set_state(ModForm.target)
    await state.set_data({"idea_id": idea.id})
    await replace(query.message, *merge_view(idea, found, callback_data.page))


@handlers.callback_query(ModCb.filter(F.action == ModAction.MERGE_TARGET))
async def target_pressed(
    query: CallbackQuery, callback_data: ModCb, session: AsyncSession, lang: str, city: CitySpec
) -> None:
    async with on_card(query, session, callback_data.id, lang, city):
        idea, target = await ideas.merge_pair(session, callback_data.id, _number(callback_data.value))
    await replace(query.message, *merge_confirm_view(idea, target))


@handlers.message(ModForm.target, F.text)
async def target_typed(message: Message, state: FSMContext, session: AsyncSession, **ctx: Any) -> None:
    try:
        idea, target = await ideas.merge_pair(
            session, (await state.get_data()).get("idea_id", 0), _number(message.text)
        )
    except ideas.BadTarget:  # a wrong number: the form stays for another
        raise
    except ideas.IdeaError as error:  # the idea is gone or decided: the form closes (and stays closed)
        await state.clear()
        await refuse(message, error, ctx)
        return
    text, keyboard = merge_confirm_view(idea, target)
    await respond(message, text, keyboard)


@handlers.callback_query(ModCb.filter(F.action == ModAction.MERGE_CONFIRM))
async def merge(
    query: CallbackQuery,
    callback_data: ModCb,
    state: FSMContext,
    session: AsyncSession,
    viewer: Viewer,
    lang: str,
    city: CitySpec,
    settings: Settings,
    callback_answer: CallbackAnswer,
) -> None:
    target_id = _number(callback_data.value)
    async with on_card(query, session, callback_data.id, lang, city):
        moves_on = (await ideas.decidable(session, callback_data.id, Decision.MERGE)).status == PENDING
        idea = await ideas.merge(session, callback_data.id, target_id, viewer.resident.id)
    await state.clear()
    callback_answer.text = _("Merged.")
    outcome = _("🔀 Idea #{number} “{title}” merged into #{target}.").format(
        number=idea.id, title=escape(idea.title), target=target_id
    )
    await after_decision(query, session, idea, outcome, moves_on, Decision.MERGE, Ctx(lang, city, settings))
