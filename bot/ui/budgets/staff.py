"""Budgets, the staff side: buttons, screens and previews as pure functions from plain values.

A pot's description is written for one language at a time with `translate` (not the staff member's
locale), so the form's preview shows the pot as Turkish and as English readers will read it. The Edit,
New project and Infeasible buttons show exactly when `bot.services.budgets.staff.editable` holds; the
services check the same predicate.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from html import escape
from zoneinfo import ZoneInfo

from aiogram.filters.callback_data import CallbackData
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _

from bot.config import LANGUAGES
from bot.i18n import N_, money, translate, when
from bot.services import budgets, processes
from bot.services.budgets import implementation, rules
from bot.services.paging import Page
from bot.ui.callbacks import Id, MenuCb
from bot.ui.keyboards import button
from bot.ui.paging import page_row
from storage.models import BudgetPot, BudgetProject, Idea, Process, utcnow

PAGE_SIZE = 6  # projects (and processes, ideas) per page
FLAGS = {"tr": "🇹🇷", "en": "🇬🇧"}

KIND_LABELS = {
    rules.KNAPSACK: N_("knapsack: projects up to the budget"),
    rules.APPROVAL: N_("approval: up to a number of projects, whatever they cost"),
    rules.CUMULATIVE: N_("points (imported)"),
}
RULE_LABELS = {
    rules.GREEDY: N_("greedy: the most voted first, skipping what no longer fits"),
    rules.GREEDY_THRESHOLD: N_("greedy, among projects with at least {param} votes"),
    rules.TOP_K: N_("top-k: the {param} most voted projects"),
    rules.MES: N_("equal shares (Method of Equal Shares)"),
}


class StaffAction(StrEnum):
    PROCESSES = "ps"  # page `page` of the processes
    PROCESS = "p"  # process `id`'s budget screen
    POT = "pot"  # pot `id`, page `page` of its projects
    PROJECT = "pj"  # project `id`
    NEW_POT = "np"  # a new pot in process `id`
    EDIT_POT = "ep"  # pot `id`'s names and rules
    NEW_PROJECT = "nj"  # a project typed by staff in pot `id`
    IDEAS = "ideas"  # pot `id`: page `page` of the approved ideas to turn into projects
    FROM_IDEA = "fi"  # idea `id` into a project (of pot `pot`; 0: the pot is asked)
    INFEASIBLE = "inf"  # project `id` infeasible, with a typed reason
    EDIT_PROJECT = "ej"  # project `id`'s texts, cost, pot, note, photo and place
    PLACES = "pl"  # the place picker, from the pot form
    PLACES_BACK = "plb"  # back from the picker to the pot form
    VOTING = "v"  # process `id`'s voting dates
    UPDATE = "up"  # post an implementation update on project `id` (selected in the results)


class StaffCb(CallbackData, prefix="pbs"):
    action: StaffAction
    id: Id = 0
    pot: Id = 0
    page: Id = 0


@dataclass(frozen=True)
class PotSpec:
    """A pot as plain values: a saved one or a draft of the form."""

    names: dict[str, str]
    place: str | None  # None: the whole city; else "Bostanlı, Karşıyaka" or a district's name
    scope: str
    budget: int
    kind: str
    min_projects: int | None
    max_projects: int | None
    min_share: int | None
    approval_limit: int | None
    rule: str
    rule_param: int | None

    @classmethod
    def of(cls, pot: BudgetPot, place: str | None) -> PotSpec:
        return cls(
            dict(pot.names), place, pot.scope, pot.budget, pot.ballot_kind, pot.min_projects,
            pot.max_projects, pot.min_share, pot.approval_limit, pot.rule, pot.rule_param,
        )  # fmt: skip

    @property
    def limits(self) -> rules.Limits:
        return rules.Limits(
            self.kind, self.budget, self.min_projects, self.max_projects, self.min_share, self.approval_limit
        )


def _scope(spec: PotSpec, lang: str) -> str:
    if spec.scope == rules.CITY or spec.place is None:
        return translate(N_("the whole city"), lang)
    if spec.scope == rules.DISTRICT:
        return translate(N_("the district of {name}"), lang, name=escape(spec.place))
    return escape(spec.place)


def pot_lines(spec: PotSpec, currency: str, lang: str) -> str:
    """The pot in `lang`: name, who votes, budget, ballot, limits, counting rule."""
    limits = spec.limits
    lines = [
        f"<b>{escape(spec.names.get(lang) or next(iter(spec.names.values()), ''))}</b>",
        translate(N_("👥 Who votes: {scope}"), lang, scope=_scope(spec, lang)),
        translate(N_("💰 Budget: {amount}"), lang, amount=money(spec.budget, currency, lang)),
        translate(N_("🗳 Ballot: {kind}"), lang, kind=translate(KIND_LABELS.get(spec.kind, spec.kind), lang)),
    ]
    if limits.least > 1:
        lines.append(translate(N_("At least {count} projects."), lang, count=limits.least))
    if limits.most:
        lines.append(translate(N_("At most {count} projects."), lang, count=limits.most))
    if limits.min_total():
        amount = money(limits.min_total(), currency, lang)
        lines.append(translate(N_("Use at least {share}% of the budget ({amount})."), lang, share=spec.min_share,
                               amount=amount))  # fmt: skip
    rule = translate(RULE_LABELS.get(spec.rule, spec.rule), lang).format(param=spec.rule_param or "—")
    lines.append(translate(N_("🧮 Counting: {rule}"), lang, rule=rule))
    return "\n".join(lines)


def pot_preview(spec: PotSpec, currency: str, editing: bool) -> str:
    head = _("✏️ <b>Changes to the pot</b>") if editing else _("💰 <b>New pot</b>")
    blocks = [f"{FLAGS.get(lang, lang)} {pot_lines(spec, currency, lang)}" for lang in LANGUAGES]
    return "\n\n".join([head, *blocks, _("Save it with 📨 Send, or change it with ✏️ Edit.")])


def voting_line(process: Process, zone: ZoneInfo, lang: str, now: datetime | None = None) -> str:
    span = budgets.voting_window(process)
    if span is None:
        return _("🗳 No voting phase yet: set its dates with 🗓 Voting dates.")
    state = {processes.UPCOMING: _("not open yet"), processes.OPEN: _("open"), processes.CLOSED: _("closed")}
    return _("🗳 Voting: {opens} → {closes} ({state})").format(
        opens=when(span.starts_at, zone, lang), closes=when(span.ends_at, zone, lang),
        state=state[span.state(now or utcnow())],
    )  # fmt: skip


def processes_view(shown: Sequence[Process], page: Page, lang: str) -> tuple[str, InlineKeyboardMarkup]:
    rows = [
        [button(f"📅 {processes.name(p, lang)}", StaffCb(action=StaffAction.PROCESS, id=p.id))] for p in shown
    ]
    nav = page_row(page, lambda n: StaffCb(action=StaffAction.PROCESSES, page=n))
    rows += [nav] if nav else []
    rows.append([button(_("« Staff tools"), MenuCb(action="admin"))])
    text = _("💰 <b>Budgets</b>\nWhich process?") if shown else _("💰 <b>Budgets</b>\nNo processes yet.")
    return text, InlineKeyboardMarkup(inline_keyboard=rows)


def process_view(
    process: Process, specs: Sequence[tuple[BudgetPot, PotSpec, int]], editable: bool, zone: ZoneInfo,
    currency: str, lang: str,
) -> tuple[str, InlineKeyboardMarkup]:  # fmt: skip
    """A process's budget screen: the voting dates and each pot (with its number of projects)."""
    parts = [f"💰 <b>{escape(processes.name(process, lang))}</b>", voting_line(process, zone, lang)]
    for _pot, spec, count in specs:
        parts.append(pot_lines(spec, currency, lang) + "\n" + _("Projects: {count}").format(count=count))
    if not specs:
        parts.append(_("No pots yet."))
    rows = [[button(f"🗳 {budgets.pot_name(p, lang)}", StaffCb(action=StaffAction.POT, id=p.id))]
            for p, _spec, _count in specs]  # fmt: skip
    if editable:
        rows.append([button(_("➕ New pot"), StaffCb(action=StaffAction.NEW_POT, id=process.id)),
                     button(_("🗓 Voting dates"), StaffCb(action=StaffAction.VOTING, id=process.id))])  # fmt: skip
    rows.append([button(_("« Processes"), StaffCb(action=StaffAction.PROCESSES))])
    return "\n\n".join(parts), InlineKeyboardMarkup(inline_keyboard=rows)


