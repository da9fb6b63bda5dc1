"""One database session per update: committed when the handler returns, rolled back on error. An update
of a person is committed by `ResidentMiddleware`, before their lock is released.

No Telegram call waits inside a write transaction. Before the bot says anything while an update is
handled (a reply, an edit, the answer to a press), `CommitBeforeSending` commits what the update has
done so far: the person is told only what is stored, and a slow or rate-limited chat (a 429 asking to
wait seconds) holds no lock that other people's updates need. A call that says something to the person
is kept with the update in that commit (`bot.middlewares.dedup.keep_answer`), to be sent again should
the update come again.
Whatever the handler does after that runs in a new transaction, committed or rolled back at the end
like the first.

Notices queued during the update (`bot.services.notices.queue`) are outbox rows written in the update's
transaction, so a notice is committed with its decision or not at all. After the commit this middleware
wakes the outbox worker of this process (`signal`) and waits a moment (at most `NOTICE_WAIT` seconds,
outside any transaction) for it to have handled them, so the person answered sees what their update did;
a worker held up by a flood limit does not hold the update up longer than that.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from typing import Any

from aiogram import BaseMiddleware, Bot
from aiogram.client.session.middlewares.base import BaseRequestMiddleware, NextRequestMiddlewareType
from aiogram.methods import TelegramMethod
from aiogram.methods.base import Response, TelegramType
from aiogram.types import TelegramObject
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.middlewares.dedup import keep_answer
from bot.services import outbox
from storage.db import SPOKEN, current_session

# the update's session and the task handling it, for CommitBeforeSending
_handling: ContextVar[tuple[AsyncSession, asyncio.Task[Any] | None] | None] = ContextVar(
    "meydan_handling", default=None
)

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
        session = self._sessions()
        data["session"] = session
        token = current_session.set(session)
        speaking = _handling.set((session, asyncio.current_task()))
        try:
            result = await handled(session, handler, event, data)
        finally:
            _handling.reset(speaking)
            current_session.reset(token)
            await close_session(session)
        queued = outbox.take_queued(session)
        if queued and self._signal is not None:
            await self._signal.queued(queued, NOTICE_WAIT)
        return result


async def close_session(session: AsyncSession) -> None:
    """Close an update's session. One that still holds a connection (its transaction not ended: an
    error on the way out) is closed as `async with` closes it, in a task of its own that a cancellation
    cannot stop halfway, the connection then handed back to the pool whatever happens. One whose
    transaction has ended, as every update's has once `handled` returns or raises, holds nothing: its
    close waits on nothing, and is made in place, without that task (20 to 50 µs an update on SQLite:
    `bench/README.md`, "An update's session closed in place"), and without SQLAlchemy's greenlet, which
    only a close that talks to the database needs: what is left to do is letting its objects go."""
    if session.in_transaction():
        async with session:  # AsyncSession's own exit: the close run to its end
            return
    session.sync_session.close()


async def handled(
    session: AsyncSession,
    handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
    event: TelegramObject,
    data: dict[str, Any],
) -> Any:
    """The handler's result, the session's transaction ended: committed when the handler returns, rolled
    back if anything raises (here, or in `ResidentMiddleware` before the person's lock is released)."""
    try:
        result = await handler(event, data)
        if session.in_transaction():
            await session.commit()
    except BaseException:
        await session.rollback()
        raise
    return result


class CommitBeforeSending(BaseRequestMiddleware):
    """Commits the update's open transaction before any call to Telegram made while handling it."""

    async def __call__(
        self,
        make_request: NextRequestMiddlewareType[TelegramType],
        bot: Bot,
        method: TelegramMethod[TelegramType],
    ) -> Response[TelegramType]:
        handling = _handling.get()
        # only in the task handling the update: a task started meanwhile inherits the context variable
        # but not the right to end the update's transaction
        if handling is not None and handling[1] is asyncio.current_task():
            session = handling[0]
            await keep_answer(session, method)  # kept with what the update did, to be sent again
            if session.in_transaction():
                await session.commit()
            session.info[SPOKEN] = True
        return await make_request(bot, method)
