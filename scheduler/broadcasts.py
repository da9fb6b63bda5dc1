"""The scheduler's side of staff broadcasts: releasing scheduled ones at their time (expanded into
outbox deliveries then, so opt-outs made meanwhile count), and the progress message in the composer's
chat, edited at most every `PROGRESS_EVERY` seconds from here (never from an update's transaction)
until the final report."""

from __future__ import annotations

import logging
from datetime import datetime

from aiogram import Bot
from aiogram.exceptions import TelegramAPIError, TelegramBadRequest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.services import broadcasts
from bot.services import outbox as outbox_service
from bot.ui.broadcasts.texts import audience_label, progress_text
from storage.models import utcnow

log = logging.getLogger(__name__)

RELEASE_EVERY = 5.0  # seconds between two looks for scheduled broadcasts that are due
PROGRESS_JOB_EVERY = broadcasts.PROGRESS_EVERY + 0.5  # the job; edits themselves are kept 3 s apart


async def release(
    sessions: async_sessionmaker[AsyncSession], signal: outbox_service.Signal, now: datetime | None = None
) -> list[int]:
    """Expand the scheduled broadcasts whose time has come, and wake the outbox worker."""
    async with sessions.begin() as session:
        released = await broadcasts.release_due(session, now)
    if released:
        log.info("broadcasts released ids=%s", released)
        signal.wake()
    return released


async def report(sessions: async_sessionmaker[AsyncSession], bot: Bot, now: datetime | None = None) -> None:
    """Write or edit each sending broadcast's progress message; once nothing is pending, the final
    report, and the broadcast is done. Telegram is called outside any transaction."""
    now = now or utcnow()
    async with sessions() as session:
        found = await broadcasts.being_sent(session)
        audiences = {p.broadcast_id: await audience_label(session, p.audience, p.lang) for p in found}
    for progress in found:
        edited = progress.edited_at
        if edited is not None and (now - edited).total_seconds() < broadcasts.PROGRESS_EVERY:
            continue
        message_id = progress.message_id
        if progress.chat_id is not None:
            message_id = await _write(bot, progress, audiences[progress.broadcast_id], now)
        async with sessions.begin() as session:
            await broadcasts.noted(session, progress.broadcast_id, message_id, progress.finished, now)


async def _write(bot: Bot, progress: broadcasts.Progress, audience: str, now: datetime) -> int | None:
    text = progress_text(progress, progress.lang, now, audience)
    assert progress.chat_id is not None
    try:
        if progress.message_id is None:
            return (await bot.send_message(progress.chat_id, text)).message_id
        await bot.edit_message_text(text, chat_id=progress.chat_id, message_id=progress.message_id)
    except TelegramBadRequest as exc:
        if "message is not modified" not in exc.message:
            log.warning("broadcast progress not written broadcast=%s error=BadRequest", progress.broadcast_id)
    except TelegramAPIError as exc:  # a flood limit or a blocked chat: the next turn tries again
        log.warning(
            "broadcast progress not written broadcast=%s error=%s", progress.broadcast_id, type(exc).__name__
        )
    return progress.message_id
