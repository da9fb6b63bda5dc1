"""The bot's Telegram client: a custom Bot API server when configured, and flood-limit handling."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from aiogram import Bot
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.session.middlewares.base import BaseRequestMiddleware, NextRequestMiddlewareType
from aiogram.client.telegram import TelegramAPIServer
from aiogram.enums import ParseMode
from aiogram.exceptions import TelegramRetryAfter
from aiogram.methods import TelegramMethod
from aiogram.methods.base import Response, TelegramType

from bot.middlewares.answer import AnsweredTracker
from bot.middlewares.database import CommitBeforeSending
from bot.middlewares.metrics import TelegramErrorCounter

log = logging.getLogger(__name__)


class RetryAfterMiddleware(BaseRequestMiddleware):
    """On HTTP 429 wait `retry_after` seconds, as Telegram asks, then send again (a few times at most)."""

    def __init__(self, attempts: int = 5, max_wait: float = 60.0) -> None:
        self.attempts = attempts
        self.max_wait = max_wait

    async def __call__(
        self,
        make_request: NextRequestMiddlewareType[TelegramType],
        bot: Bot,
        method: TelegramMethod[TelegramType],
    ) -> Response[TelegramType]:
        for attempt in range(1, self.attempts + 1):
            try:
                return await make_request(bot, method)
            except TelegramRetryAfter as exc:
                if attempt == self.attempts or exc.retry_after > self.max_wait:
                    raise
                log.info(
                    "flood limit method=%s retry_after=%s attempt=%s",
                    method.__api_method__,
                    exc.retry_after,
                    attempt,
                )
                await asyncio.sleep(exc.retry_after)
        raise AssertionError("unreachable")


class KeepResponseTypes(BaseRequestMiddleware):
    """aiogram validates every answer as `Response[<result type>]`; pydantic keeps such parametrised
    classes only weakly, so under load they are garbage-collected and rebuilt (1-5 ms each) again and
    again. Holding a reference to each method's class the first time it is used stops that."""

    def __init__(self) -> None:
        self._kept: dict[type, type] = {}

    async def __call__(
        self,
        make_request: NextRequestMiddlewareType[TelegramType],
        bot: Bot,
        method: TelegramMethod[TelegramType],
    ) -> Response[TelegramType]:
        kind = type(method)
        if kind not in self._kept:
            self._kept[kind] = Response[method.__returning__]  # type: ignore[name-defined]
        return await make_request(bot, method)


def make_bot(
    token: str,
    api_url: str | None = None,
    *,
    max_retry_wait: float = 60.0,
    client: str = "updates",
    **session_kwargs: Any,
) -> Bot:
    """The client; `client` names it in the 429/403 counters of `/metrics` (updates or outbox)."""
    session = (
        AiohttpSession(api=TelegramAPIServer.from_base(api_url), **session_kwargs)
        if api_url
        else AiohttpSession(**session_kwargs)
    )
    session.middleware(CommitBeforeSending())
    session.middleware(KeepResponseTypes())
    session.middleware(RetryAfterMiddleware(max_wait=max_retry_wait))
    session.middleware(TelegramErrorCounter(client))  # inside the retry: every 429 counts
    session.middleware(AnsweredTracker())
    return Bot(token, session=session, default=DefaultBotProperties(parse_mode=ParseMode.HTML))
