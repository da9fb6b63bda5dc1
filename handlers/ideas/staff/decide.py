"""One-press decisions on an idea (approve, unhide), from a table keyed by `rules.Decision`: the service
call, the toast, and the line left on the card. Turning an idea into a project is a form of the budgets
feature (the card's button is a `bot.ui.budgets.staff.StaffCb`)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from html import escape

from aiogram import F
from aiogram.types import CallbackQuery
from aiogram.utils.callback_answer import CallbackAnswer
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import CitySpec, Settings
from bot.i18n import N_
from bot.routing import Handlers
from bot.services import ideas
from bot.services.ideas.rules import PENDING, Decision
from bot.services.residents import Viewer
from bot.ui.ideas.callbacks import ModCb
from handlers.ideas.staff.common import Ctx, after_decision, on_card
from storage.models import Idea

handlers = Handlers()


@dataclass(frozen=True)
class OnePress:
    decide: Callable[[AsyncSession, int, int | None], Awaitable[Idea]]
    toast: str
    outcome: str


ONE_PRESS: dict[Decision, OnePress] = {
    Decision.APPROVE: OnePress(ideas.approve, N_("Approved."), N_("✅ Idea #{number} “{title}” approved.")),
    Decision.UNHIDE: OnePress(
        ideas.unhide, N_("Unhidden."), N_("👁 Idea #{number} “{title}” can be seen by residents again.")
    ),
}


@handlers.callback_query(ModCb.filter(F.action.in_(set(ONE_PRESS))))
async def decide(
    query: CallbackQuery,
    callback_data: ModCb,
    session: AsyncSession,
    viewer: Viewer,
    lang: str,
    city: CitySpec,
    settings: Settings,
    callback_answer: CallbackAnswer,
) -> None:
    decision = Decision(callback_data.action)
    step = ONE_PRESS[decision]
    async with on_card(query, session, callback_data.id, lang, city):
        moves_on = (await ideas.decidable(session, callback_data.id, decision)).status == PENDING
        idea = await step.decide(session, callback_data.id, viewer.resident.id)
    callback_answer.text = _(step.toast)
    outcome = _(step.outcome).format(number=idea.id, title=escape(idea.title))
    await after_decision(query, session, idea, outcome, moves_on, decision, Ctx(lang, city, settings))
