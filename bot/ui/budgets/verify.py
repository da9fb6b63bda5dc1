"""The verification prompt in front of a ballot: sharing one's own contact with a request_contact
button (phone), or typing a one-time code (code)."""

from __future__ import annotations

from html import escape

from aiogram.fsm.state import State, StatesGroup
from aiogram.types import KeyboardButton, ReplyKeyboardMarkup, ReplyKeyboardRemove
from aiogram.utils.i18n import gettext as _

from bot.services.budgets import rules

POT_KEY = "verify_pot"  # the pot the person was opening, in their conversation state


class Verify(StatesGroup):
    phone = State()
    code = State()


def share_label() -> str:
    return _("📱 Share my phone number")


def cancel_label() -> str:
    return _("✖️ Cancel")


def prompt(level: str, pot: str) -> tuple[str, ReplyKeyboardMarkup]:
    head = f"🔐 <b>{escape(pot)}</b>"
    cancel = [KeyboardButton(text=cancel_label())]
    if level == rules.PHONE:
        text = _(
            "In this vote each person votes once, checked by their phone number. Please share your "
            "phone number with the button below (once for this vote). We keep only a coded "
            "fingerprint of it, never the number itself."
        )
        rows = [[KeyboardButton(text=share_label(), request_contact=True)], cancel]
    else:
        text = _(
            "In this vote each person votes with a one-time code from the municipality. Please type "
            "your code (for example ABCDE-FGHJK)."
        )
        rows = [cancel]
    return f"{head}\n{text}", ReplyKeyboardMarkup(
        keyboard=rows, resize_keyboard=True, one_time_keyboard=False
    )


def verified_text(level: str) -> str:
    if level == rules.PHONE:
        return _("✅ Thank you, your phone number is verified for this vote. You can vote now.")
    return _("✅ Thank you, your code is accepted. You can vote now.")


def type_code_text() -> str:
    return _("Please type the one-time code you received from the municipality (for example ABCDE-FGHJK).")


def use_the_button_text() -> str:
    return _(
        "Please press “📱 Share my phone number” below: a typed number or someone else's contact "
        "cannot verify you."
    )


def cancelled_text() -> str:
    return _("Verification cancelled. You can verify later from /budget.")


def removed() -> ReplyKeyboardRemove:
    return ReplyKeyboardRemove()
