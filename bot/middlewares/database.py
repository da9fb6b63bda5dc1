"""One database transaction per update: committed when the handler returns, rolled back on error.

Notices queued during the update (`bot.services.notices.queue`) are outbox rows written in the update's
transaction, so a notice is committed with its decision or not at all. After the commit this middleware
wakes the outbox worker of this process (`signal`) and waits a moment (at most `NOTICE_WAIT` seconds,
outside any transaction) for it to have handled them, so the person answered sees what their update did;
a worker held up by a flood limit does not hold the update up longer than that.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware
from aiogram.types import TelegramObject
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.services import outbox
from storage.db import current_session

NOTICE_WAIT = 3.0


class DatabaseMiddleware(BaseMiddleware):
    def __init__(
        self, session_factory: async_sessionmaker[AsyncSession], signal: outbox.Signal | None = None
    ) -> None:
        self._sessions = session_factory
        self._signal = signal

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        async with self._sessions.begin() as session:
            data["session"] = session
            token = current_session.set(session)
            try:
                result = await handler(event, data)
            finally:
                current_session.reset(token)
        queued = outbox.take_queued(session)
        if queued and self._signal is not None:
            await self._signal.queued(queued, NOTICE_WAIT)
        return result
