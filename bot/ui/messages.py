"""Sending and editing helpers shared by every feature."""

from __future__ import annotations

from aiogram.exceptions import TelegramBadRequest
from aiogram.types import (
    CallbackQuery,
    InaccessibleMessage,
    InlineKeyboardMarkup,
    Message,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
)

from bot.middlewares.dedup import keep_none
from bot.middlewares.reply import send_later

Keyboard = InlineKeyboardMarkup | ReplyKeyboardMarkup | ReplyKeyboardRemove | None


async def respond(
    message: Message | InaccessibleMessage, text: str, keyboard: Keyboard = None, *, kept: bool = True
) -> None:
    """A new message in the chat of `message`. Answering a typed message, it is held and goes out when
    the handler returns, in the webhook's reply (`bot.middlewares.reply`), after any sent before it;
    otherwise (a press's message) it is sent at once. With `kept` False (a text that names another
    person), neither it nor what follows is kept to be sent again should the update come again
    (`bot.middlewares.dedup`)."""
    if not kept:
        keep_none()
    await send_later(message.bot, message.answer(text, reply_markup=keyboard))


async def replace(
    message: Message | InaccessibleMessage | None, text: str, keyboard: InlineKeyboardMarkup | None = None
) -> None:
    """Edit a bot message in place; an unchanged message (a double press) is not an error.

    A message that can no longer be edited (too old, deleted) gets a fresh message instead.
    """
    if message is None:
        return
    if isinstance(message, InaccessibleMessage):
        await message.bot.send_message(message.chat.id, text, reply_markup=keyboard)
        return
    try:
        if message.photo or message.document:
            await message.answer(text, reply_markup=keyboard)
        else:
            await message.edit_text(text, reply_markup=keyboard)
    except TelegramBadRequest as exc:
        if "message is not modified" in exc.message:
            return
        if "message to edit not found" in exc.message or "can't be edited" in exc.message:
            await message.answer(text, reply_markup=keyboard)
            return
        raise


async def reply(
    event: Message | CallbackQuery, text: str, keyboard: InlineKeyboardMarkup | None = None
) -> None:
    """Answer in the way that fits the event: a pressed button's message is edited in place, a typed
    message gets a new message."""
    if isinstance(event, CallbackQuery):
        await replace(event.message, text, keyboard)
    else:
        await respond(event, text, keyboard)


async def confirm_then(
    event: Message | CallbackQuery, confirmation: str, text: str, keyboard: InlineKeyboardMarkup | None
) -> None:
    """Close a step with a short confirmation (in place after a press), then show what comes next."""
    await reply(event, confirmation)
    message = event.message if isinstance(event, CallbackQuery) else event
    if message is not None:
        await respond(message, text, keyboard)
