"""A typed message's answer goes out in the webhook's reply, as a press's answer does (`answer.py`).

A message handler answers with `bot.ui.messages.respond` (or `reply`): the message is held until the
handler returns and is then the update's result, which a webhook puts in its reply to Telegram's call
(the Bot API runs a method put there) and polling sends once the update is handled. So answering a
typed command or a typed name costs the bot no request of its own, where it cost one HTTP exchange
with Telegram and the parsing of the message it returned; and it goes out after the update's
transaction is committed.

Only one message is held, the last: holding another sends the one held first, and so does any other
call the bot makes meanwhile (`SendHeldFirst`), so the person sees the messages in the order they were
written. A handler that returns a result of its own has the held message sent before it. When the
handler raises, the held message is dropped with the update's transaction, and the error handlers
answer instead.

Telegram does not report the outcome of a method in a webhook's reply, and does not run it again: a
call it refuses for flooding (HTTP 429) is made again once the wait it asks for is over
(`bot.telegram.RetryAfterMiddleware`), a method in a reply is lost. So once Telegram has asked this
process to wait, for anyone (`flood_seen`), answers go as calls until `CALM_S` seconds after that wait:
under a broadcast, or with a person answered faster than a chat allows, they arrive late rather than not
at all. What this cannot save is a reply refused before the process has seen any wait (the first of a
flood, or one caused by another process's sends alone), which the person does not get. Besides flooding, a message to a person who has just written to the bot can fail only by a
fault of the bot's own (its text or its markup), which the flow tests would see.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from typing import Any

from aiogram import BaseMiddleware, Bot
from aiogram.client.session.middlewares.base import BaseRequestMiddleware, NextRequestMiddlewareType
from aiogram.methods import SendMessage, TelegramMethod
from aiogram.methods.base import Response, TelegramType
from aiogram.types import Message, TelegramObject

# the task handling a message, and the message it holds (none, or one)
_held: ContextVar[tuple[asyncio.Task[Any] | None, list[SendMessage]] | None] = ContextVar(
    "meydan_held_reply", default=None
)


CALM_S = 10.0  # answers go as calls for this long after a wait Telegram asked for has ended


class _Flood:
    calls_until = 0.0  # time.monotonic() until which answers go as calls


def flood_seen(retry_after: float) -> None:
    """Telegram answered a call of this process with 429 and `retry_after` seconds to wait."""
    _Flood.calls_until = max(_Flood.calls_until, time.monotonic() + retry_after + CALM_S)


def _calls_only() -> bool:
    return time.monotonic() < _Flood.calls_until


def _slot() -> list[SendMessage] | None:
    """The held message's place, in the task handling a message only: a task started meanwhile
    inherits the context variable, but what it sends is not that update's answer."""
    held = _held.get()
    return held[1] if held is not None and held[0] is asyncio.current_task() else None


async def send_later(bot: Bot, method: SendMessage) -> None:
    """Send `method` as the update's answer when the handler returns; at once when this is not the
    handling of a message, or when Telegram has lately asked for a wait."""
    slot = _slot()
    if slot is None or _calls_only():
        await bot(method)
        return
    if slot:
        await bot(slot.pop())
    slot.append(method)


class SendHeldFirst(BaseRequestMiddleware):
    """Any call made while a message is held sends the held one first."""

    async def __call__(
        self,
        make_request: NextRequestMiddlewareType[TelegramType],
        bot: Bot,
        method: TelegramMethod[TelegramType],
    ) -> Response[TelegramType]:
        slot = _slot()
        if slot:
            await bot(slot.pop())
        return await make_request(bot, method)


class ReplyMiddleware(BaseMiddleware):
    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        if not isinstance(event, Message):
            return await handler(event, data)
        slot: list[SendMessage] = []
        token = _held.set((asyncio.current_task(), slot))
        try:
            result = await handler(event, data)
            if slot:
                held = slot.pop()
                if result is None and not _calls_only():
                    return held
                await data["bot"](held)
            return result
        finally:
            _held.reset(token)