def project_label(project: BudgetProject, currency: str, lang: str) -> str:
    mark = "🚫" if project.status == rules.INFEASIBLE else ("💡" if project.idea_id else "▫️")
    name = budgets.title(project, lang)
    return f"{mark} {name if len(name) <= 36 else name[:35] + '…'} · {money(project.cost, currency, lang)}"


def pot_view(
    pot: BudgetPot, spec: PotSpec, shown: Sequence[BudgetProject], page: Page, editable: bool,
    currency: str, lang: str,
) -> tuple[str, InlineKeyboardMarkup]:  # fmt: skip
    text = pot_lines(spec, currency, lang) + "\n\n" + _("Projects: {count}").format(count=page.total)
    if not editable:
        text += "\n" + _("🔒 Voting has begun: the rules and the projects can no longer change.")
    rows = [[button(project_label(p, currency, lang), StaffCb(action=StaffAction.PROJECT, id=p.id))]
            for p in shown]  # fmt: skip
    nav = page_row(page, lambda n: StaffCb(action=StaffAction.POT, id=pot.id, page=n))
    rows += [nav] if nav else []
    if editable:
        rows.append([button(_("✏️ Edit the pot"), StaffCb(action=StaffAction.EDIT_POT, id=pot.id))])
        rows.append([button(_("💡 From an approved idea"), StaffCb(action=StaffAction.IDEAS, id=pot.id)),
                     button(_("➕ New project"), StaffCb(action=StaffAction.NEW_PROJECT, id=pot.id))])  # fmt: skip
    rows.append([button(_("« Back"), StaffCb(action=StaffAction.PROCESS, id=pot.process_id))])
    return text, InlineKeyboardMarkup(inline_keyboard=rows)


