"""The ballot's buttons: pure functions from what is shown to the markup. A tick shows exactly when
`rules.can_add` allows it, Confirm exactly when `rules.can_confirm` does (the service checks the same)."""

from __future__ import annotations

from collections.abc import Sequence

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _

from bot.services import budgets
from bot.services.budgets import Cart, Limits, OnBallot, rules
from bot.services.paging import Page
from bot.ui.budgets import numbers
from bot.ui.budgets.callbacks import BallotAction as A
from bot.ui.budgets.callbacks import BallotCb
from bot.ui.budgets.cards import project_label
from bot.ui.callbacks import MenuCb
from bot.ui.keyboards import button
from bot.ui.paging import page_row

PAGE_SIZE = 6


def _column(buttons: Sequence[InlineKeyboardButton]) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(inline_keyboard=[[b] for b in buttons])


def home(found: Sequence[budgets.OpenPot], lang: str) -> InlineKeyboardMarkup:
    rows = [
        button(
            f"{'✅' if item.voted else '🔐' if item.pending else '🗳'} {budgets.pot_name(item.pot, lang)}",
            BallotCb(action=A.POT, pot=item.pot.id),
        )
        for item in found
    ]
    return _column([*rows, button(_("« Menu"), MenuCb(action="menu"))])


def pot_page(
    pot_id: int,
    shown: Sequence[OnBallot],
    page: Page,
    chosen: Sequence[int],
    limits: Limits,
    cart: Cart,
    currency: str,
    lang: str,
) -> InlineKeyboardMarkup:
    rows = []
    for project in shown:
        picked = project.id in chosen
        fits = picked or rules.can_add(limits, cart, project.cost)
        label = project_label(project, picked, fits, currency, lang)
        rows.append(
            [button(label, BallotCb(action=A.CARD, pot=pot_id, project=project.id, page=page.number))]
        )
    nav = page_row(page, lambda n: BallotCb(action=A.POT, pot=pot_id, page=n))
    if nav:
        rows.append(nav)
    rows.append([numbers.open_button(pot_id, page.number)])
    review = _("🧾 Review and confirm ({count})").format(count=cart.count)
    rows.append([button(review, BallotCb(action=A.REVIEW, pot=pot_id, page=page.number))])
    rows.append([button(_("« Ballots"), BallotCb(action=A.HOME))])
    return InlineKeyboardMarkup(inline_keyboard=rows)


def card(
    pot_id: int, project: OnBallot, page: int, chosen: bool, limits: Limits, cart: Cart
) -> InlineKeyboardMarkup:
    rows = []
    if chosen:
        drop = BallotCb(action=A.DROP, pot=pot_id, project=project.id, page=page)
        rows.append(button(_("❌ Remove from my ballot"), drop))
    elif rules.can_add(limits, cart, project.cost):
        add = BallotCb(action=A.ADD, pot=pot_id, project=project.id, page=page)
        rows.append(button(_("✅ Add to my ballot"), add))
    rows.append(button(_("« Back to the projects"), BallotCb(action=A.POT, pot=pot_id, page=page)))
    return _column(rows)


def review(pot_id: int, page: int, limits: Limits, cart: Cart, has_ballot: bool) -> InlineKeyboardMarkup:
    rows = []
    if rules.can_confirm(limits, cart):
        rows.append(button(_("✅ Confirm my ballot"), BallotCb(action=A.CONFIRM, pot=pot_id, page=page)))
    if has_ballot:
        rows.append(button(_("↩️ Back to my confirmed ballot"), BallotCb(action=A.RESET, pot=pot_id)))
    rows.append(button(_("« Back to the projects"), BallotCb(action=A.POT, pot=pot_id, page=page)))
    return _column(rows)


def after(pot_id: int) -> InlineKeyboardMarkup:
    """Under a receipt."""
    return _column(
        [
            button(_("✏️ Change my ballot"), BallotCb(action=A.POT, pot=pot_id)),
            button(_("🗳 Ballots"), BallotCb(action=A.HOME)),
            button(_("« Menu"), MenuCb(action="menu")),
        ]
    )
