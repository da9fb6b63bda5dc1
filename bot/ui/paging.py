"""The ◀ n/m ▶ row under a paged list (the paging rule itself is `bot.services.paging.Page`)."""

from __future__ import annotations

from collections.abc import Callable

from aiogram.filters.callback_data import CallbackData
from aiogram.types import InlineKeyboardButton

from bot.services.paging import Page
from bot.ui.buttons import button


def page_row(page: Page, data: Callable[[int], CallbackData]) -> list[InlineKeyboardButton]:
    """◀ n/m ▶ (`data(k)` shows page k), or no buttons for a one-page list."""
    if page.pages <= 1:
        return []

    row = [button(f"{page.number + 1}/{page.pages}", data(page.number))]
    if page.number > 0:
        row.insert(0, button("◀", data(page.number - 1)))
    if page.number < page.pages - 1:
        row.append(button("▶", data(page.number + 1)))
    return row
