"""An update delivered twice (a webhook retry, a replay) is handled once.

The update's id is claimed inside the update's own transaction (after `DatabaseMiddleware`), with an
insert that does nothing on a conflict: one statement and no transaction of its own. The claim is
committed with what the update did; if handling fails before anything was committed, the claim is rolled
back with the rest and a redelivery is handled again: a process killed while handling an update has
recorded nothing, the webhook call got no 2xx, Telegram delivers the update again and another instance
handles it. Two deliveries at once: on PostgreSQL the second insert waits for the first transaction and
then finds the row; on SQLite transactions run one at a time.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

from aiogram import BaseMiddleware
from aiogram.types import TelegramObject, Update
from sqlalchemy import delete
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.middlewares.metrics import DUPLICATE
from storage.models import ProcessedUpdate, utcnow

log = logging.getLogger(__name__)
KEEP = timedelta(days=2)


async def claim(session: AsyncSession, bot_id: int, update_id: int) -> bool:
    """Record the update as handled in the session's transaction; False if it already was."""
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    statement = (
        dialect.insert(ProcessedUpdate)
        .values(bot_id=bot_id, update_id=update_id, at=utcnow())
        .on_conflict_do_nothing(index_elements=["bot_id", "update_id"])
    )
    result = await session.execute(statement)
    return bool(result.rowcount)


class DedupMiddleware(BaseMiddleware):
    """Skips an update already handled; runs inside `DatabaseMiddleware` and uses its session."""

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        if isinstance(event, Update) and not await claim(data["session"], data["bot"].id, event.update_id):
            log.info("duplicate update skipped update_id=%s", event.update_id)
            data[DUPLICATE] = True
            return None
        return await handler(event, data)


async def purge_processed(session_factory: async_sessionmaker[AsyncSession]) -> int:
    """Forget update ids older than two days (Telegram keeps undelivered updates for one day)."""
    async with session_factory.begin() as session:
        result = await session.execute(delete(ProcessedUpdate).where(ProcessedUpdate.at < utcnow() - KEEP))
        return result.rowcount or 0
