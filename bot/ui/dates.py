"""Date steps for declared forms: a moment typed in the city's time, an opening that has not passed, a
closing after its opening. The process form, the voting dates and scheduled broadcasts ask the same
way and refuse with the same sentences."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from aiogram.utils.i18n import gettext as _

from bot.i18n import when
from bot.services import processes
from bot.ui.forms import Answer
from bot.ui.processes import date_hint

__all__ = ["Answer", "asking", "closes", "closing_problem", "moment", "opening_problem", "opens"]


def asking(question: str) -> Callable[[dict[str, Any], dict[str, Any]], str]:
    """The step's prompt: `question` (a message id) and how to type a date."""
    return lambda values, ctx: _(question) + "\n" + date_hint(ctx["city"].timezone)


def moment(text: str, ctx: dict[str, Any]) -> datetime:
    """A typed date and time in the city's timezone."""
    try:
        return processes.parse_local(text, ctx["city"].zone)
    except processes.BadDate as error:
        raise Answer(_("That is not a date I can read.") + "\n" + date_hint(ctx["city"].timezone)) from error


def opening_problem(opens: datetime, ctx: dict[str, Any]) -> str | None:
    try:
        processes.check_opening(opens, ctx["city"].zone)
    except processes.InPast:
        return _("That day has already passed. Please type today's date or a later one.")
    return None


def closing_problem(opens: datetime, closes: datetime, after: str, ctx: dict[str, Any]) -> str | None:
    """`after` is the message id said when `closes` is not after `opens` (with `{opens}`)."""
    try:
        processes.check_closing(opens, closes)
    except processes.InPast:
        return _("That moment has already passed. Please type a date in the future.")
    except processes.BadWindow:
        return _(after).format(opens=when(opens, ctx["city"].zone, ctx["lang"]))
    return None


def opens(text: str, ctx: dict[str, Any]) -> str:
    """The opening step's validator: a moment that has not passed (ISO 8601 in the draft)."""
    found = moment(text, ctx)
    if problem := opening_problem(found, ctx):
        raise Answer(problem)
    return found.isoformat()


def closes(after: str) -> Callable[[str, dict[str, Any]], str]:
    """The closing step's validator: after the draft's `opens`, and in the future."""

    def validate(text: str, ctx: dict[str, Any]) -> str:
        found = moment(text, ctx)
        if problem := closing_problem(datetime.fromisoformat(ctx["draft"]["opens"]), found, after, ctx):
            raise Answer(problem)
        return found.isoformat()

    return validate
