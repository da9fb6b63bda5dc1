"""How refusals of the broadcasts service read (the broadcasts part of the error table)."""

from __future__ import annotations

from typing import Any

from aiogram.utils.i18n import gettext as _

from bot.services import broadcasts
from bot.ui.errors import refusal


def outside_text() -> str:
    return _("You can only write to the residents of your own neighborhood.")


@refusal.register
def _outside(error: broadcasts.OutsideScope, ctx: dict[str, Any]) -> str:
    return outside_text()


@refusal.register
def _not_scheduled(error: broadcasts.NotScheduled, ctx: dict[str, Any]) -> str:
    return _("This broadcast is no longer waiting: it has been sent or cancelled.")


@refusal.register
def _too_long(error: broadcasts.TooLong, ctx: dict[str, Any]) -> str:
    return (
        _("Please keep the message to {max} characters (with a photo, the text is its caption).").format(
            max=error.limit
        )
        + "\n"
        + _("Please change it with ✏️ Edit.")
    )


@refusal.register
def _in_past(error: broadcasts.InPast, ctx: dict[str, Any]) -> str:
    return (
        _("That moment has already passed. Please type a time in the future.")
        + "\n"
        + _("Please change it with ✏️ Edit.")
    )
