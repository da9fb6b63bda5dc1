"""Choosing a pot's projects by typing their numbers ("217, 1711, 1794"), from a printed list of
projects, say: the prompt, its button, and why a typed list is refused. Every project's
number (its code) is shown before its name, on the pot's pages, its card, the review and the receipt."""

from __future__ import annotations

from html import escape

from aiogram.fsm.state import State, StatesGroup
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _

from bot.i18n import money
from bot.services import budgets
from bot.ui.budgets.callbacks import BallotAction as A
from bot.ui.budgets.callbacks import BallotCb
from bot.ui.keyboards import button

POT_KEY = "numbers_pot"  # the pot whose numbers are typed, in the person's conversation state
SHOWN_UNKNOWN = 5  # unknown numbers named in a refusal; the rest as "…"


class Numbers(StatesGroup):
    typing = State()


def button_label() -> str:
    return _("⌨️ Type project numbers")


def open_button(pot_id: int, page: int) -> InlineKeyboardButton:
    return button(button_label(), BallotCb(action=A.NUMBERS, pot=pot_id, page=page))


def example(view: budgets.BallotView) -> str:
    """The first two numbers of the pot, as a person would type them."""
    return ", ".join(p.code for p in view.projects[:2])


def ask_text(view: budgets.BallotView, lang: str) -> str:
    head = f"⌨️ <b>{escape(budgets.pot_name(view.pot, lang))}</b>"
    body = _(
        "Type the numbers of all the projects you choose, separated by commas or spaces, for example: "
        "{example}\nEach project's number is shown before its name. Your list replaces the projects "
        "chosen so far, and you review it before confirming."
    ).format(example=escape(example(view)))
    return f"{head}\n{body}"


def ask_keyboard(pot_id: int, page: int) -> InlineKeyboardMarkup:
    back = button(_("« Back to the projects"), BallotCb(action=A.POT, pot=pot_id, page=page))
    return InlineKeyboardMarkup(inline_keyboard=[[back]])


def closed_text() -> str:
    """Said when the person leaves the prompt (another command, any button, /cancel)."""
    return _("Typing project numbers closed. You can type them again from the ballot's page.")


def refused_text(error: budgets.BudgetError, view: budgets.BallotView, currency: str, lang: str) -> str:
    """Why a typed list is not taken, and what to type instead (the prompt stays open)."""
    if isinstance(error, budgets.UnknownNumbers):
        named = [escape(n[:16]) for n in error.numbers[:SHOWN_UNKNOWN]]
        if len(error.numbers) > SHOWN_UNKNOWN:
            named.append("…")
        return _(
            "🚫 These numbers are not on this ballot: {numbers}. Check them and type the whole list again."
        ).format(numbers=", ".join(named))
    if isinstance(error, budgets.TooMany):
        return _("🚫 A ballot holds at most {count} projects. Type a shorter list.").format(count=error.limit)
    if isinstance(error, budgets.OverBudget):
        return _(
            "🚫 Those projects add up to {total}, over the budget of {budget}. Type a list that fits."
        ).format(total=money(error.total, currency, lang), budget=money(error.budget, currency, lang))
    return _("Please type project numbers, separated by commas or spaces, for example: {example}").format(
        example=escape(example(view))
    )
