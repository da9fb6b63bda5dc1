"""Keyboard builders shared by every feature: paged lists, single columns, back buttons.

They build the markup directly: aiogram's `InlineKeyboardBuilder` copies the whole keyboard for every
button it adds, which showed up as several milliseconds per keyboard under load.
"""

from __future__ import annotations

from collections.abc import Sequence

from aiogram.filters.callback_data import CallbackData
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _

from bot.services.paging import Page
from bot.ui.buttons import button
from bot.ui.callbacks import PageCb
from bot.ui.paging import page_row

PAGE_SIZE = 12


def grid(
    items: Sequence[tuple[str, CallbackData | str]], columns: int = 1
) -> list[list[InlineKeyboardButton]]:
    """Rows of `columns` buttons each (the last row may be shorter)."""
    buttons = [button(label, data) for label, data in items]
    return [buttons[i : i + columns] for i in range(0, len(buttons), columns)]


def paged(
    items: Sequence[tuple[str, CallbackData | str]],
    *,
    page: int,
    list_name: str,
    parent: int = 0,
    columns: int = 2,
    page_size: int = PAGE_SIZE,
    extra: Sequence[InlineKeyboardButton] = (),
) -> InlineKeyboardMarkup:
    """Buttons for one page of `items` (label, callback data) with ◀ n/m ▶ navigation."""
    shown = Page.of(page, page_size, len(items))
    rows = grid(shown.cut(items), columns)
    nav = page_row(shown, lambda n: PageCb(list=list_name, page=n, parent=parent))
    if nav:
        rows.append(nav)
    rows.extend([b] for b in extra)
    return InlineKeyboardMarkup(inline_keyboard=rows)


def single_column(items: Sequence[tuple[str, CallbackData | str]]) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(inline_keyboard=grid(items))


def back_button(data: CallbackData | str) -> InlineKeyboardButton:
    return button(_("« Back"), data)
