"""Filters every feature uses, so access is decided at the router, not by hand in each handler.

- `Private()`: the update comes from a private chat with the bot.
- `Onboarded()`: the person finished onboarding.
- `HasRole(role)`: the person holds `role` city-wide (staff) — `HasRole(COORDINATOR, scoped=True)`
  passes for a coordinator of any neighborhood; the handler then checks the object's own scope with
  `bot.services.roles.require`, which the services call too.
"""

from __future__ import annotations

from aiogram.filters import Filter
from aiogram.types import CallbackQuery, Message, TelegramObject

from bot.services.residents import Viewer
from bot.services.roles import STAFF


class Private(Filter):
    async def __call__(self, event: TelegramObject) -> bool:
        if isinstance(event, CallbackQuery):
            return event.message is not None and event.message.chat.type == "private"
        if isinstance(event, Message):
            return event.chat.type == "private"
        return False


class Onboarded(Filter):
    async def __call__(self, event: TelegramObject, viewer: Viewer | None = None) -> bool:
        return viewer is not None and viewer.onboarded


class HasRole(Filter):
    def __init__(self, role: str = STAFF, *, scoped: bool = False) -> None:
        self.role, self.scoped = role, scoped

    async def __call__(self, event: TelegramObject, viewer: Viewer | None = None) -> bool:
        if viewer is None:
            return False
        if self.scoped:
            return any(role == self.role for role, _scope in viewer.grants)
        return viewer.has(self.role)
