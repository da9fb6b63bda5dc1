"""An implementation update on a selected project, declared as a small form: stage (tender, works
started, completed, a note) → the text in Turkish → in English → optional photo → preview (both
languages, and how many people will be told) → send. The service stores it, audits it once and tells
the project's voters and its idea's author, each in their language; refused on a project that is not
selected in the published results (`implementation.can_post`, the button's predicate too)."""

from __future__ import annotations

from typing import Any

from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery
from aiogram.utils.i18n import gettext as _

from bot.i18n import N_
from bot.services import budgets
from bot.services.budgets import implementation
from bot.text import fold
from bot.ui.budgets.staff import StaffAction, StaffCb, update_preview
from bot.ui.errors import refusal
from bot.ui.forms import SKIPPED, Closing, Form, Option, Step
from bot.ui.keyboards import single_column

SKIP_WORDS = frozenset({"skip", "atla", "gec", "yok", "no", "none", "-"})
TEXT_HINT = N_("Please type your answer as text, or send /cancel to stop.")


async def _stages(values: dict[str, Any], ctx: dict[str, Any]) -> list[Option]:
    return [Option(key, _(label)) for key, label in implementation.STAGES.items()]


async def _typed_skip(text: str, ctx: dict[str, Any]) -> Any:
    return SKIPPED if fold(text) in SKIP_WORDS else None


async def _preview(values: dict[str, Any], ctx: dict[str, Any]) -> tuple[str, str | None]:
    session = ctx["session"]
    found = await implementation.project(session, values["project_id"])
    told = len(await implementation.recipients(session, found))
    room = 1024 if values.get("photo") else 4096
    return update_preview(values, budgets.title(found, ctx["lang"]), told, room), values.get("photo")


async def _submit(values: dict[str, Any], query: CallbackQuery, ctx: dict[str, Any]) -> Closing:
    settings, city = ctx["settings"], ctx["city"]
    posted = await implementation.post(
        ctx["session"], values["project_id"], ctx["viewer"].resident.id, values["stage"],
        {"tr": values["text_tr"], "en": values["text_en"]}, values.get("photo"),
        default_lang=settings.default_language or city.default_language,
    )  # fmt: skip
    keyboard = single_column(
        [(_("« Back to the project"), StaffCb(action=StaffAction.PROJECT, id=values["project_id"]))]
    )
    text = _("📣 The update is posted and sent to {count} people.").format(count=posted.told)
    return Closing(text, keyboard, toast=_("Saved."))


def _text(value: str, ctx: dict[str, Any]) -> str:
    return implementation.clean_text(value)


# fmt: off
UPDATE_FORM = Form(
    "pjup",
    [
        Step("stage", N_("Which stage has the project reached?"), kind="choice", options=_stages,
             label=N_("🏗 Stage")),
        Step("text_tr", N_("The update in Turkish: what has happened, what comes next?"), validate=_text,
             label=N_("🇹🇷 Text"), hint=TEXT_HINT),
        Step("text_en", N_("The update in English?"), validate=_text, label=N_("🇬🇧 Text"), hint=TEXT_HINT),
        Step("photo", N_("A photo of the works? This is optional."), kind="photo", optional=True,
             typed=_typed_skip, label=N_("🖼 Photo"), remove=N_("Remove the photo"),
             hint=N_("Please send a photo (as a photo or as an image file), or tap Skip.")),
    ],
    preview=_preview,
    submit=_submit,
    header=N_("📣 <b>Project update</b>"),
    invalid=(implementation.BadUpdate,),
    describe=lambda error, answer, ctx: refusal(error, ctx),
    throttling_key="budget_setup",
)
# fmt: on


async def start(query: CallbackQuery, callback_data: StaffCb, state: FSMContext, **ctx: Any) -> None:
    found = await implementation.project(ctx["session"], callback_data.id)
    if not implementation.can_post(
        ctx["viewer"].is_staff, await implementation.selected(ctx["session"], found)
    ):
        raise implementation.NotSelected(f"project {found.id}")
    await UPDATE_FORM.start(query, state, ctx, {"project_id": found.id})
