"""How results read: a pot's results (winners, votes, costs, the share of the budget used, turnout and
turnout by neighborhood), why each project won or lost, the receipt check. Money in the city's currency
formatted per language (`bot.i18n.money`: ₺2.150.000 in Turkish, ₺2,150,000 in English), numbers and
percentages with Babel."""

from __future__ import annotations

from fractions import Fraction
from html import escape
from zoneinfo import ZoneInfo

from aiogram.utils.i18n import gettext as _
from babel.numbers import format_percent

from bot.i18n import babel_locale, money, number, when
from bot.services import budgets
from bot.services.budgets import implementation, results, rules
from bot.tally import Explanation, Reason
from bot.tally.outcome import Param
from bot.ui.results.chart import Bar, Labels
from storage.models import BudgetPot, BudgetProject, BudgetProjectUpdate

MAX_LINES = 25  # winners listed in the message (a message holds 4,096 characters)
MAX_PLACES = 15  # neighborhoods listed by name; the others are counted together


def amount(value: Param, currency: str, lang: str) -> str:
    """An amount of money from a tally (exact: a fraction is rounded for display)."""
    if isinstance(value, Fraction):
        value = round(value)
    return money(int(value or 0), currency, lang)  # type: ignore[arg-type]


def count(value: Param, lang: str) -> str:
    if isinstance(value, Fraction):
        value = round(value)
    return number(int(value or 0), lang)  # type: ignore[arg-type]


def percent(share: float, lang: str) -> str:
    return format_percent(share, locale=babel_locale(lang))


def rule_name(pot: BudgetPot) -> str:
    if pot.rule == rules.MES:
        return _("the Method of Equal Shares")
    if pot.rule == rules.TOP_K:
        return _("the {k} most voted projects").format(k=pot.rule_param or 0)
    if pot.rule == rules.GREEDY_THRESHOLD:
        return _("most votes first, among projects with at least {threshold} votes").format(
            threshold=pot.rule_param or 0
        )
    return _("most votes first, skipping a project that no longer fits")


def home_text(found: bool) -> str:
    if not found:
        return _("No budget results are published for you yet. They come when voting closes.")
    return _("📊 <b>Participatory budget results</b>\nWhich pot's results would you like to see?")


def _title(project: BudgetProject, lang: str, most: int = 80) -> str:
    name = budgets.title(project, lang)
    return escape(name if len(name) <= most else name[: most - 1] + "…")


def _turnout_lines(shown: results.PotResults, lang: str) -> list[str]:
    turnout = shown.turnout
    lines = [_("👥 <b>Ballots by neighborhood</b>")]
    if turnout.hidden or not (turnout.shown or turnout.unknown):
        lines.append(_("Too few ballots to show by neighborhood without singling anyone out."))
        return lines
    for hood_id, ballots in turnout.shown[:MAX_PLACES]:
        name = escape(shown.hoods.get(hood_id, "?"))
        lines.append(_("{place}: {count}").format(place=name, count=number(ballots, lang)))
    other = turnout.other + sum(ballots for _hood, ballots in turnout.shown[MAX_PLACES:])
    if turnout.unknown:
        lines.append(_("Neighborhood not known: {count}").format(count=number(turnout.unknown, lang)))
    if other:
        lines.append(_("Other neighborhoods together: {count}").format(count=number(other, lang)))
    lines.append(
        _("Groups of fewer than {minimum} ballots are not shown on their own.").format(
            minimum=results.MIN_GROUP
        )
    )
    return lines


