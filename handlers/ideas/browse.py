"""Browsing a process's published ideas (sort, neighborhood and theme filters, pages), an idea's card,
and supporting it."""

from __future__ import annotations

from aiogram.types import CallbackQuery
from aiogram.utils.callback_answer import CallbackAnswer
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services import geography, ideas, processes
from bot.services.paging import Page
from bot.services.residents import Viewer
from bot.ui.cards import refresh_card, show_card
from bot.ui.errors import Refusal
from bot.ui.ideas import keyboards
from bot.ui.ideas.callbacks import PAGE_SIZE, BrowseAction, BrowseCb, Sort
from bot.ui.ideas.cards import browse_text, idea_card
from bot.ui.messages import reply
from storage.models import Process


async def start(query: CallbackQuery, session: AsyncSession, viewer: Viewer, lang: str) -> None:
    found = [
        p
        for p in await processes.for_neighborhood(session, viewer.resident.neighborhood_id)
        if processes.window(p)
    ]
    if not found:
        raise Refusal(_("There are no ideas to browse yet."))
    if len(found) > 1:
        await reply(
            query,
            _("Which process's ideas would you like to see?"),
            keyboards.choose_process(found, lang, browsing=True),
        )
        return
    cb = BrowseCb(action=BrowseAction.LIST, process=found[0].id)
    await listing(query, cb, session, viewer, lang, found[0])


async def listing(
    query: CallbackQuery,
    callback_data: BrowseCb,
    session: AsyncSession,
    viewer: Viewer,
    lang: str,
    process: Process | processes.Named | None = None,  # already read by this update (`start`'s)
) -> None:
    cb = callback_data
    filters = {"neighborhood_id": cb.hood or None, "theme_id": cb.theme or None}
    named, items, total = await ideas.browse(
        session,
        cb.process,
        sort=cb.sort.value,
        page=cb.page,
        page_size=PAGE_SIZE,
        resident=viewer.resident,  # the page read in the person's read (`idea_list`)
        **filters,
    )
    if process is None or process.id != cb.process:
        process = named
    if process is None:
        raise Refusal(_("This idea collection no longer exists."))
    hood = await geography.neighborhood(session, cb.hood) if cb.hood else None
    theme = await ideas.theme(session, cb.theme) if cb.theme else None
    theme_name = ideas.theme_name(theme, lang) if theme else None
    text = browse_text(process, items, top=cb.sort == Sort.TOP, hood=hood, theme=theme_name, lang=lang)
    await reply(query, text, keyboards.browse(cb, items, Page.of(cb.page, PAGE_SIZE, total)))


async def by_neighborhood(
    query: CallbackQuery, callback_data: BrowseCb, session: AsyncSession, viewer: Viewer
) -> None:
    found = await ideas.neighborhoods_with_ideas(session, callback_data.process)
    keyboard = keyboards.hood_filter(callback_data, viewer.resident.neighborhood_id, found)
    await reply(query, _("Ideas from which neighborhood?"), keyboard)


async def by_theme(query: CallbackQuery, callback_data: BrowseCb, session: AsyncSession, lang: str) -> None:
    found = [
        (t, ideas.theme_name(t, lang), n)
        for t, n in await ideas.themes_with_ideas(session, callback_data.process)
    ]
    await reply(query, _("Ideas on which theme?"), keyboards.theme_filter(callback_data, found))


async def view(
    query: CallbackQuery, callback_data: BrowseCb, session: AsyncSession, viewer: Viewer, lang: str
) -> None:
    found = await ideas.card(session, callback_data.idea, callback_data.process, viewer.resident)
    if found is None:
        raise Refusal(_("This idea is not published (any more)."))
    idea, count, supported = found.idea, found.supports, found.supported
    is_author = idea.author_id == viewer.resident.id
    keyboard = keyboards.view(callback_data, idea, count, is_author=is_author, supported=supported)
    await show_card(
        query.message, lambda limit: idea_card(idea, count, lang, limit), idea.photo_file_id, keyboard
    )


async def support(
    query: CallbackQuery,
    callback_data: BrowseCb,
    session: AsyncSession,
    viewer: Viewer,
    lang: str,
    callback_answer: CallbackAnswer,
) -> None:
    given = callback_data.action == BrowseAction.SUPPORT  # the button says which
    done = await ideas.set_support_of(session, callback_data.idea, viewer.resident, given)
    idea, supported, count = done.idea, done.supported, done.supports
    callback_answer.text = _("👍 You support this idea.") if supported else _("Your support was taken back.")
    keyboard = keyboards.view(callback_data, idea, count, is_author=False, supported=supported)
    await refresh_card(query.message, lambda limit: idea_card(idea, count, lang, limit), keyboard)
