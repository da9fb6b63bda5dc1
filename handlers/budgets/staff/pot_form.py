"""The pot form, declared: name in Turkish → in English → who votes (the city, a district, or a
neighborhood: typed, or chosen with the place picker) → budget → ballot kind → least and most projects →
minimum share (knapsack) or approval limit (approval) → counting rule (and its threshold or k) →
preview in both languages → save. Editing a pot starts the same form at its preview; the service
refuses both once voting has begun."""

from __future__ import annotations

from html import escape
from typing import Any

from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from bot.i18n import N_
from bot.services import budgets, geography
from bot.services.budgets import rules, staff
from bot.services.errors import Stale
from bot.services.residents import Viewer
from bot.text import fold
from bot.ui.budgets.errors import amount_text
from bot.ui.budgets.staff import (
    KIND_LABELS,
    PotSpec,
    StaffAction,
    StaffCb,
    picker_back,
    picker_button,
    place_kept,
    pot_preview,
)
from bot.ui.errors import Refusal
from bot.ui.forms import Answer, Closing, Form, Option, Step
from bot.ui.keyboards import single_column
from bot.ui.messages import reply
from bot.ui.places import district_step, one_neighborhood
from handlers.budgets.staff.states import PotPlace
from storage.models import Neighborhood

AS_TEXT = N_("Please type your answer as text, or send /cancel to stop.")
NUMBERS = N_("Please press a number or type one.")




def _name(text: str, ctx: dict[str, Any]) -> str:
    cleaned = " ".join(text.split())
    if not 1 <= len(cleaned) <= rules.NAME_MAX:
        raise Answer(_("Please type a name of at most {max} characters.").format(max=rules.NAME_MAX))
    return cleaned


async def _scopes(values: dict[str, Any], ctx: dict[str, Any]) -> list[Option]:
    return [
        Option(rules.CITY, _("🌆 The whole city")),
        Option(rules.DISTRICT, _("🏙 One district")),
        Option(rules.NEIGHBORHOOD, _("🏘 One neighborhood")),
    ]


async def _districts(values: dict[str, Any], ctx: dict[str, Any]) -> list[Option]:
    return [Option(str(d.id), d.name) for d in await geography.districts(ctx["session"])]


async def _typed_district(text: str, ctx: dict[str, Any]) -> str:
    found = await geography.search_districts(ctx["session"], text)
    exact = [d for d in found if fold(d.name) == fold(text)]
    found = exact if len(exact) == 1 else found
    if len(found) != 1:
        raise Answer(_("I found no single district called “{query}”. Please press one above.").format(
            query=escape(text[:60])))  # fmt: skip
    return str(found[0].id)


async def _neighborhood(text: str, ctx: dict[str, Any]) -> int:
    return (await one_neighborhood(ctx["session"], text)).id


async def _as_is(text: str, ctx: dict[str, Any]) -> str:
    return text


def _whole(low: int, high: int, *, zero: bool = False, at_least: str | None = None):  # noqa: ANN202
    """A validator of a pressed or typed whole number from `low` to `high` (0 too when `zero`: no limit;
    not below the draft's `at_least` answer, when set)."""

    def check(value: str, ctx: dict[str, Any]) -> int:
        text = str(value).strip()
        number = int(text) if text.isascii() and text.isdigit() and len(text) < 12 else -1
        if zero and number == 0:
            return 0
        floor = max(low, int(ctx["draft"].get(at_least) or 0)) if at_least else low
        if not floor <= number <= high:
            raise Answer(_("Please type a whole number from {low} to {high}.").format(low=floor, high=high))
        return number

    return check


def _numbers(none: str | None, *numbers: int):  # noqa: ANN202
    async def options(values: dict[str, Any], ctx: dict[str, Any]) -> list[Option]:
        found = [Option("0", _(none))] if none else []
        return found + [Option(str(n), str(n)) for n in numbers]

    return options


async def _kinds(values: dict[str, Any], ctx: dict[str, Any]) -> list[Option]:
    return [Option(kind, _(KIND_LABELS[kind])) for kind in rules.BALLOT_KINDS]


async def _rules(values: dict[str, Any], ctx: dict[str, Any]) -> list[Option]:
    return [
        Option(rules.GREEDY, _("Greedy")),
        Option(rules.GREEDY_THRESHOLD, _("Greedy with a vote threshold")),
        Option(rules.TOP_K, _("Top-k: the k most voted")),
        Option(rules.MES, _("Equal shares")),
    ]


