"""Cards: a text with an optional photo, within Telegram's limits (4096 characters of text, 1024 of caption).

A card whose text fits a caption is sent as one photo message; a longer one as the photo followed by the
text, which carries the buttons. Long bodies are shortened with "…" rather than refused by Telegram.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from html import escape, unescape

from aiogram import Bot
from aiogram.exceptions import TelegramBadRequest
from aiogram.types import InaccessibleMessage, InlineKeyboardMarkup, Message

from bot.ui.messages import replace

TEXT_LIMIT, CAPTION_LIMIT = 4096, 1024
_TAG = re.compile(r"<[^>]+>")


def shown_length(html: str) -> int:
    """Characters a person sees (what Telegram counts): tags dropped, entities decoded."""
    return len(unescape(_TAG.sub("", html)))


def fit(head: str, body: str, limit: int) -> str:
    """`head` (HTML) then `body` (plain text, escaped here), the body cut with "…" to stay within `limit`."""
    room = limit - shown_length(head) - 2
    if not body:
        return head
    if room < 2:
        return head[: max(0, limit)]
    if len(body) > room:
        body = body[: room - 1].rstrip() + "…"
    return f"{head}\n\n{escape(body)}"


async def send_card(
    bot: Bot,
    chat_id: int,
    render: Callable[[int], str],
    photo: str | None = None,
    keyboard: InlineKeyboardMarkup | None = None,
) -> Message:
    """Send a card; `render(limit)` gives its text within `limit` characters."""
    if photo is None:
        return await bot.send_message(chat_id, render(TEXT_LIMIT), reply_markup=keyboard)
    full = render(TEXT_LIMIT)
    if shown_length(full) <= CAPTION_LIMIT:
        return await bot.send_photo(chat_id, photo, caption=full, reply_markup=keyboard)
    await bot.send_photo(chat_id, photo)
    return await bot.send_message(chat_id, full, reply_markup=keyboard)


async def show_card(
    message: Message | InaccessibleMessage | None,
    render: Callable[[int], str],
    photo: str | None = None,
    keyboard: InlineKeyboardMarkup | None = None,
) -> None:
    """Show a card in answer to a button: in place for a text card, as new messages for a photo card."""
    if message is None:
        return
    if photo is None:
        await replace(message, render(TEXT_LIMIT), keyboard)
        return
    await send_card(message.bot, message.chat.id, render, photo, keyboard)


async def refresh_card(
    message: Message | InaccessibleMessage | None,
    render: Callable[[int], str],
    keyboard: InlineKeyboardMarkup | None = None,
) -> None:
    """Update a card already shown (a count changed): its caption if it is a photo, else its text."""
    if message is None:
        return
    if isinstance(message, Message) and message.photo:
        try:
            await message.edit_caption(caption=render(CAPTION_LIMIT), reply_markup=keyboard)
        except TelegramBadRequest as exc:
            if "message is not modified" not in exc.message:
                raise
        return
    await replace(message, render(TEXT_LIMIT), keyboard)
