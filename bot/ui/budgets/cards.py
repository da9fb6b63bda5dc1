"""How the ballot reads: the list of pots, a pot's page of projects, a project's card, the review and
the receipt. Money in the city's currency, formatted per language (₺2.150.000 in Turkish, ₺2,150,000 in
English)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from html import escape
from zoneinfo import ZoneInfo

from aiogram.utils.i18n import gettext as _

from bot.i18n import money, when
from bot.services import budgets
from bot.services.budgets import Cart, Limits, OnBallot
from bot.ui.cards import fit
from storage.models import BudgetBallot


def cost(amount: int, currency: str, lang: str) -> str:
    return money(amount, currency, lang)


def tally_line(limits: Limits, cart: Cart, currency: str, lang: str) -> str:
    """ "₺2.150.000 / ₺5.000.000 · 3 of at most 5" (a knapsack ballot), "3 of at most 5" (approval)."""
    most = limits.most
    count = (
        _("{count} of at most {most}").format(count=cart.count, most=most)
        if most
        else _("{count} chosen").format(count=cart.count)
    )
    if not limits.counts_money:
        return f"🧮 {count}"
    spent = f"{cost(cart.total, currency, lang)} / {cost(limits.budget, currency, lang)}"
    return f"🧮 {spent} · {count}"


def rules_text(limits: Limits, currency: str, lang: str) -> str:
    """The pot's rules in a few short lines."""
    lines = []
    if limits.counts_money:
        lines.append(
            _("Choose projects whose costs add up to at most {budget}.").format(
                budget=cost(limits.budget, currency, lang)
            )
        )
    else:
        lines.append(_("Choose the projects you support; their cost does not count against you."))
    if limits.most:
        lines.append(_("At most {count} projects.").format(count=limits.most))
    if limits.least > 1:
        lines.append(_("At least {count} projects.").format(count=limits.least))
    if limits.min_total():
        lines.append(
            _("Use at least {share}% of the budget ({amount}).").format(
                share=limits.min_share, amount=cost(limits.min_total(), currency, lang)
            )
        )
    return "\n".join(lines)


def home_text(found: Sequence[budgets.OpenPot]) -> str:
    if not found:
        return _("No budget vote is open for you right now. We will tell you when one opens.")
    return _("🗳 <b>Participatory budget</b>\nWhich ballot would you like to fill in?")


def status_line(
    ballot: budgets.ConfirmedBallot | None, closes: datetime | None, zone: ZoneInfo, lang: str
) -> str:
    date = when(closes, zone, lang) if closes else "—"
    if ballot is None:
        return _("Voting closes on {date}.").format(date=date)
    return _("✅ You have voted (receipt {code}). You can change your ballot until {date}.").format(
        code=f"<code>{escape(ballot.receipt)}</code>", date=date
    )


def pot_text(
    pot: budgets.BallotPot,
    limits: Limits,
    cart: Cart,
    status: str,
    currency: str,
    lang: str,
) -> str:
    head = f"🗳 <b>{escape(budgets.pot_name(pot, lang))}</b>"
    parts = [
        head,
        escape(rules_text(limits, currency, lang)),
        status,
        tally_line(limits, cart, currency, lang),
    ]
    parts.append(_("Open a project to read about it and choose it."))
    return "\n\n".join(parts)


def project_label(project: OnBallot, chosen: bool, fits: bool, currency: str, lang: str) -> str:
    mark = "✅" if chosen else ("▫️" if fits else "🚫")
    name = budgets.title(project, lang)
    name = name if len(name) <= 36 else name[:35] + "…"
    return f"{mark} {project.code} · {name} · {cost(project.cost, currency, lang)}"


def line(project: OnBallot, currency: str, lang: str) -> str:
    """A project in a list (the review, the receipt): "• 217 · Title · ₺2.150.000"."""
    return f"• {escape(project.code)} · {escape(budgets.title(project, lang))} · {cost(project.cost, currency, lang)}"


def place_line(project: OnBallot) -> str | None:
    return _("📍 {place}").format(place=escape(project.place)) if project.place else None


def project_card(
    project: OnBallot,
    limits: Limits,
    cart: Cart,
    chosen: bool,
    refusal: str | None,
    currency: str,
    lang: str,
    limit: int,
) -> str:
    lines = [f"<b>{escape(project.code)} · {escape(budgets.title(project, lang))}</b>"]
    lines.append(_("💰 Cost: {cost}").format(cost=cost(project.cost, currency, lang)))
    place = place_line(project)
    if place:
        lines.append(place)
    lines.append(tally_line(limits, cart, currency, lang))
    if chosen:
        lines.append(_("✅ On your ballot."))
    elif refusal:
        lines.append(_("🚫 It does not fit: {reason}").format(reason=refusal))
    return fit("\n".join(lines), budgets.summary(project, lang), limit)


def review_text(
    pot: budgets.BallotPot,
    projects: Sequence[OnBallot],
    limits: Limits,
    cart: Cart,
    refusal: str | None,
    currency: str,
    lang: str,
) -> str:
    lines = [_("🧾 <b>Your ballot: {pot}</b>").format(pot=escape(budgets.pot_name(pot, lang)))]
    if not projects:
        lines.append(_("You have not chosen any project yet."))
    for project in projects:
        lines.append(line(project, currency, lang))
    lines.append(tally_line(limits, cart, currency, lang))
    if refusal:
        lines.append(_("It cannot be confirmed yet: {reason}").format(reason=refusal))
    else:
        lines.append(_("Confirm it to cast your vote. You can change it until voting closes."))
    return "\n".join(lines)


def receipt_text(
    pot: budgets.BallotPot,
    ballot: BudgetBallot,
    projects: Sequence[OnBallot],
    changed: bool,
    closes: datetime | None,
    zone: ZoneInfo,
    currency: str,
    lang: str,
) -> str:
    head = _("✅ Your ballot was changed.") if changed else _("✅ Thank you, your ballot is saved.")
    lines = [head, _("🗳 {pot}").format(pot=escape(budgets.pot_name(pot, lang)))]
    lines += [line(p, currency, lang) for p in projects]
    lines.append(_("Your receipt code: {code}").format(code=f"<code>{escape(ballot.receipt)}</code>"))
    lines.append(
        _(
            "Keep it to find your ballot in the published list. You can change your ballot until {date}."
        ).format(date=when(closes, zone, lang) if closes else "—")
    )
    return "\n".join(lines)
