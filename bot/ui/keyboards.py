"""Keyboard builders shared by every feature: paged lists, single columns, back buttons.

They build the markup directly: aiogram's `InlineKeyboardBuilder` copies the whole keyboard for every
button it adds, which showed up as several milliseconds per keyboard under load.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from aiogram.filters.callback_data import CallbackData
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _

from bot.ui.callbacks import PageCb

PAGE_SIZE = 12


def button(label: str, data: CallbackData | str) -> InlineKeyboardButton:
    return InlineKeyboardButton(
        text=label, callback_data=data.pack() if isinstance(data, CallbackData) else data
    )


def grid(
    items: Sequence[tuple[str, CallbackData | str]], columns: int = 1
) -> list[list[InlineKeyboardButton]]:
    """Rows of `columns` buttons each (the last row may be shorter)."""
    buttons = [button(label, data) for label, data in items]
    return [buttons[i : i + columns] for i in range(0, len(buttons), columns)]


def page_row(page: int, pages: int, data: Callable[[int], CallbackData]) -> list[InlineKeyboardButton]:
    """◀ n/m ▶ under a paged list: `data(n)` is the button data that shows page n (from 0)."""
    row = [button(f"{page + 1}/{pages}", data(page))]
    if page > 0:
        row.insert(0, button("◀", data(page - 1)))
    if page < pages - 1:
        row.append(button("▶", data(page + 1)))
    return row


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
    pages = max(1, -(-len(items) // page_size))
    page = min(max(page, 0), pages - 1)
    rows = grid(items[page * page_size : (page + 1) * page_size], columns)
    if pages > 1:
        rows.append(page_row(page, pages, lambda n: PageCb(list=list_name, page=n, parent=parent)))
    rows.extend([b] for b in extra)
    return InlineKeyboardMarkup(inline_keyboard=rows)


def single_column(items: Sequence[tuple[str, CallbackData | str]]) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(inline_keyboard=grid(items))


def back_button(data: CallbackData | str) -> InlineKeyboardButton:
    return button(_("« Back"), data)