def results_text(shown: results.PotResults, currency: str, lang: str) -> str:
    outcome = shown.outcome
    lines = [_("📊 <b>Results: {pot}</b>").format(pot=escape(budgets.pot_name(shown.pot, lang)))]
    lines.append(_("Counted by: {rule}.").format(rule=rule_name(shown.pot)))
    ballots = number(shown.ballots, lang)
    if shown.eligible and shown.ballots <= shown.eligible:
        lines.append(
            _("🗳 Ballots: {count} ({share} of {residents} residents of the area).").format(
                count=ballots,
                share=percent(shown.ballots / shown.eligible, lang),
                residents=number(shown.eligible, lang),
            )
        )
    else:
        lines.append(_("🗳 Ballots: {count}.").format(count=ballots))
    lines.append(
        _("💰 The winners use {cost} of {budget} ({share}).").format(
            cost=amount(outcome.cost, currency, lang),
            budget=amount(outcome.budget, currency, lang),
            share=percent(shown.share, lang),
        )
    )
    lines.append("")
    lines.append(_("🏆 <b>Selected projects</b>"))
    winners = [shown.projects[c] for c in outcome.selected if c in shown.projects]
    if not winners:
        lines.append(_("No project was selected."))
    for place, project in enumerate(winners[:MAX_LINES], start=1):
        lines.append(
            _("{place}. {title} · {cost} · votes: {votes}").format(
                place=place,
                title=_title(project, lang),
                cost=money(project.cost, currency, lang),
                votes=number(outcome.votes.get(project.code, 0), lang),
            )
        )
    if len(winners) > MAX_LINES:
        lines.append(_("… and {count} more (see “Why”).").format(count=len(winners) - MAX_LINES))
    others = len(shown.projects) - len(winners)
    if others:
        lines.append(
            _("Projects not selected: {count}. Open “Why” to see why each won or lost.").format(count=others)
        )
    lines.append("")
    lines += _turnout_lines(shown, lang)
    return "\n".join(lines)


def _why(e: Explanation, pot: BudgetPot, currency: str, lang: str) -> str:
    p = e.params

    def cash(key: str) -> str:
        return amount(p.get(key), currency, lang)

    votes = count(p.get("votes"), lang)
    if e.reason is Reason.SELECTED:
        return _(
            "✅ Selected: it was number {rank} in the order of votes (votes: {votes}); it cost {cost}, "
            "and {available} was still available, leaving {remaining}."
        ).format(
            votes=votes,
            rank=p.get("rank"),
            cost=cash("cost"),
            available=cash("available"),
            remaining=cash("remaining"),
        )
    if e.reason is Reason.DID_NOT_FIT:
        return _(
            "❌ Not selected: it cost {cost}, and only {available} was left when its turn came "
            "(number {rank} in the order of votes; votes: {votes})."
        ).format(cost=cash("cost"), available=cash("available"), rank=p.get("rank"), votes=votes)
    if e.reason is Reason.NOT_REACHED and pot.rule == rules.TOP_K:
        return _(
            "❌ Not selected: only the {k} most voted projects are chosen, and it was number {rank} (votes: {votes})."
        ).format(k=pot.rule_param or 0, rank=p.get("rank"), votes=votes)
    if e.reason is Reason.NOT_REACHED:
        return _(
            "❌ Not selected: it was number {rank} in the order of votes, after counting had stopped."
        ).format(rank=p.get("rank"))
    if e.reason is Reason.BELOW_THRESHOLD:
        return _(
            "❌ Not selected: its votes ({votes}) are fewer than the {threshold} a project needs."
        ).format(votes=votes, threshold=count(p.get("threshold"), lang))
    if e.reason is Reason.NO_SUPPORT:
        return _("❌ Not selected: nobody voted for it.")
    if e.reason is Reason.MES_SELECTED and not p.get("price"):
        return _(
            "✅ Selected before the first round: it costs nothing, and it has supporters ({votes})."
        ).format(votes=votes)
    if e.reason is Reason.MES_SELECTED:
        return _(
            "✅ Selected in round {round}: its cost of {cost} was shared equally by its supporters ({votes}), "
            "at most {price} each."
        ).format(round=p.get("round"), cost=cash("cost"), votes=votes, price=cash("price"))
    return _(
        "❌ Not selected: it costs {cost}, but its supporters ({votes}) had only {left} left of their equal "
        "shares of the budget (short by {shortfall}), having spent {spent} on winners they also voted for."
    ).format(
        cost=cash("cost"),
        votes=votes,
        left=cash("money_left"),
        shortfall=cash("shortfall"),
        spent=cash("spent"),
    )


def why(shown: results.PotResults, project: BudgetProject, currency: str, lang: str) -> str:
    """One sentence: why the project won or lost, from the tally's explanation."""
    return _why(shown.outcome.explanations[project.code], shown.pot, currency, lang)


