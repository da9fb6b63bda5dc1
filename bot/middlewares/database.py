"""One database transaction per update: committed when the handler returns, rolled back on error.

Notices queued during the update (`bot.services.notices.queue`) are delivered after the commit, so no
message to another person waits inside the transaction and none goes out for a decision rolled back.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware
from aiogram.types import TelegramObject
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.services import notices
from bot.ui.notices import deliver
from storage.db import current_session


class DatabaseMiddleware(BaseMiddleware):
    def __init__(self, session_factory: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = session_factory

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
        queued = notices.take(session)
        if queued:
            await deliver(data["bot"], self._sessions, queued)
        return result
