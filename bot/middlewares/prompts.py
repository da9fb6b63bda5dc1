"""Ends a prompt registered with `bot.ui.prompts.ends_on_leave` when the person leaves it: another
command or an inline button. The prompt's state is ended before any router sees the update, so whichever
feature handles the command or the press finds no prompt; once it is handled, the person reads the
prompt's note with the reply keyboard removed (not when the handler asked the prompt again: opening the
pot once more). A press that is refused (a forged or stale ballot button, "verify first") leaves the
person where they were: the prompt is kept. /cancel gets the note alone."""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware
from aiogram.fsm.context import FSMContext
from aiogram.methods import SendMessage
from aiogram.types import CallbackQuery, Message, ReplyKeyboardRemove, TelegramObject

from bot.middlewares.reply import send_later
from bot.text import command_of
from bot.ui.prompts import note_of

CANCEL = "/cancel"


def _command(event: TelegramObject) -> str | None:
    return command_of(event.text) if isinstance(event, Message) else None


class PromptMiddleware(BaseMiddleware):
    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        raw = data.get("raw_state")
        note = note_of(raw)
        state: FSMContext | None = data.get("state")
        user = data.get("event_from_user")
        command = _command(event)
        if note is None or state is None or user is None or not (command or isinstance(event, CallbackQuery)):
            return await handler(event, data)
        await state.set_state(None)
        data["raw_state"] = None
        bot = data["bot"]
        if command == CANCEL:  # the note is the answer: the prompt was what there was to cancel
            await send_later(
                bot, SendMessage(chat_id=user.id, text=note(), reply_markup=ReplyKeyboardRemove())
            )
            return None
        try:
            result = await handler(event, data)
        except BaseException:
            with contextlib.suppress(Exception):  # (on SQL storage the update's rollback restores it too)
                await state.set_state(raw)
            raise
        if note_of(await state.get_state()) is None:
            await send_later(
                bot, SendMessage(chat_id=user.id, text=note(), reply_markup=ReplyKeyboardRemove())
            )
        return result