def project_view(
    project: BudgetProject, pot: BudgetPot, editable: bool, currency: str, lang: str,
    postable: bool = False, updates: int = 0, place: str | None = None,
) -> tuple[str, InlineKeyboardMarkup]:  # fmt: skip
    """A project; Edit and Mark infeasible show exactly when `staff.editable` holds (voting has not
    begun), "Post an update" exactly when `implementation.can_post` does (selected, staff)."""
    lines = [f"<b>{escape(budgets.title(project, lang))}</b>", escape(budgets.summary(project, lang))[:1500]]
    lines.append(_("💰 Cost: {cost}").format(cost=money(project.cost, currency, lang)))
    if project.idea_id:
        lines.append(_("💡 From idea #{number}").format(number=project.idea_id))
    if place:
        lines.append(_("📍 Place: {place}").format(place=escape(place)))
    if project.note:
        lines.append(_("📝 Feasibility note: {note}").format(note=escape(project.note)))
    if project.status == rules.INFEASIBLE:
        lines.append(_("🚫 Infeasible: {reason}").format(reason=escape(project.status_reason or "—")))
    if postable:
        lines.append(_("🏆 Selected in the results. Updates posted: {count}").format(count=updates))
    rows = []
    if editable:
        rows.append([button(_("✏️ Edit the project"), StaffCb(action=StaffAction.EDIT_PROJECT, id=project.id))])
    if editable and project.status == rules.PROPOSED:
        rows.append([button(_("🚫 Mark infeasible"), StaffCb(action=StaffAction.INFEASIBLE, id=project.id))])
    if postable:
        rows.append([button(_("📣 Post an update"), StaffCb(action=StaffAction.UPDATE, id=project.id))])
    rows.append([button(_("« Back"), StaffCb(action=StaffAction.POT, id=pot.id))])
    return "\n".join(line for line in lines if line), InlineKeyboardMarkup(inline_keyboard=rows)


