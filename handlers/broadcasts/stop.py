"""A resident's "Stop these messages" under a broadcast: its category is turned off, as in /settings."""

from __future__ import annotations

from aiogram.types import CallbackQuery
from aiogram.utils.callback_answer import CallbackAnswer
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services import broadcasts
from bot.services.residents import Viewer
from bot.ui.broadcasts.callbacks import BroadcastCb
from bot.ui.broadcasts.texts import category_label


async def stop(
    query: CallbackQuery,
    callback_data: BroadcastCb,
    session: AsyncSession,
    viewer: Viewer,
    lang: str,
    callback_answer: CallbackAnswer,
) -> None:
    category = await broadcasts.stop(session, viewer.resident.id, callback_data.id)
    text = _("🔕 Turned off: {category}. You can turn it on again in /settings.")
    callback_answer.text = text.format(category=category_label(category, lang))
