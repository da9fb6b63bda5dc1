"""Flood control keyed by handler flags: `flags={"throttling_key": "idea_submit"}`."""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware
from aiogram.dispatcher.flags import get_flag
from aiogram.types import CallbackQuery, TelegramObject
from aiogram.utils.i18n import gettext as _

from bot.features import throttling_rates


class ThrottlingMiddleware(BaseMiddleware):
    """Drops an update that repeats a throttled action too fast (a double press, a flood).

    Kept in this process, or with `redis` in Redis (one `SET … NX PX` per throttled update), so that
    the limit holds across several instances behind a load balancer."""

    def __init__(
        self,
        rates: dict[str, float] | None = None,
        max_keys: int = 100_000,
        *,
        redis: Any = None,
        prefix: str = "throttle",
    ) -> None:
        self._rates = {"default": 0.3, **throttling_rates(), **(rates or {})}
        self._longest = max(self._rates.values())
        # oldest first: an action noted again moves to the end, expired ones leave from the front
        self._last: OrderedDict[tuple[int, str, str | None], float] = OrderedDict()
        self._max_keys = max_keys
        self._redis = redis
        self._prefix = prefix

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        key = get_flag(data, "throttling_key")
        user = data.get("event_from_user")
        if key is None or user is None:
            return await handler(event, data)
        now = time.monotonic()
        rate = self._rates.get(key, self._rates["default"])
        # a press is throttled per button (a double press), so two different buttons are both taken
        slot = (user.id, key, event.data if isinstance(event, CallbackQuery) else None)
        if self._redis is not None:
            name = f"{self._prefix}:{slot[0]}:{slot[1]}:{slot[2] or ''}"
            first = await self._redis.set(name, 1, px=max(1, int(rate * 1000)), nx=True)
            if not first:
                return await self._refuse(event)
            return await handler(event, data)
        last = self._last.get(slot)
        if last is not None and now - last < rate:
            return await self._refuse(event)
        self._forget_before(now - self._longest)
        self._last[slot] = now
        self._last.move_to_end(slot)
        if len(self._last) > self._max_keys:  # a flood from more people than that within one rate
            self._last.popitem(last=False)
        return await handler(event, data)

    def noted(self) -> int:
        """How many recent actions this process remembers (none with Redis)."""
        return len(self._last)

    def _forget_before(self, cutoff: float) -> None:
        """Drop the slots noted before `cutoff`, from the oldest: no rate reaches back that far. A few
        at a time, as they expire, so only what the last `_longest` seconds noted is kept."""
        while self._last:
            oldest = next(iter(self._last))
            if self._last[oldest] >= cutoff:
                return
            self._last.popitem(last=False)

    @staticmethod
    async def _refuse(event: TelegramObject) -> None:
        if isinstance(event, CallbackQuery):
            await event.answer(_("One moment, please: that was already received."))
        return None
