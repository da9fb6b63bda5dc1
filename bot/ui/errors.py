"""One table from a domain error to the message a person reads.

`refusal(error, ctx)` gives the text (`ctx`: the handler data: lang, city, viewer…); a feature adds its errors with `@refusal.register` in its own
`bot/ui/<feature>/errors.py`. Runs inside the person's language (the error handler sets it).
"""

from __future__ import annotations

from functools import singledispatch
from typing import Any

from aiogram.types import Message
from aiogram.utils.i18n import gettext as _

from bot.services.errors import BadNumber, DomainError, NotAllowed, NotFound, Stale
from bot.services.roles import STAFF
from bot.ui.messages import respond


class Refusal(DomainError):
    """A refusal whose text the UI has already written (in the person's language)."""

    def __init__(self, text: str) -> None:
        super().__init__("refusal")
        self.text = text


@singledispatch
def refusal(error: DomainError, ctx: dict[str, Any]) -> str:
    return _("This cannot be done right now.")


@refusal.register
def _not_allowed(error: NotAllowed, ctx: dict[str, Any]) -> str:
    if error.role == STAFF:
        return _("This is for the municipality's staff only.")
    return _("You do not have the role this needs.")


@refusal.register
def _not_found(error: NotFound, ctx: dict[str, Any]) -> str:
    return _("This is no longer available.")


@refusal.register
def _stale(error: Stale, ctx: dict[str, Any]) -> str:
    return _("This button is out of date.")


@refusal.register
def _bad_number(error: BadNumber, ctx: dict[str, Any]) -> str:
    return _("Please type a number with the digits 0–9.")


@refusal.register
def _written(error: Refusal, ctx: dict[str, Any]) -> str:
    return error.text


async def refuse(message: Message, error: DomainError, ctx: dict[str, Any]) -> None:
    """Answer a refusal without raising it, for a handler that must keep what it did (e.g. close a form
    whose idea is gone: raising would roll back the form's state with everything else)."""
    await respond(message, refusal(error, ctx))
