"""The pots whose results I can see, a pot's chart and results, why each project won or lost, and
staff counting again."""

from __future__ import annotations

import asyncio

from aiogram.types import BufferedInputFile, CallbackQuery, Message
from aiogram.utils.callback_answer import CallbackAnswer
from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import CitySpec
from bot.services.budgets import implementation, results
from bot.services.paging import Page
from bot.services.residents import Viewer
from bot.ui.messages import reply
from bot.ui.results import cards, chart, keyboards
from bot.ui.results.callbacks import ResultsCb


async def home(event: Message | CallbackQuery, session: AsyncSession, viewer: Viewer, lang: str) -> None:
    pots = await results.pots_for(session, viewer.resident)
    await reply(event, cards.home_text(bool(pots)), keyboards.home(pots, lang))


async def pot(
    query: CallbackQuery,
    callback_data: ResultsCb,
    session: AsyncSession,
    viewer: Viewer,
    lang: str,
    city: CitySpec,
) -> None:
    """The chart as a photo, then the results with their buttons."""
    shown = await results.pot_results(session, callback_data.pot)
    chat = query.from_user.id
    await _chart(query, session, shown, lang, city)
    text = cards.results_text(shown, city.currency, lang)
    await query.bot.send_message(chat, text, reply_markup=keyboards.pot(shown.pot.id, viewer.is_staff))


async def _chart(
    query: CallbackQuery, session: AsyncSession, shown: results.PotResults, lang: str, city: CitySpec
) -> None:
    """Drawn in a worker thread the first time in this language, then sent again by its file id."""
    kind = results.chart_kind(lang)
    photo = shown.files.get(kind)
    if photo is None:
        bars, labels = cards.chart_bars(shown, city.currency, lang), cards.chart_labels(shown, lang)
        png = await asyncio.to_thread(chart.render, bars, labels)
        photo = BufferedInputFile(png, filename=f"results-{shown.pot.id}.png")
    sent = await query.bot.send_photo(query.from_user.id, photo, caption=cards.chart_caption(shown, lang))
    if kind not in shown.files and sent.photo:
        await results.remember_file(session, shown.pot.id, kind, sent.photo[-1].file_id)


async def summary(
    query: CallbackQuery,
    callback_data: ResultsCb,
    session: AsyncSession,
    viewer: Viewer,
    lang: str,
    city: CitySpec,
) -> None:
    """The results in place (back from a project, or from checking a receipt: that prompt ends on any
    button, `ends_on_leave` in `make_router`)."""
    shown = await results.pot_results(session, callback_data.pot)
    await reply(
        query, cards.results_text(shown, city.currency, lang), keyboards.pot(shown.pot.id, viewer.is_staff)
    )


async def projects(query: CallbackQuery, callback_data: ResultsCb, session: AsyncSession, lang: str) -> None:
    shown = await results.pot_results(session, callback_data.pot)
    ranked = shown.ranked()
    page = Page.of(callback_data.page, keyboards.PAGE_SIZE, len(ranked))
    text = cards.projects_text(shown, lang)
    await reply(query, text, keyboards.projects(shown, page.cut(ranked), page, lang))


async def _project_text(
    session: AsyncSession, shown: results.PotResults, project_id: int, lang: str, city: CitySpec
) -> str:
    """Why the project won or lost, then its implementation updates (a selected project's)."""
    text = cards.project_text(shown, shown.project(project_id), city.currency, lang)
    return text + cards.updates_text(
        await implementation.updates_of(session, project_id, limit=4), city.zone, lang
    )


async def project(
    query: CallbackQuery, callback_data: ResultsCb, session: AsyncSession, lang: str, city: CitySpec
) -> None:
    cb = callback_data
    shown = await results.pot_results(session, cb.pot)
    await reply(
        query, await _project_text(session, shown, cb.project, lang, city), keyboards.project(cb.pot, cb.page)
    )


async def opened(
    query: CallbackQuery, callback_data: ResultsCb, session: AsyncSession, lang: str, city: CitySpec
) -> None:
    """A project's page from a notice's button: a new message, the notice stays."""
    found = await implementation.project(session, callback_data.project)
    shown = await results.pot_results(session, found.pot_id)
    text = await _project_text(session, shown, found.id, lang, city)
    await query.bot.send_message(query.from_user.id, text, reply_markup=keyboards.project(found.pot_id, 0))


async def recount(
    query: CallbackQuery,
    callback_data: ResultsCb,
    session: AsyncSession,
    viewer: Viewer,
    lang: str,
    city: CitySpec,
    callback_answer: CallbackAnswer,
) -> None:
    shown = await results.recount(session, viewer.resident.id, callback_data.pot)
    if shown is None:  # a large pot: the counting job does it, and tells this staff member
        callback_answer.text, callback_answer.show_alert = cards.counting_again(), True
        return
    callback_answer.text = cards.recounted()
    await reply(
        query, cards.results_text(shown, city.currency, lang), keyboards.pot(shown.pot.id, viewer.is_staff)
    )
