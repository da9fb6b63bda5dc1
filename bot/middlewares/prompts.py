"""Ends a prompt registered with `bot.ui.prompts.ends_on_leave` when the person leaves it: another
command or any inline button. Runs before the routers, so whichever feature handles the command or the
press finds no prompt state; the person reads the prompt's note, with its reply keyboard removed."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message, ReplyKeyboardRemove, TelegramObject

from bot.ui.prompts import note_of

CANCEL = "/cancel"


def _leaves(event: TelegramObject) -> bool:
    if isinstance(event, CallbackQuery):
        return True
    return isinstance(event, Message) and (event.text or "").startswith("/")


class PromptMiddleware(BaseMiddleware):
    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        note = note_of(data.get("raw_state"))
        state: FSMContext | None = data.get("state")
        user = data.get("event_from_user")
        if note is None or state is None or user is None or not _leaves(event):
            return await handler(event, data)
        await state.set_state(None)
        data["raw_state"] = None
        await data["bot"].send_message(user.id, note(), reply_markup=ReplyKeyboardRemove())
        if isinstance(event, Message) and (event.text or "").split()[0].split("@")[0] == CANCEL:
            return None  # the note is the answer to /cancel: the prompt was what there was to cancel
        return await handler(event, data)