def updates_text(updates: list[BudgetProjectUpdate], zone: ZoneInfo, lang: str) -> str:
    """A selected project's implementation updates, newest first ("" when there are none)."""
    if not updates:
        return ""
    lines = ["", _("🏗 <b>Implementation</b>")]
    for update in updates:
        text = update.texts.get(lang) or next(iter(update.texts.values()), "")
        stage = _(implementation.STAGES.get(update.stage, update.stage))
        lines.append(f"{when(update.created_at, zone, lang)} · <b>{escape(stage)}</b>\n{escape(text[:600])}")
    return "\n".join(lines)


def project_text(shown: results.PotResults, project: BudgetProject, currency: str, lang: str) -> str:
    lines = [f"<b>{_title(project, lang, 300)}</b>"]
    lines.append(
        _("💰 {cost} · 🗳 votes: {votes}").format(
            cost=money(project.cost, currency, lang),
            votes=number(shown.outcome.votes.get(project.code, 0), lang),
        )
    )
    lines.append(why(shown, project, currency, lang))
    return "\n".join(lines)


def project_label(shown: results.PotResults, project: BudgetProject, lang: str) -> str:
    mark = "✅" if project.code in shown.outcome.selected else "▫️"
    name = budgets.title(project, lang)
    name = name if len(name) <= 36 else name[:35] + "…"
    return f"{mark} {name} · {number(shown.outcome.votes.get(project.code, 0), lang)}"


def chart_bars(shown: results.PotResults, currency: str, lang: str) -> list[Bar]:
    return [
        Bar(
            f"{budgets.title(p, lang)} · {money(p.cost, currency, lang)}",
            shown.outcome.votes.get(p.code, 0),
            p.code in shown.outcome.selected,
        )
        for p in shown.ranked()
    ]


def chart_labels(shown: results.PotResults, lang: str) -> Labels:
    return Labels(
        title=budgets.pot_name(shown.pot, lang),
        votes=_("Votes"),
        selected=_("Selected"),
        not_selected=_("Not selected"),
    )


def chart_caption(shown: results.PotResults, lang: str) -> str:
    return _("📊 Votes per project: {pot}").format(pot=escape(budgets.pot_name(shown.pot, lang)))


def receipts_caption(pot: BudgetPot, total: int, lang: str, imported: int = 0) -> str:
    """The codes file's caption: `total` codes listed; `imported` ballots counted besides them (imported
    with the process, they have no receipt anyone holds), so that the two add up to the ballots counted."""
    text = _(
        "🧾 The receipt codes of the counted ballots of {pot} ({count}), sorted. Find yours in it, or check it "
        "with “Was my ballot counted?”. The ballots file holds the votes without receipt codes."
    ).format(count=number(total, lang), pot=escape(budgets.pot_name(pot, lang)))
    if not imported:
        return text
    also = _(
        "Also counted: {imported} ballots imported from a file (cast outside this bot), which have no receipt "
        "code. {count} codes + {imported} imported = {total} ballots counted."
    ).format(imported=number(imported, lang), count=number(total, lang), total=number(total + imported, lang))
    return f"{text}\n{also}"


def ballots_caption(pot: BudgetPot, lang: str) -> str:
    return _(
        "🗂 Every ballot of {pot} as a Pabulib file, without receipt codes or names. Anyone can count it again, "
        "for example with “meydan tally”."
    ).format(pot=escape(budgets.pot_name(pot, lang)))


def ask_receipt() -> str:
    return _("🧾 Type the receipt code you got when you voted (8 letters and digits), or send /cancel.")


def receipt_check_closed() -> str:
    """Said when the person leaves the receipt prompt (another command, any button, /cancel)."""
    return _("Receipt check closed. You can check a receipt code later from /results.")


def receipt_answer(code: str, counted: bool) -> str:
    shown = f"<code>{escape(code)}</code>"
    if counted:
        return _("✅ Your ballot with receipt {code} was counted.").format(code=shown)
    return _(
        "❌ No counted ballot in this pot has the receipt {code}. Check the code and type it again, or send /cancel."
    ).format(code=shown)


def recounted() -> str:
    return _("🔁 Counted again.")


def counting_again() -> str:
    return _("🔁 Counting again; you will be told when it is done.")


def projects_text(shown: results.PotResults, lang: str) -> str:
    return _("🔎 <b>{pot}</b>: open a project to see why it won or lost (✅ selected).").format(
        pot=escape(budgets.pot_name(shown.pot, lang))
    )
