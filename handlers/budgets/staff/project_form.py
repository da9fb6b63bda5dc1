"""The project form, declared: pot (unless it is known) → title in Turkish → in English → summary in
Turkish → in English (the second language typed, or copied from the first) → cost → feasibility note
→ photo → preview → save. From an idea, the draft starts prefilled (the idea's title, description and
photo in its author's language) and only what is missing is asked before the preview; the service
turns the idea into a project and tells its author and supporters. Editing a saved project starts the
same form at its preview with the project's values (its pot may change to another of the process, and
its place is one more step); the service refuses it, as every change, once voting has begun."""

from __future__ import annotations

from typing import Any

from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery
from aiogram.utils.i18n import gettext as _

from bot.i18n import N_
from bot.services import budgets
from bot.services.budgets import rules, staff
from bot.services.errors import Stale
from bot.services.ideas.rules import DESCRIPTION_MAX
from bot.text import fold
from bot.ui.budgets.errors import amount_text
from bot.ui.budgets.staff import FLAGS, StaffAction, StaffCb, project_preview
from bot.ui.errors import Refusal
from bot.ui.forms import SKIPPED, Answer, Closing, Form, Option, Step
from bot.ui.keyboards import single_column
from bot.ui.places import one_neighborhood

COPY = "=copy"  # the option that copies the other language's text
SKIP_WORDS = frozenset({"skip", "atla", "gec", "yok", "no", "none", "-"})
OTHER = {"tr": "en", "en": "tr"}




async def _pots(values: dict[str, Any], ctx: dict[str, Any]) -> list[Option]:
    pots = await staff.editable_pots(ctx["session"], values["process_id"])
    return [Option(str(p.id), budgets.pot_name(p, ctx["lang"])) for p in pots]


def _copy(field: str):  # noqa: ANN202
    """The Copy option of a text in one language, when the other language's text is there."""

    async def options(values: dict[str, Any], ctx: dict[str, Any]) -> list[Option]:
        other = f"{field[:-3]}_{OTHER[field[-2:]]}"
        if not values.get(other):
            return []
        return [Option(COPY, _("📋 Copy it from {flag}").format(flag=FLAGS[OTHER[field[-2:]]]))]

    return options


def _text(field: str, limit: int):  # noqa: ANN202
    def check(value: str, ctx: dict[str, Any]) -> str:
        if value == COPY:
            value = ctx["draft"].get(f"{field[:-3]}_{OTHER[field[-2:]]}") or ""
        cleaned = " ".join(str(value).split()) if field.startswith("title") else str(value).strip()
        if not 1 <= len(cleaned) <= limit:
            raise Answer(_("Please type a text of at most {max} characters.").format(max=limit))
        return cleaned

    return check


async def _as_is(text: str, ctx: dict[str, Any]) -> str:
    return text


async def _no_note(values: dict[str, Any], ctx: dict[str, Any]) -> list[Option]:
    return [Option("-", _("➖ No note"))]


def _note(value: str, ctx: dict[str, Any]) -> str:
    if value == "-":
        return ""
    cleaned = value.strip()
    if len(cleaned) > rules.NOTE_MAX:
        raise Answer(_("Please type a text of at most {max} characters.").format(max=rules.NOTE_MAX))
    return cleaned


async def _typed_skip(text: str, ctx: dict[str, Any]) -> Any:
    return SKIPPED if fold(text) in SKIP_WORDS else None


def _describe(error: Exception, answer: Any, ctx: dict[str, Any]) -> str:
    if isinstance(error, budgets.BadAmount):
        return amount_text(error, ctx["city"].currency, ctx["lang"])
    return str(error)


async def _place(text: str, ctx: dict[str, Any]) -> int:
    return (await one_neighborhood(ctx["session"], text)).id


def _editing(values: dict[str, Any]) -> bool:
    return bool(values.get("project_id"))


async def _preview(values: dict[str, Any], ctx: dict[str, Any]) -> tuple[str, str | None]:
    session, lang = ctx["session"], ctx["lang"]
    pot = await staff.pot(session, int(values["pot"]))
    room = 1024 if values.get("photo") else 4096
    place = await staff.place_name(session, rules.NEIGHBORHOOD, None, values.get("place"))
    text = project_preview(values, budgets.pot_name(pot, lang), ctx["city"].currency, lang, room, place)
    return text, values.get("photo")


async def _submit(values: dict[str, Any], query: CallbackQuery, ctx: dict[str, Any]) -> Closing:
    settings, city = ctx["settings"], ctx["city"]
    if _editing(values):
        return await _save_changes(values, ctx)
    made = await staff.create_project(
        ctx["session"], int(values["pot"]), ctx["viewer"].resident.id,
        titles={"tr": values["title_tr"], "en": values["title_en"]},
        summaries={"tr": values["summary_tr"], "en": values["summary_en"]},
        cost=values["cost"], note=values.get("note") or None, photo_file_id=values.get("photo"),
        idea_id=values.get("idea_id"), default_lang=settings.default_language or city.default_language,
    )  # fmt: skip
    keyboard = single_column([(_("🗳 Open the pot"), StaffCb(action=StaffAction.POT, id=made.pot_id))])
    return Closing(_("✅ The project is saved."), keyboard, toast=_("Saved."))


