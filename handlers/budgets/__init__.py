"""Participatory budgeting: the ballots open to me, projects, choices (pressed, or typed as project
numbers), confirm, the receipt, and the verification a process may ask first; and the staff side
(`staff/`: pots and projects by conversation; `verify_staff`: the verification level and one-time
codes), behind router-level staff guards."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import Command

import bot.ui.budgets.errors  # noqa: F401 - registers the budgets part of the error table
from bot.routing import guarded, onboarded, private_router
from bot.ui.budgets.callbacks import BallotAction as A
from bot.ui.budgets.callbacks import BallotCb, VerifyStaffCb
from bot.ui.budgets.callbacks import VerifyStaffAction as S
from bot.ui.budgets.numbers import Numbers, closed_text
from bot.ui.budgets.staff import StaffCb
from bot.ui.budgets.verify import Verify, cancelled_text
from bot.ui.budgets.verify_staff import StaffVerify
from bot.ui.callbacks import HubCb, MenuCb
from bot.ui.forms import FormCb
from bot.ui.notices import register_link
from bot.ui.prompts import ends_on_leave
from handlers.budgets import ballot, confirm, numbers, staff, verify, verify_staff


def _resident(router: Router) -> None:
    router.message.register(ballot.home, Command("budget"))
    router.callback_query.register(ballot.home, MenuCb.filter(F.action == "budget"))
    router.callback_query.register(ballot.home, BallotCb.filter(F.action == A.HOME))
    router.callback_query.register(ballot.pot, BallotCb.filter(F.action == A.POT))
    router.callback_query.register(ballot.card, BallotCb.filter(F.action == A.CARD))
    router.callback_query.register(
        ballot.tick,
        BallotCb.filter(F.action.in_({A.ADD, A.DROP})),
        flags={"throttling_key": "ballot_toggle"},
    )
    router.callback_query.register(numbers.ask, BallotCb.filter(F.action == A.NUMBERS))
    router.message.register(numbers.typed, Numbers.typing, F.text, ~F.text.startswith("/"))
    router.message.register(numbers.not_text, Numbers.typing, ~F.text.startswith("/"))
    router.callback_query.register(confirm.review, BallotCb.filter(F.action == A.REVIEW))
    router.callback_query.register(
        confirm.confirm, BallotCb.filter(F.action == A.CONFIRM), flags={"throttling_key": "ballot_confirm"}
    )
    router.callback_query.register(confirm.reset, BallotCb.filter(F.action == A.RESET))
    _verifying(router)


def _verifying(router: Router) -> None:
    """While a contact or a code is asked for (commands still go to their handlers)."""
    router.message.register(verify.contact, Verify.phone, F.contact)
    router.message.register(verify.use_the_button, Verify.phone, ~F.text.startswith("/"))
    router.message.register(verify.code, Verify.code, F.text, ~F.text.startswith("/"))
    router.message.register(verify.type_the_code, Verify.code, ~F.text.startswith("/"))


def _verification_staff(router: Router) -> None:
    router.callback_query.register(verify_staff.listing, HubCb.filter(F.section == "budget-verification"))
    router.callback_query.register(verify_staff.listing, VerifyStaffCb.filter(F.action == S.LIST))
    router.callback_query.register(verify_staff.show, VerifyStaffCb.filter(F.action == S.OPEN))
    router.callback_query.register(verify_staff.level, VerifyStaffCb.filter(F.action == S.LEVEL))
    router.callback_query.register(verify_staff.ask_count, VerifyStaffCb.filter(F.action == S.CODES))
    router.message.register(verify_staff.make_codes, StaffVerify.count, F.text, ~F.text.startswith("/"))


def make_router() -> Router:
    register_link("budgets", lambda _id: MenuCb(action="budget"))  # the ballots open to me (an announcement)
    ends_on_leave(Verify.phone, Verify.code, note=cancelled_text)  # typed text after leaving is no code
    ends_on_leave(Numbers.typing, note=closed_text)  # nor a list of project numbers
    router = private_router("budgets")
    verifying_team, allowed_staff = guarded(
        "budgets.verification",
        callbacks=(VerifyStaffCb,),
        buttons=(HubCb.filter(F.section == "budget-verification"),),
    )
    _verification_staff(allowed_staff)
    router.include_router(verifying_team)
    residents, allowed = onboarded(
        "budgets.resident",
        callbacks=(BallotCb,),
        commands=("budget",),
        buttons=(MenuCb.filter(F.action == "budget"),),
    )
    _resident(allowed)
    team, for_staff = guarded(
        "budgets.staff", callbacks=(StaffCb,), buttons=(FormCb.filter(F.form.in_(staff.FORM_NAMES)),)
    )
    staff.register(for_staff)
    router.include_routers(team, residents)
    return router
