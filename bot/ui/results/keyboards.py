"""The results' buttons: pure functions from what is shown to the markup. "Count again" shows exactly
when `results.can_recount` allows it (the service checks the role again)."""

from __future__ import annotations

from collections.abc import Sequence

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _

from bot.services import budgets
from bot.services.budgets import results
from bot.services.paging import Page
from bot.ui.callbacks import MenuCb
from bot.ui.keyboards import button
from bot.ui.paging import page_row
from bot.ui.results.callbacks import ResultsAction as A
from bot.ui.results.callbacks import ResultsCb
from bot.ui.results.cards import project_label
from storage.models import BudgetPot, BudgetProject

PAGE_SIZE = 8


def _column(buttons: Sequence[InlineKeyboardButton]) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(inline_keyboard=[[b] for b in buttons])


def home(pots: Sequence[BudgetPot], lang: str) -> InlineKeyboardMarkup:
    rows = [button(f"📊 {budgets.pot_name(pot, lang)}", ResultsCb(action=A.POT, pot=pot.id)) for pot in pots]
    return _column([*rows, button(_("« Menu"), MenuCb(action="menu"))])


def pot(pot_id: int, is_staff: bool) -> InlineKeyboardMarkup:
    rows = [
        button(_("🔎 Why each project won or lost"), ResultsCb(action=A.PROJECTS, pot=pot_id)),
        button(_("🧾 Was my ballot counted?"), ResultsCb(action=A.CHECK, pot=pot_id)),
        button(_("📄 Counted receipt codes (file)"), ResultsCb(action=A.RECEIPTS, pot=pot_id)),
        button(_("🗂 All ballots (Pabulib file)"), ResultsCb(action=A.FILE, pot=pot_id)),
    ]
    if results.can_recount(is_staff):
        rows.append(button(_("🔁 Count again"), ResultsCb(action=A.RECOUNT, pot=pot_id)))
    rows.append(button(_("« Results"), ResultsCb(action=A.HOME)))
    return _column(rows)


def projects(
    shown: results.PotResults, items: Sequence[BudgetProject], page: Page, lang: str
) -> InlineKeyboardMarkup:
    pot_id = shown.pot.id
    rows = [
        [
            button(
                project_label(shown, p, lang),
                ResultsCb(action=A.PROJECT, pot=pot_id, project=p.id, page=page.number),
            )
        ]
        for p in items
    ]
    nav = page_row(page, lambda n: ResultsCb(action=A.PROJECTS, pot=pot_id, page=n))
    if nav:
        rows.append(nav)
    rows.append([button(_("« Back to the results"), ResultsCb(action=A.SUMMARY, pot=pot_id))])
    return InlineKeyboardMarkup(inline_keyboard=rows)


def project(pot_id: int, page: int) -> InlineKeyboardMarkup:
    return _column([button(_("« Back to the projects"), ResultsCb(action=A.PROJECTS, pot=pot_id, page=page))])


def back(pot_id: int) -> InlineKeyboardMarkup:
    return _column([button(_("« Back to the results"), ResultsCb(action=A.SUMMARY, pot=pot_id))])


def checked(pot_id: int) -> InlineKeyboardMarkup:
    """Under the answer to a receipt check."""
    return _column(
        [
            button(_("🧾 Check another receipt code"), ResultsCb(action=A.CHECK, pot=pot_id)),
            button(_("« Back to the results"), ResultsCb(action=A.SUMMARY, pot=pot_id)),
        ]
    )
