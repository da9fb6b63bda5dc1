"""How refusals of the budgets service read (the budgets part of the error table)."""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

from aiogram.utils.i18n import gettext as _

from bot.i18n import money, when
from bot.services import budgets, processes
from bot.services.budgets import implementation, rules, staff
from bot.ui.errors import refusal


def reason(error: budgets.BudgetError, currency: str, lang: str, zone: ZoneInfo | None = None) -> str:
    """One sentence: why this choice or this ballot is refused."""
    if isinstance(error, budgets.OverBudget):
        return _("that would make {total}, over the budget of {budget}. Remove a project first.").format(
            total=money(error.total, currency, lang), budget=money(error.budget, currency, lang)
        )
    if isinstance(error, budgets.TooMany):
        return _("a ballot holds at most {count} projects. Remove one first.").format(count=error.limit)
    if isinstance(error, budgets.TooFew):
        return _("choose at least {count} projects (you have {chosen}).").format(
            count=error.limit, chosen=error.count
        )
    if isinstance(error, budgets.UnderShare):
        return _("use at least {share}% of the budget, {needed} (you have {total}).").format(
            share=error.share,
            needed=money(error.needed, currency, lang),
            total=money(error.total, currency, lang),
        )
    return closed_text(error, lang, zone)


def closed_text(error: budgets.BudgetError, lang: str, zone: ZoneInfo | None) -> str:
    if isinstance(error, budgets.VotingNotOpen) and error.at is not None and zone is not None:
        if error.state == processes.UPCOMING:
            return _("Voting opens on {date}.").format(date=when(error.at, zone, lang))
        return _("Voting closed on {date}; ballots can no longer be changed.").format(
            date=when(error.at, zone, lang)
        )
    if isinstance(error, budgets.VotingNotOpen):
        return _("Voting is not open.")
    if isinstance(error, budgets.NotOnBallot):
        return _("This project is not on this ballot (any more).")
    return _("This ballot is not open to you.")


def verification_text(error: budgets.BudgetError) -> str | None:
    """Why a verification (or a ballot action before it) is refused; None for other refusals."""
    if isinstance(error, budgets.NotVerified):
        if error.level == rules.PHONE:
            return _("This vote asks you to verify your phone number first: open the ballot from /budget.")
        return _("This vote asks for your one-time code first: open the ballot from /budget.")
    if isinstance(error, budgets.NotOwnContact):
        return _(
            "Only your own contact can verify you: please press “📱 Share my phone number” below. "
            "Someone else's contact or a typed number cannot be accepted."
        )
    if isinstance(error, budgets.BadPhone):
        return _("This contact's phone number cannot be read. Please press “📱 Share my phone number” below.")
    if isinstance(error, budgets.PhoneTaken):
        return _(
            "This phone number has already verified another account in this vote, so it cannot verify "
            "a second one."
        )
    if isinstance(error, budgets.AlreadyVerified):
        return _("You have already verified for this vote.")
    if isinstance(error, budgets.CodeRefused):
        head = (
            _("This code has already been used.") if error.used else _("This code is not valid.")
        )
        if error.left <= 0:
            return head + " " + _("Too many wrong codes: please try again in {minutes} min.").format(
                minutes=rules.WRONG_CODES_WINDOW_MINUTES
            )
        return head + " " + _("Check it and type it again (tries left: {left}).").format(left=error.left)
    if isinstance(error, budgets.TooManyTries):
        return _("Too many wrong codes: please try again in {minutes} min.").format(minutes=error.minutes)
    if isinstance(error, budgets.NoCodes):
        return _("One-time codes are made only for a process verified by code whose voting has not closed.")
    if isinstance(error, budgets.LevelLocked):
        return _("Voting has begun in this process: its verification level can no longer change.")
    return None


LIMITS = (budgets.OverBudget, budgets.TooMany, budgets.TooFew, budgets.UnderShare)


@refusal.register
def _budget_refusal(error: budgets.BudgetError, ctx: dict[str, Any]) -> str:
    city = ctx.get("city")
    currency = city.currency if city is not None else "TRY"
    lang = ctx.get("lang") or "tr"
    text = verification_text(error) or reason(error, currency, lang, city.zone if city is not None else None)
    if isinstance(error, LIMITS):
        return _("🚫 It does not fit: {reason}").format(reason=text)
    return text


# --- the staff side --------------------------------------------------------------------------------


def amount_text(error: budgets.BadAmount, currency: str, lang: str) -> str:
    """Why a typed amount is refused, with an example in the staff member's language."""
    example = money(5_000_000, currency, lang)
    if error.problem == "small":
        return _("The amount must be at least 1. Type it like {example}.").format(example=example)
    if error.problem == "large":
        return _("That amount is too large. Type it like {example}.").format(example=example)
    return _(
        "I could not read that as an amount: type whole units with digits only, or with . or , between "
        "thousands, like {example} or 5000000."
    ).format(example=example)


@refusal.register
def _voting_started(error: budgets.VotingStarted, ctx: dict[str, Any]) -> str:
    return _("Voting has begun: the pot's rules and projects can no longer change.")


@refusal.register
def _bad_amount(error: budgets.BadAmount, ctx: dict[str, Any]) -> str:
    city = ctx.get("city")
    return amount_text(error, city.currency if city is not None else "TRY", ctx.get("lang") or "tr")


@refusal.register
def _bad_reason(error: staff.BadReason, ctx: dict[str, Any]) -> str:
    return _("Please type a reason of {min} to {max} characters.").format(
        min=budgets.rules.REASON_MIN, max=budgets.rules.REASON_MAX
    )


@refusal.register
def _not_selected(error: implementation.NotSelected, ctx: dict[str, Any]) -> str:
    return _("Updates can be posted only on a project selected in the published results.")


@refusal.register
def _bad_update(error: implementation.BadUpdate, ctx: dict[str, Any]) -> str:
    return _("Please type a text of {min} to {max} characters.").format(
        min=implementation.TEXT_MIN, max=implementation.TEXT_MAX
    )
