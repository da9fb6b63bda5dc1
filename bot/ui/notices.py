"""Delivering notices after the update's transaction has committed (see `bot/services/notices.py`).

Each notice is rendered in its recipient's language, with a button per link (a feature registers how
its links open, e.g. "idea" → the idea's card). A recipient who blocked the bot is marked unreachable;
any other failure is logged without personal data and never undoes what was decided.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable

from aiogram import Bot
from aiogram.exceptions import TelegramAPIError, TelegramForbiddenError
from aiogram.filters.callback_data import CallbackData
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.i18n import translate
from bot.services.notices import Notice
from bot.services.residents import mark_unreachable

log = logging.getLogger(__name__)
_LINKS: dict[str, Callable[[int], CallbackData]] = {}


def register_link(kind: str, data: Callable[[int], CallbackData]) -> None:
    """How a notice's link of `kind` opens: `data(id)` is the button's callback data."""
    _LINKS[kind] = data


def keyboard(notice: Notice) -> InlineKeyboardMarkup | None:
    rows = [
        [
            InlineKeyboardButton(
                text=translate(link.label, notice.lang, id=link.id),
                callback_data=_LINKS[link.kind](link.id).pack(),
            )
        ]
        for link in notice.links
        if link.kind in _LINKS
    ]
    return InlineKeyboardMarkup(inline_keyboard=rows) if rows else None


async def deliver(bot: Bot, sessions: async_sessionmaker[AsyncSession], notices: Iterable[Notice]) -> int:
    """Send each notice; returns how many were delivered."""
    sent = 0
    for notice in notices:
        try:
            if notice.photo:
                await bot.send_photo(
                    notice.chat_id, notice.photo, caption=notice.render(), reply_markup=keyboard(notice)
                )
            else:
                await bot.send_message(notice.chat_id, notice.render(), reply_markup=keyboard(notice))
            sent += 1
        except TelegramForbiddenError:
            if notice.resident_id is not None:
                async with sessions.begin() as session:
                    await mark_unreachable(session, notice.resident_id)
            log.info("notice not delivered resident=%s reason=blocked", notice.resident_id)
        except TelegramAPIError as exc:
            log.warning("notice not delivered resident=%s error=%s", notice.resident_id, type(exc).__name__)
    return sent
