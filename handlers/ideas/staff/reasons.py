"""Reject and hide: the decisions that take a reason the author reads. The reasons show under the idea's
card (a common one by its button, or typed); a typed reason is shown back to confirm before it goes
(Send, Edit the reason, Back). Both flows run on one table keyed by `rules.Decision`."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from html import escape
from typing import Any

from aiogram import F
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message
from aiogram.utils.callback_answer import CallbackAnswer
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import CitySpec, Settings
from bot.i18n import N_
from bot.routing import Handlers
from bot.services import ideas
from bot.services.errors import Stale
from bot.services.ideas.rules import PENDING, Decision
from bot.services.residents import Viewer
from bot.ui.errors import refuse
from bot.ui.ideas.callbacks import ModAction, ModCb
from bot.ui.ideas.moderation import (
    card_room,
    reason_prompt,
    reasons_keyboard,
    reasons_question,
    staff_card,
    typed_reason_view,
    with_question,
)
from bot.ui.messages import replace, respond
from handlers.ideas.staff.common import Ctx, after_decision, ask, on_card
from handlers.ideas.staff.states import ModForm
from storage.models import Idea

handlers = Handlers()


@dataclass(frozen=True)
class Reasoned:
    decide: Callable[..., Awaitable[Idea]]  # (session, idea_id, actor_id, *, reason_key=, reason=)
    toast: str
    outcome: str


REASONED: dict[Decision, Reasoned] = {
    Decision.REJECT: Reasoned(
        ideas.reject, N_("Rejected."), N_("✖️ Idea #{number} “{title}” rejected: {reason}")
    ),
    Decision.HIDE: Reasoned(ideas.hide, N_("Hidden."), N_("🙈 Idea #{number} “{title}” hidden: {reason}")),
}
MENU = {ModAction.REJECT: Decision.REJECT, ModAction.HIDE: Decision.HIDE}
PICK = {ModAction.REJECT_REASON: Decision.REJECT, ModAction.HIDE_REASON: Decision.HIDE}
TYPED = {ModAction.REJECT_TYPED: Decision.REJECT, ModAction.HIDE_TYPED: Decision.HIDE}
CONFIRM = {ModAction.REJECT_CONFIRM: Decision.REJECT, ModAction.HIDE_CONFIRM: Decision.HIDE}


@handlers.callback_query(ModCb.filter(F.action.in_(set(MENU))))
async def menu(
    query: CallbackQuery,
    callback_data: ModCb,
    state: FSMContext,
    session: AsyncSession,
    lang: str,
    city: CitySpec,
) -> None:
    """The reasons, under the idea's card."""
    await state.clear()
    decision = MENU[callback_data.action]
    async with on_card(query, session, callback_data.id, lang, city):
        idea = await ideas.decidable(session, callback_data.id, decision)
    question = reasons_question(idea, decision)
    card = staff_card(await ideas.reviewed(session, idea), lang, city.zone, card_room(question))
    await replace(query.message, with_question(card, question), reasons_keyboard(idea.id, decision))


async def _decide(
    query: CallbackQuery,
    session: AsyncSession,
    viewer: Viewer,
    decision: Decision,
    idea_id: int,
    reason: dict[str, str],
    ctx: Ctx,
) -> None:
    """Take the decision with its reason, tell the author and move on."""
    step = REASONED[decision]
    moves_on = (await ideas.decidable(session, idea_id, decision)).status == PENDING
    idea = await step.decide(session, idea_id, viewer.resident.id, **reason)
    outcome = _(step.outcome).format(
        number=idea.id, title=escape(idea.title), reason=ideas.reason_text(idea, ctx.lang)
    )
    await after_decision(query, session, idea, outcome, moves_on, decision, ctx)


@handlers.callback_query(ModCb.filter(F.action.in_(set(PICK))))
async def pick(
    query: CallbackQuery,
    callback_data: ModCb,
    session: AsyncSession,
    viewer: Viewer,
    lang: str,
    city: CitySpec,
    settings: Settings,
    callback_answer: CallbackAnswer,
) -> None:
    """A common reason pressed: the decision is taken (the menu was the confirmation)."""
    decision = PICK[callback_data.action]
    reason = {"reason_key": callback_data.value}
    async with on_card(query, session, callback_data.id, lang, city):
        await _decide(query, session, viewer, decision, callback_data.id, reason, Ctx(lang, city, settings))
    callback_answer.text = _(REASONED[decision].toast)


@handlers.callback_query(ModCb.filter(F.action.in_(set(TYPED))))
async def ask_typed(
    query: CallbackQuery,
    callback_data: ModCb,
    state: FSMContext,
    session: AsyncSession,
    lang: str,
    city: CitySpec,
) -> None:
    decision = TYPED[callback_data.action]
    async with on_card(query, session, callback_data.id, lang, city):
        idea = await ideas.decidable(session, callback_data.id, decision)
    await ask(query, state, ModForm.reason, reason_prompt(idea), idea_id=idea.id, decision=str(decision))


@handlers.message(ModForm.reason, F.text)
async def typed(message: Message, state: FSMContext, session: AsyncSession, **ctx: Any) -> None:
    """A typed reason, shown back with Send / Edit the reason / Back (typing again replaces it)."""
    data = await state.get_data()
    decision = Decision(data.get("decision", Decision.REJECT))
    reason = ideas.clean_reason(message.text)
    try:
        idea = await ideas.decidable(session, data.get("idea_id", 0), decision)
    except ideas.IdeaError as error:  # the idea is gone or decided: the form closes (and stays closed)
        await state.clear()
        await refuse(message, error, ctx)
        return
    await state.update_data(reason=reason)
    text, keyboard = typed_reason_view(idea, decision, reason)
    await respond(message, text, keyboard)


@handlers.callback_query(ModCb.filter(F.action.in_(set(CONFIRM))))
async def send_typed(
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
    decision, data = CONFIRM[callback_data.action], await state.get_data()
    if data.get("idea_id") != callback_data.id or data.get("decision") != decision or not data.get("reason"):
        raise Stale("the typed reason is gone")
    await state.clear()
    reason = {"reason": data["reason"]}
    async with on_card(query, session, callback_data.id, lang, city):
        await _decide(query, session, viewer, decision, callback_data.id, reason, Ctx(lang, city, settings))
    callback_answer.text = _(REASONED[decision].toast)