def _param_prompt(values: dict[str, Any], ctx: dict[str, Any]) -> str:
    if values.get("rule") == rules.TOP_K:
        return _("How many projects win (k)? Type a number.")
    return _("How many votes must a project have at least to be counted? Type a number.")


def _describe(error: Exception, answer: Any, ctx: dict[str, Any]) -> str:
    if isinstance(error, budgets.BadAmount):
        return amount_text(error, ctx["city"].currency, ctx["lang"])
    return str(error)


def _fields(values: dict[str, Any]) -> dict[str, Any]:
    """The service's keyword arguments from the draft (0 answers "no limit")."""
    scope, kind, rule = values["scope"], values["kind"], values["rule"]
    return {
        "scope": scope,
        "district_id": int(values["district"]) if scope == rules.DISTRICT else None,
        "neighborhood_id": int(values["neighborhood"]) if scope == rules.NEIGHBORHOOD else None,
        "budget": values["budget"],
        "ballot_kind": kind,
        "min_projects": values.get("min_projects") or None,
        "max_projects": values.get("max_projects") or None,
        "min_share": (values.get("min_share") or None) if kind == rules.KNAPSACK else None,
        "approval_limit": (values.get("approval_limit") or None) if kind == rules.APPROVAL else None,
        "rule": rule,
        "rule_param": values.get("rule_param") if rule in (rules.GREEDY_THRESHOLD, rules.TOP_K) else None,
    }


async def _preview(values: dict[str, Any], ctx: dict[str, Any]) -> tuple[str, str | None]:
    f = _fields(values)
    place = await staff.place_name(ctx["session"], f["scope"], f["district_id"], f["neighborhood_id"])
    spec = PotSpec(
        {"tr": values["name_tr"], "en": values["name_en"]}, place, f["scope"], f["budget"], f["ballot_kind"],
        f["min_projects"], f["max_projects"], f["min_share"], f["approval_limit"], f["rule"], f["rule_param"],
    )  # fmt: skip
    return pot_preview(spec, ctx["city"].currency, bool(values.get("pot_id"))), None


async def _submit(values: dict[str, Any], query: CallbackQuery, ctx: dict[str, Any]) -> Closing:
    session, actor = ctx["session"], ctx["viewer"].resident.id
    names = {"tr": values["name_tr"], "en": values["name_en"]}
    try:
        if values.get("pot_id"):
            pot = await staff.edit_pot(session, values["pot_id"], actor, names, **_fields(values))
        else:
            pot = await staff.new_pot(session, values["process_id"], actor, names, **_fields(values))
    except budgets.PotError as error:
        raise Refusal(_("These rules do not fit together. Please change them with ✏️ Edit.")) from error
    keyboard = single_column([(_("🗳 Open the pot"), StaffCb(action=StaffAction.POT, id=pot.id))])
    return Closing(_("✅ The pot is saved."), keyboard, toast=_("Saved."))


def _back_to_pot(ctx: dict[str, Any]) -> Closing:
    return Closing(_("Cancelled. Nothing was saved."))


def _scope_is(scope: str):  # noqa: ANN202
    return lambda values: values.get("scope") == scope


def _kind_is(kind: str):  # noqa: ANN202
    return lambda values: values.get("kind") == kind


