"""The staff side's screen (the hub's "Broadcasts", /broadcast): a new broadcast, and the scheduled ones,
each with a button to cancel it before its time."""

from __future__ import annotations

from typing import Any

from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message
from aiogram.utils.callback_answer import CallbackAnswer
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import CitySpec
from bot.services import broadcasts
from bot.services.residents import Viewer
from bot.ui.broadcasts.callbacks import BroadcastAction as A
from bot.ui.broadcasts.callbacks import BroadcastCb
from bot.ui.broadcasts.texts import scheduled_line
from bot.ui.callbacks import MenuCb
from bot.ui.keyboards import single_column
from bot.ui.messages import reply
from handlers.broadcasts.form import BROADCAST_FORM


async def _screen(session: AsyncSession, viewer: Viewer, city: CitySpec, lang: str) -> tuple[str, Any]:
    waiting = await broadcasts.scheduled(session, viewer.grants, viewer.resident.id)
    lines = [_("📣 <b>Broadcasts</b>")]
    if waiting:
        lines.append(_("Scheduled, not sent yet:"))
        lines += [await scheduled_line(session, b, city.zone, lang) for b in waiting]
    else:
        lines.append(_("No broadcast is scheduled."))
    buttons: list[tuple[str, Any]] = [(_("✍️ New broadcast"), BroadcastCb(action=A.NEW))]
    buttons += [
        (_("✖️ Cancel #{id}").format(id=b.id), BroadcastCb(action=A.CANCEL, id=b.id))
        for b in waiting
        if broadcasts.can_cancel(viewer.grants, viewer.resident.id, b)
    ]
    back = MenuCb(action="admin") if viewer.is_staff else MenuCb(action="menu")
    buttons.append((_("« Back"), back))
    return "\n\n".join(lines), single_column(buttons)


async def home(
    event: Message | CallbackQuery,
    state: FSMContext,
    session: AsyncSession,
    viewer: Viewer,
    city: CitySpec,
    lang: str,
) -> None:
    await state.clear()
    await reply(event, *await _screen(session, viewer, city, lang))


async def new(event: Message | CallbackQuery, state: FSMContext, **ctx: Any) -> None:
    await BROADCAST_FORM.start(event, state, {"state": state, **ctx})


async def cancel(
    query: CallbackQuery,
    callback_data: BroadcastCb,
    session: AsyncSession,
    viewer: Viewer,
    city: CitySpec,
    lang: str,
    callback_answer: CallbackAnswer,
) -> None:
    await broadcasts.cancel(session, viewer.grants, viewer.resident.id, callback_data.id)
    callback_answer.text = _("Cancelled: broadcast #{id} will not be sent.").format(id=callback_data.id)
    await reply(query, *await _screen(session, viewer, city, lang))
