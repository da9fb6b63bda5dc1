"""The process form, declared: name in Turkish → name in English → who takes part → the neighborhood
(one neighborhood only) → opens → closes → ideas per person → preview → send. The form layer
(`bot/ui/forms.py`) asks, checks, goes back, edits from the preview and keeps the draft across restarts;
the service checks everything again when the process is created."""

from __future__ import annotations

import re
from datetime import datetime
from html import escape
from typing import Any

from aiogram.types import CallbackQuery
from aiogram.utils.i18n import gettext as _

from bot.i18n import N_
from bot.services import geography, processes
from bot.services.errors import BadNumber, parse_int
from bot.text import fold
from bot.ui import dates
from bot.ui.errors import Refusal
from bot.ui.forms import Answer, Closing, Form, Option, Step
from bot.ui.processes import after_keyboard, draft_text, match_label, summary

LIMITS = (1, 2, 3, 5, 10)
AS_TEXT = N_("Please type your answer as text, or send /cancel to stop.")
EDIT_IT = N_("Please change it with ✏️ Edit.")
WITH_DISTRICT = re.compile(r"^(?P<name>.+?)\s*\((?P<district>[^()]+)\)$")  # "Bostanlı (Karşıyaka)"
SUBMISSION_AFTER = N_("Submission must close after it opens ({opens}). Please type a later date.")


def _name(text: str, ctx: dict[str, Any]) -> str:
    try:
        return processes.clean_name(text)
    except processes.BadName as error:
        raise Answer(
            _("Please type a name of at most {max} characters.").format(max=processes.NAME_MAX)
        ) from error


async def _neighborhood(text: str, ctx: dict[str, Any]) -> int:
    """The one neighborhood a typed name points to; several or none are answered with what was found."""
    typed = " ".join(text.split())[:100]
    split = WITH_DISTRICT.match(typed)
    name, district_id = typed, None
    if split:  # "Atatürk (Urla)": the neighborhood looked up within that district only
        found = await geography.search_districts(ctx["session"], split["district"])
        district = next((d for d in found if fold(d.name) == fold(split["district"])), None)
        name, district_id = split["name"], district.id if district else -1
    hoods = await geography.search_neighborhoods(ctx["session"], name, district_id)
    exact = [h for h in hoods if fold(h.name) == fold(name)]
    if len(hoods) > 1 and len(exact) == 1:
        hoods = exact
    shown = escape(typed[:60])
    if not hoods:
        problem = _("I found no neighborhood called “{query}”. Check the spelling and type it again.")
        raise Answer(problem.format(query=shown))
    if len(hoods) > 1:
        names = escape(", ".join(match_label(h) for h in hoods[:8]))
        problem = _("Several neighborhoods match “{query}”: {names}. Please type the full name.")
        raise Answer(problem.format(query=shown, names=names))
    return hoods[0].id


def _limit(answer: str, ctx: dict[str, Any]) -> int:
    """A pressed or typed number: ASCII digits only ("²" is not a number here), within the limits."""
    try:
        return processes.check_limit(parse_int(answer))
    except (BadNumber, processes.BadLimit) as error:
        problem = _("Please type a whole number from {min} to {max}.")
        raise Answer(problem.format(min=processes.LIMIT_MIN, max=processes.LIMIT_MAX)) from error


async def _scopes(values: dict[str, Any], ctx: dict[str, Any]) -> list[Option]:
    return [
        Option(processes.CITY, _("🌆 The whole city")),
        Option(processes.NEIGHBORHOOD, _("🏘 One neighborhood")),
    ]


async def _limits(values: dict[str, Any], ctx: dict[str, Any]) -> list[Option]:
    return [Option(str(n), str(n)) for n in LIMITS]


async def _as_is(text: str, ctx: dict[str, Any]) -> str:
    return text


def _one_neighborhood(values: dict[str, Any]) -> bool:
    return values.get("scope") == processes.NEIGHBORHOOD


