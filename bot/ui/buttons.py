"""One inline button, made once for each label and data.

Every keyboard of the bot is made of `button`s. The pages of a ballot or of ideas show the same projects
with the same ticks to every person, and the next press shows most of them again; a button is a pydantic
model validated when made (5 µs) with its data packed into text first (3 µs for a ballot's). So the
buttons are kept, by label and by the data's factory and values, without packing the data again: a page
of a dozen buttons costs about a fifth of what making them did. No one changes a button once made.
"""

from __future__ import annotations

from typing import Any

from aiogram.filters.callback_data import CallbackData
from aiogram.types import InlineKeyboardButton

LIMIT = 2048  # about 1.4 KiB a button: 3 MiB at most

_made: dict[tuple[Any, ...], InlineKeyboardButton] = {}


def button(label: str, data: CallbackData | str) -> InlineKeyboardButton:
    """A button with its label and its data (a factory's, or already packed). Values equal in Python pack
    to the same text (an enum member and its value, True and 1), so they may share a button."""
    key = (label, data) if isinstance(data, str) else (label, type(data), *data.__dict__.values())
    made = _made.get(key)
    if made is None:
        if len(_made) >= LIMIT:  # the oldest goes: the pages in use are made again at once
            del _made[next(iter(_made))]
        packed = data if isinstance(data, str) else data.pack()
        made = _made[key] = InlineKeyboardButton(text=label, callback_data=packed)
    return made
