"""How an outbox message looks in a chat: the buttons under it (see `bot/services/outbox.py`).

A notice's links open something in the bot: a feature registers how its links of a kind open (e.g.
"idea" → the idea's card); a link of a kind nobody registered is left out. An optional URL button comes
last. Sending is the outbox worker's (`scheduler/outbox.py`).
"""

from __future__ import annotations

from collections.abc import Callable

from aiogram.filters.callback_data import CallbackData
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup

from bot.services.outbox import Rendered
from bot.ui.buttons import button

_LINKS: dict[str, Callable[[int], CallbackData]] = {}


def register_link(kind: str, data: Callable[[int], CallbackData]) -> None:
    """How a notice's link of `kind` opens: `data(id)` is the button's callback data."""
    _LINKS[kind] = data


def keyboard(rendered: Rendered) -> InlineKeyboardMarkup | None:
    rows = [[button(label, _LINKS[kind](ident))] for kind, ident, label in rendered.links if kind in _LINKS]
    if rendered.url is not None:
        rows.append([InlineKeyboardButton(text=rendered.url[0], url=rendered.url[1])])
    return InlineKeyboardMarkup(inline_keyboard=rows) if rows else None