def _asking_limit(values: dict[str, Any], ctx: dict[str, Any]) -> str:
    question = _("How many ideas may each person send? Press a number or type one (1 to {max}).")
    return question.format(max=processes.LIMIT_MAX)


async def _preview(values: dict[str, Any], ctx: dict[str, Any]) -> tuple[str, str | None]:
    hood_id = values.get("neighborhood") if _one_neighborhood(values) else None
    hood = await geography.neighborhood(ctx["session"], hood_id) if hood_id else None
    opens, closes = datetime.fromisoformat(values["opens"]), datetime.fromisoformat(values["closes"])
    names = {"tr": values["name_tr"], "en": values["name_en"]}
    return draft_text(names, hood, opens, closes, values["limit"], ctx["lang"], ctx["city"].zone), None


async def _submit(values: dict[str, Any], query: CallbackQuery, ctx: dict[str, Any]) -> Closing:
    """Create the process; a draft gone stale meanwhile (a day passed, a neighborhood closed) stays, and
    staff are told what to change."""
    opens, closes = datetime.fromisoformat(values["opens"]), datetime.fromisoformat(values["closes"])
    closing = dates.closing_problem(opens, closes, SUBMISSION_AFTER, ctx)
    if problem := dates.opening_problem(opens, ctx) or closing:
        raise Refusal(problem + "\n" + _(EDIT_IT))
    try:
        process = await processes.create(
            ctx["session"],
            names={"tr": values["name_tr"], "en": values["name_en"]},
            opens_at=opens,
            closes_at=closes,
            neighborhood_id=values.get("neighborhood") if _one_neighborhood(values) else None,
            idea_limit=values["limit"],
            actor_id=ctx["viewer"].resident.id,
        )
    except processes.KeyTaken as error:
        raise Refusal(
            _(
                "Several processes with this name were being created at the same moment. "
                "Please press Send again."
            )
        ) from error
    except processes.ProcessError as error:
        raise Refusal(_("This neighborhood can no longer take part.") + "\n" + _(EDIT_IT)) from error
    text = _("✅ Process created.") + "\n\n" + summary(process, ctx["lang"], ctx["city"].zone)
    return Closing(text, after_keyboard(), toast=_("Created."))


PROCESS_FORM = Form(
    "process",
    [
        Step(
            "name_tr",
            N_("What is its name in Turkish?"),
            validate=_name,
            hint=AS_TEXT,
            label=N_("🇹🇷 Name in Turkish"),
        ),
        Step(
            "name_en",
            N_("And its name in English?"),
            validate=_name,
            hint=AS_TEXT,
            label=N_("🇬🇧 Name in English"),
        ),
        Step("scope", N_("Who takes part?"), kind="choice", options=_scopes, label=N_("👥 Who takes part")),
        Step(
            "neighborhood",
            N_("Type the neighborhood's name."),
            validate=_neighborhood,
            when=_one_neighborhood,
            hint=AS_TEXT,
            label=N_("🏘 Neighborhood"),
        ),
        Step(
            "opens",
            dates.asking(N_("When does idea submission open?")),
            validate=dates.opens,
            hint=AS_TEXT,
            label=N_("🟢 Opens"),
        ),
        Step(
            "closes",
            dates.asking(N_("When does it close?")),
            validate=dates.closes(SUBMISSION_AFTER),
            hint=AS_TEXT,
            label=N_("🔴 Closes"),
        ),
        Step(
            "limit",
            _asking_limit,
            kind="choice",
            options=_limits,
            typed=_as_is,
            validate=_limit,
            hint=N_("Please press a number or type one."),
            label=N_("💡 Ideas per person"),
        ),
    ],
    preview=_preview,
    submit=_submit,
    header=N_("📅 <b>New process</b>"),
    invalid=(Answer,),
    cancelled=lambda ctx: Closing(_("Cancelled. Nothing was saved."), after_keyboard()),
    throttling_key="process_send",
)
