"""My ideas: the list with statuses, one idea's card, withdrawing a pending one, and an idea opened
from a notice."""

from __future__ import annotations

from html import escape

from aiogram.types import CallbackQuery
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services import ideas
from bot.services.paging import Page
from bot.services.residents import Viewer
from bot.ui.cards import show_card
from bot.ui.errors import Refusal
from bot.ui.ideas import keyboards
from bot.ui.ideas.callbacks import BrowseAction, BrowseCb, IdeaCb
from bot.ui.ideas.cards import idea_card, mine_text
from bot.ui.messages import reply
from storage.models import Idea

PAGE_SIZE = 5


async def listing(query: CallbackQuery, callback_data: IdeaCb, session: AsyncSession, viewer: Viewer) -> None:
    items, total = await ideas.mine(session, viewer.resident.id, page=callback_data.page, page_size=PAGE_SIZE)
    await reply(query, mine_text(items), keyboards.mine(items, Page.of(callback_data.page, PAGE_SIZE, total)))


async def _own(session: AsyncSession, viewer: Viewer, idea_id: int) -> Idea:
    idea = await ideas.get(session, idea_id)
    if idea is None or idea.author_id != viewer.resident.id:
        raise Refusal(_("This is not one of your ideas."))
    return idea


async def card(
    query: CallbackQuery, callback_data: IdeaCb, session: AsyncSession, viewer: Viewer, lang: str
) -> None:
    idea = await _own(session, viewer, callback_data.id)
    count = await ideas.support_count(session, idea.id)
    render = lambda limit: idea_card(idea, count, lang, limit, show_status=True)  # noqa: E731
    await show_card(query.message, render, idea.photo_file_id, keyboards.my_idea(idea))


async def opened(
    query: CallbackQuery, callback_data: IdeaCb, session: AsyncSession, viewer: Viewer, lang: str
) -> None:
    """An idea opened from a notice: the author's own card, or the published card for anyone."""
    idea = await ideas.get(session, callback_data.id)
    if idea is not None and idea.author_id == viewer.resident.id:
        await card(query, callback_data, session, viewer, lang)
        return
    if idea is None or idea.status not in ideas.VISIBLE:
        raise Refusal(_("This idea is not published (any more)."))
    count = await ideas.support_count(session, idea.id)
    supported = await ideas.supports(session, idea.id, viewer.resident.id)
    cb = BrowseCb(action=BrowseAction.VIEW, process=idea.process_id, idea=idea.id)
    keyboard = keyboards.view(cb, idea, count, is_author=False, supported=supported)
    await show_card(
        query.message, lambda limit: idea_card(idea, count, lang, limit), idea.photo_file_id, keyboard
    )


async def withdraw_ask(
    query: CallbackQuery, callback_data: IdeaCb, session: AsyncSession, viewer: Viewer
) -> None:
    idea = await _own(session, viewer, callback_data.id)
    if not ideas.can_withdraw(idea.status, is_author=True):
        raise Refusal(_("Only ideas waiting for review can be withdrawn."))
    text = _("Withdraw idea #{number} “{title}”? Staff will not review it.").format(
        number=idea.id, title=escape(idea.title)
    )
    await reply(query, text, keyboards.withdraw_confirm(idea))


async def withdraw(
    query: CallbackQuery, callback_data: IdeaCb, session: AsyncSession, viewer: Viewer
) -> None:
    idea = await ideas.withdraw(session, callback_data.id, viewer.resident)
    text = _("↩️ Idea #{number} was withdrawn. It no longer counts towards your limit.").format(number=idea.id)
    await reply(query, text, keyboards.after())
