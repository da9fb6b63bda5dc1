"""The voting dates, declared: opens → closes (the city's time) → preview → save. Refused once voting has
begun (the service checks again when the dates are saved)."""

from __future__ import annotations

from datetime import datetime
from html import escape
from typing import Any

from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery
from aiogram.utils.i18n import gettext as _

from bot.i18n import N_, when
from bot.services import budgets, processes
from bot.services.budgets import staff
from bot.ui import dates
from bot.ui.budgets.staff import StaffAction, StaffCb
from bot.ui.errors import Refusal
from bot.ui.forms import Closing, Form, Step
from bot.ui.keyboards import single_column

AS_TEXT = N_("Please type your answer as text, or send /cancel to stop.")


VOTING_AFTER = N_("Voting must close after it opens ({opens}). Please type a later date.")


async def _preview(values: dict[str, Any], ctx: dict[str, Any]) -> tuple[str, str | None]:
    zone, lang = ctx["city"].zone, ctx["lang"]
    opens, closes = datetime.fromisoformat(values["opens"]), datetime.fromisoformat(values["closes"])
    text = _("🗳 <b>Voting</b> · {process}\n{opens} → {closes}").format(
        process=escape(values.get("name") or ""),
        opens=when(opens, zone, lang),
        closes=when(closes, zone, lang),
    )
    return text, None


async def _submit(values: dict[str, Any], query: CallbackQuery, ctx: dict[str, Any]) -> Closing:
    opens, closes = datetime.fromisoformat(values["opens"]), datetime.fromisoformat(values["closes"])
    try:
        await staff.set_voting(ctx["session"], values["process_id"], ctx["viewer"].resident.id, opens, closes)
    except processes.InPast as error:  # the draft waited past its closing
        problem = _("That moment has already passed. Please type a date in the future.")
        raise Refusal(problem + "\n" + _("Please change it with ✏️ Edit.")) from error
    keyboard = single_column(
        [(_("💰 Budgets"), StaffCb(action=StaffAction.PROCESS, id=values["process_id"]))]
    )
    return Closing(_("✅ The voting dates are saved."), keyboard, toast=_("Saved."))


VOTING_FORM = Form(
    "voting",
    [
        Step(
            "opens",
            dates.asking(N_("When does voting open?")),
            validate=dates.opens,
            hint=AS_TEXT,
            label=N_("🟢 Opens"),
        ),
        Step(
            "closes",
            dates.asking(N_("When does it close?")),
            validate=dates.closes(VOTING_AFTER),
            hint=AS_TEXT,
            label=N_("🔴 Closes"),
        ),
    ],
    preview=_preview,
    submit=_submit,
    invalid=(dates.Answer,),
    throttling_key="budget_setup",
)


async def start(query: CallbackQuery, callback_data: StaffCb, state: FSMContext, **ctx: Any) -> None:
    process = await staff.process(ctx["session"], callback_data.id)
    if not staff.editable(process):
        raise budgets.VotingStarted(f"process {process.id}")
    values = {"process_id": process.id, "name": processes.name(process, ctx["lang"])}
    await VOTING_FORM.start(query, state, ctx, values)
