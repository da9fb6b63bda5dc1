"""Keyboard builders shared by every feature: paged lists, yes/no, back buttons."""

from __future__ import annotations

from collections.abc import Sequence

from aiogram.filters.callback_data import CallbackData
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bot.ui.callbacks import PageCb

PAGE_SIZE = 12


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
    builder = InlineKeyboardBuilder()
    for label, data in items[page * page_size : (page + 1) * page_size]:
        builder.button(text=label, callback_data=data)
    builder.adjust(columns)
    if pages > 1:
        nav = []
        if page > 0:
            nav.append(
                InlineKeyboardButton(
                    text="◀", callback_data=PageCb(list=list_name, page=page - 1, parent=parent).pack()
                )
            )
        nav.append(
            InlineKeyboardButton(
                text=f"{page + 1}/{pages}",
                callback_data=PageCb(list=list_name, page=page, parent=parent).pack(),
            )
        )
        if page < pages - 1:
            nav.append(
                InlineKeyboardButton(
                    text="▶", callback_data=PageCb(list=list_name, page=page + 1, parent=parent).pack()
                )
            )
        builder.row(*nav)
    for button in extra:
        builder.row(button)
    return builder.as_markup()


def page_of(items: Sequence[object], item_index: int, page_size: int = PAGE_SIZE) -> int:
    return item_index // page_size


def single_column(buttons: Sequence[tuple[str, CallbackData | str]]) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    for label, data in buttons:
        builder.button(text=label, callback_data=data)
    builder.adjust(1)
    return builder.as_markup()


def back_button(data: CallbackData | str) -> InlineKeyboardButton:
    packed = data.pack() if isinstance(data, CallbackData) else data
    return InlineKeyboardButton(text=_("« Back"), callback_data=packed)
