"""Loads (or creates) the resident behind each update and the roles they hold: the `viewer`."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware
from aiogram.types import TelegramObject, User

from bot.services import residents


class ResidentMiddleware(BaseMiddleware):
    def __init__(self, staff_ids: frozenset[int]) -> None:
        self._staff_ids = staff_ids

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        user: User | None = data.get("event_from_user")
        chat = data.get("event_chat")
        if user is not None and not user.is_bot and (chat is None or chat.type == "private"):
            viewer = await residents.load(data["session"], user.id, staff_ids=self._staff_ids)
            data["viewer"] = viewer
            data["resident"] = viewer.resident
        return await handler(event, data)
