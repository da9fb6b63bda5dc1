"""How refusals of the ideas service read (the ideas part of the error table)."""

from __future__ import annotations

from html import escape
from typing import Any

from aiogram.utils.i18n import gettext as _

from bot.config import CitySpec
from bot.i18n import when
from bot.services import ideas, processes
from bot.ui.errors import refusal
from storage.models import Process


def _name(process: Process | None, lang: str) -> str:
    return escape(processes.name(process, lang)) if process is not None else "—"


def closed_text(error: ideas.SubmissionNotOpen, lang: str, city: CitySpec) -> str:
    if error.state == processes.UPCOMING and error.at is not None:
        return _("Idea submission for “{process}” opens on {date}. Please come back then!").format(
            process=_name(error.process, lang), date=when(error.at, city.zone, lang)
        )
    if error.state == processes.CLOSED and error.at is not None:
        return _("Idea submission for “{process}” closed on {date}. You can still browse the ideas.").format(
            process=_name(error.process, lang), date=when(error.at, city.zone, lang)
        )
    return _("No idea collection is open for your neighborhood right now.")


def refusal_text(error: ideas.IdeaError, lang: str, city: CitySpec) -> str:
    """The message for a refusal from the ideas service."""
    if isinstance(error, ideas.SubmissionNotOpen):
        return closed_text(error, lang, city)
    if isinstance(error, ideas.LimitReached):
        return _(
            "You have already sent {limit} ideas to this process, the most one person can send. "
            "Thank you for taking part!"
        ).format(limit=error.limit)
    if isinstance(error, ideas.Flooding):
        return _(
            "You have sent several ideas in a short time. Please wait {minutes} minutes and try again."
        ).format(minutes=error.minutes)
    if isinstance(error, ideas.Invalid):
        return invalid_text(error)
    if isinstance(error, ideas.OutsideCity):
        return _("That place is outside {city}. Share a location within the city, or press Skip.").format(
            city=escape(city.names.get(lang))
        )
    if isinstance(error, ideas.NotSupportable):
        return _("This idea cannot be supported (it is not published).")
    if isinstance(error, ideas.OwnIdea):
        return _("This is your own idea: others can support it.")
    if isinstance(error, ideas.NotWithdrawable):
        return _("Only your own ideas can be withdrawn, and only while they wait for review.")
    return _("This idea is not available.")


def invalid_text(error: ideas.Invalid) -> str:
    if error.problem == "empty" and error.field == "title":
        return _("The title needs words: please type a short title in letters.")
    if error.problem == "empty" and error.field == "description":
        return _("The description needs words: please describe your idea in a few sentences.")
    if error.field == "title":
        if error.problem == "long":
            return _("The title is too long: please keep it to {max} characters.").format(max=error.limit)
        return _("The title is too short: please use at least {min} characters.").format(min=error.limit)
    if error.field == "description":
        if error.problem == "long":
            return _("The description is too long: please keep it to {max} characters.").format(
                max=error.limit
            )
        return _("The description is too short: please use at least {min} characters.").format(
            min=error.limit
        )
    if error.problem == "long":
        return _("The reason is too long: please keep it to {max} characters.").format(max=error.limit)
    return _("The reason is too short: please use at least {min} characters.").format(min=error.limit)


@refusal.register
def _idea_refusal(error: ideas.IdeaError, ctx: dict[str, Any]) -> str:
    return refusal_text(error, ctx.get("lang") or "tr", ctx["city"])
