"""Delivering notices to residents and posts to the staff group, where failure never breaks the action."""

from __future__ import annotations

import logging

from aiogram import Bot
from aiogram.exceptions import TelegramAPIError, TelegramForbiddenError
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services.ideas import Notice
from bot.services.residents import mark_unreachable

log = logging.getLogger(__name__)


async def deliver(bot: Bot, session: AsyncSession, notice: Notice | None) -> bool:
    """Send a notice; a resident who blocked the bot is marked unreachable. True when delivered."""
    if notice is None:
        return False
    try:
        await bot.send_message(notice.telegram_id, notice.text)
    except TelegramForbiddenError:
        await mark_unreachable(session, notice.resident_id)
        log.info("notice not delivered resident=%s reason=blocked", notice.resident_id)
        return False
    except TelegramAPIError as exc:
        log.warning("notice not delivered resident=%s error=%s", notice.resident_id, type(exc).__name__)
        return False
    return True


async def post_to_group(bot: Bot, chat_id: int | None, text: str) -> bool:
    """Post to the staff group when one is configured; failures are logged, never raised."""
    if not chat_id:
        return False
    try:
        await bot.send_message(chat_id, text)
    except TelegramAPIError as exc:
        log.warning("staff group post failed chat=%s error=%s", chat_id, type(exc).__name__)
        return False
    return True
