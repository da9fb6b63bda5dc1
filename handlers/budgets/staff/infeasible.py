"""Marking a project infeasible, declared as a one-step form: the reason (typed) → preview → send. The
project leaves the ballot and its idea's author is told the reason; refused once voting has begun."""

from __future__ import annotations

from html import escape
from typing import Any

from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery
from aiogram.utils.i18n import gettext as _

from bot.i18n import N_
from bot.services import budgets
from bot.services.budgets import rules, staff
from bot.services.errors import Stale
from bot.ui.budgets.staff import StaffAction, StaffCb
from bot.ui.errors import refusal
from bot.ui.forms import Closing, Form, Step
from bot.ui.keyboards import single_column


def _prompt(values: dict[str, Any], ctx: dict[str, Any]) -> str:
    return _("Why can “{title}” not be carried out? Type the reason: the idea's author will read it.").format(
        title=escape(values.get("title") or "")
    )


async def _preview(values: dict[str, Any], ctx: dict[str, Any]) -> tuple[str, str | None]:
    text = _("🚫 <b>Mark infeasible</b>: {title}\nReason: {reason}\n\nThe project leaves the ballot, and the "
             "idea's author (if any) is told the reason.")  # fmt: skip
    return text.format(title=escape(values.get("title") or ""), reason=escape(values["reason"])), None


async def _submit(values: dict[str, Any], query: CallbackQuery, ctx: dict[str, Any]) -> Closing:
    settings, city = ctx["settings"], ctx["city"]
    made = await staff.mark_infeasible(
        ctx["session"], values["project_id"], ctx["viewer"].resident.id, values["reason"],
        default_lang=settings.default_language or city.default_language,
    )  # fmt: skip
    keyboard = single_column([(_("🗳 Open the pot"), StaffCb(action=StaffAction.POT, id=made.pot_id))])
    return Closing(_("🚫 The project is marked infeasible."), keyboard, toast=_("Saved."))


INFEASIBLE_FORM = Form(
    "infeasible",
    [
        Step(
            "reason",
            _prompt,
            validate=lambda v, ctx: staff.clean_reason(v),
            label=N_("✍️ Reason"),
            hint=N_("Please type your answer as text, or send /cancel to stop."),
        ),
    ],  # fmt: skip
    preview=_preview,
    submit=_submit,
    invalid=(staff.BadReason,),
    describe=lambda error, answer, ctx: refusal(error, ctx),
    throttling_key="budget_setup",
)


async def start(query: CallbackQuery, callback_data: StaffCb, state: FSMContext, **ctx: Any) -> None:
    project = await staff.project(ctx["session"], callback_data.id)
    pot = await staff.pot(ctx["session"], project.pot_id)
    if not staff.editable(pot.process):
        raise budgets.VotingStarted(f"pot {pot.id}")
    if project.status != rules.PROPOSED:
        raise Stale(f"project {project.id} is {project.status}")
    values = {"project_id": project.id, "title": budgets.title(project, ctx["lang"])}
    await INFEASIBLE_FORM.start(query, state, ctx, values)