async def _save_changes(values: dict[str, Any], ctx: dict[str, Any]) -> Closing:
    edited = await staff.edit_project(
        ctx["session"], int(values["project_id"]), ctx["viewer"].resident.id, pot_id=int(values["pot"]),
        titles={"tr": values["title_tr"], "en": values["title_en"]},
        summaries={"tr": values.get("summary_tr") or "", "en": values.get("summary_en") or ""},
        cost=values["cost"], note=values.get("note") or None, photo_file_id=values.get("photo"),
        neighborhood_id=values.get("place"),
    )  # fmt: skip
    keyboard = single_column([(_("🏗 Open the project"), StaffCb(action=StaffAction.PROJECT, id=edited.id))])
    return Closing(_("✅ The project is saved."), keyboard, toast=_("Saved."))


def _texts(name: str, prompt: str, limit: int, label: str) -> Step:
    return Step(name, prompt, kind="choice", options=_copy(name), typed=_as_is, validate=_text(name, limit),
                hint=N_("Please type your answer as text, or send /cancel to stop."), label=label)  # fmt: skip


# fmt: off
PROJECT_FORM = Form(
    "project",
    [
        Step("pot", N_("Which pot is the project for?"), kind="choice", options=_pots,
             validate=lambda v, ctx: int(v), when=lambda v: not v.get("pot_fixed"), label=N_("🗳 Pot")),
        _texts("title_tr", N_("The project's title in Turkish?"), rules.NAME_MAX, N_("🇹🇷 Title")),
        _texts("title_en", N_("Its title in English? Type it, or copy the Turkish one."), rules.NAME_MAX,
               N_("🇬🇧 Title")),
        _texts("summary_tr", N_("A summary in Turkish: what will be done, where?"), DESCRIPTION_MAX,
               N_("🇹🇷 Summary")),
        _texts("summary_en", N_("The summary in English? Type it, or copy the Turkish one."), DESCRIPTION_MAX,
               N_("🇬🇧 Summary")),
        Step("cost", N_("What does it cost? Type whole units, like 250.000."),
             validate=lambda v, ctx: budgets.parse_amount(v), label=N_("💰 Cost"),
             hint=N_("Please type your answer as text, or send /cancel to stop.")),
        Step("note", N_("A feasibility note for the team (residents do not see it)? Type it, or press No note."),
             kind="choice", options=_no_note, typed=_as_is, validate=_note, label=N_("📝 Feasibility note")),
        Step("photo", N_("A photo of the project? This is optional."), kind="photo", optional=True,
             typed=_typed_skip, label=N_("🖼 Photo"), remove=N_("Remove the photo"),
             hint=N_("Please send a photo (as a photo or as an image file), or tap Skip.")),
        Step("place", N_("Where is the project? Type the neighborhood's name."), validate=_place, optional=True,
             when=_editing, label=N_("📍 Place"), remove=N_("Remove the place"),
             hint=N_("Please type your answer as text, or send /cancel to stop.")),
    ],
    preview=_preview,
    submit=_submit,
    header=N_("🏗 <b>Project</b>"),
    invalid=(Answer, budgets.BadAmount),
    describe=_describe,
    throttling_key="budget_setup",
)
# fmt: on


async def start_new(query: CallbackQuery, callback_data: StaffCb, state: FSMContext, **ctx: Any) -> None:
    pot = await staff.pot(ctx["session"], callback_data.id)
    if not staff.editable(pot.process):
        raise budgets.VotingStarted(f"pot {pot.id}")
    await PROJECT_FORM.start(
        query, state, ctx, {"process_id": pot.process_id, "pot": pot.id, "pot_fixed": True}
    )


async def start_from_idea(
    query: CallbackQuery, callback_data: StaffCb, state: FSMContext, **ctx: Any
) -> None:
    """An approved idea into a project: from the pot's list of ideas (its pot known) or the idea's card."""
    session, settings, city = ctx["session"], ctx["settings"], ctx["city"]
    values = await staff.prefill(
        session, callback_data.id, settings.default_language or city.default_language
    )
    if not await staff.takes_projects(session, values["process_id"]):  # the card's button is gone too
        raise budgets.VotingStarted(f"idea {callback_data.id}")
    pots = [p.id for p in await staff.editable_pots(session, values["process_id"])]
    if callback_data.pot and (await staff.pot(session, callback_data.pot)).process_id != values["process_id"]:
        raise Stale(f"pot {callback_data.pot} is of another process")
    if callback_data.pot and callback_data.pot not in pots:
        raise budgets.VotingStarted(f"pot {callback_data.pot}")
    if not pots:
        raise Refusal(_("This process has no pot open to new projects: add one under 💰 Budgets first."))
    chosen = callback_data.pot or (pots[0] if len(pots) == 1 else None)
    if chosen:
        values.update(pot=chosen, pot_fixed=True)
    await PROJECT_FORM.start(query, state, ctx, values, at_preview=True)


async def start_edit(query: CallbackQuery, callback_data: StaffCb, state: FSMContext, **ctx: Any) -> None:
    """A saved project's form at its preview, from its values (refused, with why, once voting has begun)."""
    found = await staff.project(ctx["session"], callback_data.id)
    pot = await staff.pot(ctx["session"], found.pot_id)
    if not staff.editable(pot.process):
        raise budgets.VotingStarted(f"project {found.id}")
    await PROJECT_FORM.start(query, state, ctx, staff.draft_of(found, pot.process_id), at_preview=True)
