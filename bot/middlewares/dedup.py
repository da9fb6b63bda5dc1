"""An update delivered twice (a webhook retry, a replay) is handled once.

Placed after `DatabaseMiddleware`, the update id is written in the update's own transaction, first:
committed with what the update did (at the latest when the bot first speaks, `CommitBeforeSending`),
or rolled back with it. A process killed while handling an update has therefore recorded nothing; the
webhook call got no 2xx, Telegram delivers the update again, and another instance handles it. On
PostgreSQL a second delivery arriving while the first is still being handled waits on the first's row
and is skipped once it commits. Placed before `DatabaseMiddleware` (no session yet), it records the id
in a transaction of its own, before handling."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

from aiogram import BaseMiddleware
from aiogram.types import TelegramObject, Update
from sqlalchemy import delete
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.middlewares.metrics import DUPLICATE
from storage.models import ProcessedUpdate, utcnow

log = logging.getLogger(__name__)
KEEP = timedelta(days=2)


async def _record_in(session: AsyncSession, bot_id: int, update_id: int) -> bool:
    """Insert the id in the session's transaction; False when it is already there (committed)."""
    dialect = session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    statement = (
        insert(ProcessedUpdate)
        .values(bot_id=bot_id, update_id=update_id, at=utcnow())
        .on_conflict_do_nothing(index_elements=["bot_id", "update_id"])
    )
    result = await session.execute(statement)
    return bool(result.rowcount)


class DedupMiddleware(BaseMiddleware):
    def __init__(self, session_factory: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = session_factory

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        if isinstance(event, Update):
            bot = data["bot"]
            session: AsyncSession | None = data.get("session")
            if session is not None:
                if not await _record_in(session, bot.id, event.update_id):
                    await session.rollback()
                    return self._duplicate(event, data)
            else:
                try:
                    async with self._sessions.begin() as own:
                        own.add(ProcessedUpdate(bot_id=bot.id, update_id=event.update_id))
                except IntegrityError:
                    return self._duplicate(event, data)
        return await handler(event, data)

    @staticmethod
    def _duplicate(event: Update, data: dict[str, Any]) -> None:
        log.info("duplicate update skipped update_id=%s", event.update_id)
        data[DUPLICATE] = True
        return None


async def purge_processed(session_factory: async_sessionmaker[AsyncSession]) -> int:
    """Forget update ids older than two days (Telegram keeps undelivered updates for one day)."""
    async with session_factory.begin() as session:
        result = await session.execute(delete(ProcessedUpdate).where(ProcessedUpdate.at < utcnow() - KEEP))
        return result.rowcount or 0
