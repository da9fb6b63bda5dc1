"""Every button press is answered exactly once, in one place.

A handler sets `callback_answer.text` (and `.show_alert`) for a toast, or nothing for a silent answer;
the answer goes out when the handler returns. It is the update's result (unless the handler returned
one of its own): a webhook answers Telegram's call with it (the Bot API runs a method put in the reply
to its call), and polling sends it once the update is handled. So a press costs the bot one request
(its edit) instead of two, and the answer goes out after the update's transaction is committed.

When the handler raises, nothing is answered here: the error handlers answer with the reason (a
refusal) or an apology. A handler that answered the query itself (`query.answer(...)`) is noticed by
the request tracker below, so the query is never answered twice.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from typing import Any

from aiogram import BaseMiddleware, Bot
from aiogram.client.session.middlewares.base import BaseRequestMiddleware, NextRequestMiddlewareType
from aiogram.dispatcher.flags import get_flag
from aiogram.methods import AnswerCallbackQuery, TelegramMethod
from aiogram.methods.base import Response, TelegramType
from aiogram.types import CallbackQuery, TelegramObject
from aiogram.utils.callback_answer import CallbackAnswer

_answered: ContextVar[set[str] | None] = ContextVar("meydan_answered", default=None)


def answered(query_id: str) -> bool:
    """Whether this update's handling has already answered the query `query_id`."""
    seen = _answered.get()
    return seen is not None and query_id in seen


class AnsweredTracker(BaseRequestMiddleware):
    """Notes each answerCallbackQuery the bot sends while handling an update."""

    async def __call__(
        self,
        make_request: NextRequestMiddlewareType[TelegramType],
        bot: Bot,
        method: TelegramMethod[TelegramType],
    ) -> Response[TelegramType]:
        if isinstance(method, AnswerCallbackQuery):
            seen = _answered.get()
            if seen is not None:
                seen.add(method.callback_query_id)
        return await make_request(bot, method)


class AnswerMiddleware(BaseMiddleware):
    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        if not isinstance(event, CallbackQuery):
            return await handler(event, data)
        answer = CallbackAnswer(answered=False, disabled=bool(get_flag(data, "answer_disabled")))
        data["callback_answer"] = answer
        token = _answered.set(set())
        try:
            result = await handler(event, data)
            if not answer.disabled and not answer.answered and not answered(event.id):
                reply = event.answer(text=answer.text, show_alert=answer.show_alert)
                if result is None:
                    return reply
                await reply
            return result
        finally:
            _answered.reset(token)