# fmt: off
POT_FORM = Form(
    "pot",
    [
        Step("name_tr", N_("What is the pot's name in Turkish?"), validate=_name, hint=AS_TEXT,
             label=N_("🇹🇷 Name in Turkish")),
        Step("name_en", N_("And its name in English?"), validate=_name, hint=AS_TEXT, label=N_("🇬🇧 Name in English")),
        Step("scope", N_("Who votes in this pot?"), kind="choice", options=_scopes, label=N_("👥 Who votes")),
        Step("district", N_("Which district? Press it, or type its name."), kind="choice", options=_districts,
             typed=_typed_district, validate=lambda v, ctx: int(v), when=_scope_is(rules.DISTRICT),
             label=N_("🏙 District")),
        Step("neighborhood", N_("Which neighborhood? Type its name, or choose it from the list."),
             validate=_neighborhood, when=_scope_is(rules.NEIGHBORHOOD), hint=AS_TEXT,
             extra=lambda values, ctx: [picker_button()], label=N_("🏘 Neighborhood")),
        Step("budget", N_("How much money is in the pot? Type whole units, like 5.000.000."),
             validate=lambda v, ctx: budgets.parse_amount(v), hint=AS_TEXT, label=N_("💰 Budget")),
        Step("kind", N_("What kind of ballot?"), kind="choice", options=_kinds, label=N_("🗳 Ballot")),
        Step("min_projects", N_("At least how many projects must a ballot hold?"), kind="choice",
             options=_numbers(N_("No minimum"), 1, 2, 3), typed=_as_is, validate=_whole(1, 1000, zero=True), hint=NUMBERS,
             label=N_("⬇️ Least projects")),
        Step("max_projects", N_("At most how many projects may a ballot hold?"), kind="choice",
             options=_numbers(N_("No maximum"), 3, 5, 10), typed=_as_is,
             validate=_whole(1, 1000, zero=True, at_least="min_projects"), hint=NUMBERS, label=N_("⬆️ Most projects")),
        Step("min_share", N_("What share of the budget (percent) must a ballot use at least?"), kind="choice",
             options=_numbers(N_("No minimum"), 25, 50, 75), typed=_as_is, validate=_whole(1, 100, zero=True),
             when=_kind_is(rules.KNAPSACK), hint=NUMBERS, label=N_("📊 Minimum share")),
        Step("approval_limit", N_("How many projects may a person approve at most?"), kind="choice",
             options=_numbers(None, 3, 5, 10), typed=_as_is, validate=_whole(1, 1000),
             when=_kind_is(rules.APPROVAL), hint=NUMBERS, label=N_("✅ Approval limit")),
        Step("rule", N_("How are the ballots counted?"), kind="choice", options=_rules, label=N_("🧮 Counting")),
        Step("rule_param", _param_prompt, validate=_whole(1, 10**9), hint=AS_TEXT,
             when=lambda v: v.get("rule") in (rules.GREEDY_THRESHOLD, rules.TOP_K), label=N_("🔢 Threshold or k")),
    ],
    preview=_preview,
    submit=_submit,
    header=N_("💰 <b>Pot</b>"),
    invalid=(Answer, budgets.BadAmount),
    describe=_describe,
    cancelled=_back_to_pot,
    throttling_key="budget_setup",
)
# fmt: on


async def start_new(query: CallbackQuery, callback_data: StaffCb, state: FSMContext, **ctx: Any) -> None:
    process = await staff.process(ctx["session"], callback_data.id)
    if not staff.editable(process):
        raise budgets.VotingStarted(f"process {process.id}")
    await POT_FORM.start(query, state, ctx, {"process_id": process.id})


async def start_edit(query: CallbackQuery, callback_data: StaffCb, state: FSMContext, **ctx: Any) -> None:
    pot = await staff.pot(ctx["session"], callback_data.id)
    if not staff.editable(pot.process):
        raise budgets.VotingStarted(f"pot {pot.id}")
    values = {
        "pot_id": pot.id, "process_id": pot.process_id, "name_tr": pot.names.get("tr"),
        "name_en": pot.names.get("en"), "scope": pot.scope, "district": pot.district_id,
        "neighborhood": pot.neighborhood_id, "budget": pot.budget, "kind": pot.ballot_kind,
        "min_projects": pot.min_projects or 0, "max_projects": pot.max_projects or 0,
        "min_share": pot.min_share or 0, "approval_limit": pot.approval_limit, "rule": pot.rule,
        "rule_param": pot.rule_param,
    }  # fmt: skip
    await POT_FORM.start(
        query, state, ctx, {k: v for k, v in values.items() if v is not None}, at_preview=True
    )


async def places(
    query: CallbackQuery, state: FSMContext, raw_state: str | None, session: AsyncSession
) -> None:
    """The place picker, from the neighborhood step (the draft stays in the conversation's data)."""
    if raw_state != POT_FORM.state("neighborhood"):
        raise Stale()
    await state.set_state(PotPlace.district)
    _text, keyboard = await district_step(session, 0, picker_back())
    await reply(query, _("📍 Which district is the neighborhood in? Pick it, or type a name."), keyboard)


async def place_chosen(
    event: Message | CallbackQuery,
    hood: Neighborhood,
    state: FSMContext,
    session: AsyncSession,
    viewer: Viewer,
) -> None:
    keyboard = await POT_FORM.keep(state, "neighborhood", hood.id)
    name = f"{hood.name}, {hood.district.name}" if hood.district else hood.name
    await reply(event, place_kept(name), keyboard)


async def places_back(query: CallbackQuery, state: FSMContext, **ctx: Any) -> None:
    await POT_FORM.resume(query, state, ctx, "neighborhood")