def ideas_view(pot: BudgetPot, shown: Sequence[Idea], page: Page) -> tuple[str, InlineKeyboardMarkup]:
    rows = [[button(f"💡 #{i.id} {i.title[:40]}", StaffCb(action=StaffAction.FROM_IDEA, id=i.id, pot=pot.id))]
            for i in shown]  # fmt: skip
    nav = page_row(page, lambda n: StaffCb(action=StaffAction.IDEAS, id=pot.id, page=n))
    rows += [nav] if nav else []
    rows.append([button(_("« Back"), StaffCb(action=StaffAction.POT, id=pot.id))])
    text = (
        _("💡 Which approved idea becomes a project?")
        if shown
        else _("No approved idea of this process is waiting to become a project.")
    )
    return text, InlineKeyboardMarkup(inline_keyboard=rows)


def project_preview(
    values: dict, pot_name: str, currency: str, lang: str, room: int, place: str | None = None
) -> str:
    """The project form's preview: the pot, the cost, (its place,) and the title and summary in each
    language; a saved project's changes (`project_id`) are headed so."""
    cut = max(100, (room - 600) // (2 * len(LANGUAGES)))
    if values.get("project_id"):
        lines = [_("✏️ <b>Changes to the project</b>")]
    else:
        lines = [_("🏗 <b>New project</b>") if not values.get("idea_id") else
                 _("🏗 <b>Idea #{number} as a project</b>").format(number=values["idea_id"])]  # fmt: skip
    lines.append(_("🗳 Pot: {pot}").format(pot=escape(pot_name)))
    lines.append(_("💰 Cost: {cost}").format(cost=money(values["cost"], currency, lang)))
    if place:
        lines.append(_("📍 Place: {place}").format(place=escape(place)))
    for code in LANGUAGES:
        title, text = values.get(f"title_{code}") or "", values.get(f"summary_{code}") or ""
        text = text if len(text) <= cut else text[: cut - 1] + "…"
        lines.append(f"\n{FLAGS.get(code, code)} <b>{escape(title[:cut])}</b>\n{escape(text)}")
    if values.get("note"):
        lines.append("\n" + _("📝 Feasibility note: {note}").format(note=escape(values["note"][:cut])))
    if values.get("idea_id"):
        lines.append(_("The idea's author and its supporters will be told."))
    return "\n".join(lines)


def picker_button() -> InlineKeyboardButton:
    return button(_("🗺 Choose from the list"), StaffCb(action=StaffAction.PLACES))


def picker_back() -> InlineKeyboardButton:
    return button(_("« Back"), StaffCb(action=StaffAction.PLACES_BACK))


def place_kept(place: str) -> str:
    return _("📍 {place}").format(place=escape(place))


def update_preview(values: dict, title: str, told: int, room: int) -> str:
    """The update form's preview: the stage, the text in each language as its readers will read it, and
    how many people will be told."""
    cut = max(100, (room - 400) // len(LANGUAGES))
    lines = [_("📣 <b>Update on “{title}”</b>").format(title=escape(title[:80]))]
    for code in LANGUAGES:
        text = values.get(f"text_{code}") or ""
        text = text if len(text) <= cut else text[: cut - 1] + "…"
        stage = translate(implementation.STAGES[values["stage"]], code)
        lines.append(f"\n{FLAGS.get(code, code)} <b>{escape(stage)}</b>\n{escape(text)}")
    lines.append("\n" + _("It will be sent to {count} people: the project's voters and its idea's author, "
                          "each in their language.").format(count=told))  # fmt: skip
    return "\n".join(lines)
