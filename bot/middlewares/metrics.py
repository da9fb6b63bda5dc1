"""Counts every update and times its handling (outermost of our update middlewares)."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware
from aiogram.client.session.middlewares.base import BaseRequestMiddleware, NextRequestMiddlewareType
from aiogram.dispatcher.event.bases import UNHANDLED
from aiogram.exceptions import TelegramForbiddenError, TelegramRetryAfter
from aiogram.methods import TelegramMethod
from aiogram.methods.base import Response, TelegramType
from aiogram.types import TelegramObject, Update

from bot.metrics import ERRORS, TELEGRAM_ERRORS, UPDATE_SECONDS, UPDATES

DUPLICATE = "meydan_duplicate"  # set in the update's data by DedupMiddleware
VIEWED = "meydan_viewed"  # set there too: the update was handled as a view (read only, not recorded)


class MetricsMiddleware(BaseMiddleware):
    """One counter increment and one histogram observation per update; no database, no personal data."""

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        kind = (event.event_type if isinstance(event, Update) else None) or "unknown"
        started = time.perf_counter()
        try:
            result = await handler(event, data)
        except Exception as exc:
            UPDATE_SECONDS.labels(kind).observe(time.perf_counter() - started)
            UPDATES.labels(kind, "error").inc()
            ERRORS.labels("update", type(exc).__name__).inc()
            raise
        UPDATE_SECONDS.labels(kind).observe(time.perf_counter() - started)
        if data.get(DUPLICATE):
            outcome = "duplicate"
        elif result is UNHANDLED:
            outcome = "unhandled"
        elif data.get(VIEWED):
            outcome = "viewed"
        else:
            outcome = "handled"
        UPDATES.labels(kind, outcome).inc()
        return result


class TelegramErrorCounter(BaseRequestMiddleware):
    """Counts Bot API calls refused with 429 or 403 (each attempt, so a retried 429 counts each time)."""

    def __init__(self, client: str) -> None:
        self.client = client

    async def __call__(
        self,
        make_request: NextRequestMiddlewareType[TelegramType],
        bot: Any,
        method: TelegramMethod[TelegramType],
    ) -> Response[TelegramType]:
        try:
            return await make_request(bot, method)
        except TelegramRetryAfter:
            TELEGRAM_ERRORS.labels(self.client, "429").inc()
            raise
        except TelegramForbiddenError:
            TELEGRAM_ERRORS.labels(self.client, "403").inc()
            raise
