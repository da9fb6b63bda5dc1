"""A ballot's two whole screens, each shown after a press and after a typed answer: a pot's page of
projects (opening it, once verified) and the review of the draft (its button, typed project numbers)."""

from __future__ import annotations

from aiogram.types import InlineKeyboardMarkup

from bot.config import CitySpec
from bot.services import budgets
from bot.services.budgets import rules
from bot.services.paging import Page
from bot.ui.budgets import cards, keyboards
from bot.ui.budgets.errors import reason


def pot_screen(
    view: budgets.BallotView, page_number: int, city: CitySpec, lang: str
) -> tuple[str, InlineKeyboardMarkup]:
    """A pot's page of projects, as opening it shows."""
    page = Page.of(page_number, keyboards.PAGE_SIZE, len(view.projects))
    status = cards.status_line(view.ballot, view.closes, city.zone, lang)
    text = cards.pot_text(view.pot, view.limits, view.cart, status, city.currency, lang)
    keyboard = keyboards.pot_page(
        view.pot.id, page.cut(view.projects), page, view.chosen, view.limits, view.cart, city.currency, lang
    )
    return text, keyboard


def review_screen(
    view: budgets.BallotView, page_number: int, city: CitySpec, lang: str
) -> tuple[str, InlineKeyboardMarkup]:
    """The draft with what it adds up to, and Confirm when it may be confirmed."""
    refusal = rules.refusal_to_confirm(view.limits, view.cart)
    why = reason(refusal, city.currency, lang) if refusal is not None else None
    text = cards.review_text(view.pot, view.picked, view.limits, view.cart, why, city.currency, lang)
    keyboard = keyboards.review(view.pot.id, page_number, view.limits, view.cart, view.ballot is not None)
    return text, keyboard
