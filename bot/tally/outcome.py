"""The result of a tally and why each project won or lost, as data (a reason code and its numbers).

The bot renders explanations in the resident's language from `Explanation.reason` and `Explanation.params`
(each reason's parameters are listed on the enum below); `describe()` is a plain English rendering.
Amounts are exact (`int` or `Fraction`); round them only for display.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from fractions import Fraction

from bot.tally.numbers import Number, normalize

Param = int | Fraction | str | tuple[tuple[str, Number], ...] | None


class TallyError(ValueError):
    """A rule that cannot be applied to this election (say, MES on ordinal ballots)."""


class Reason(StrEnum):
    """Why a project won or lost. The parameters each reason carries are listed after it."""

    # rank (place in the order of score), ranked_by ("votes", or "points" for point ballots), score, votes,
    # cost, available (budget left before it), remaining (after it)
    SELECTED = "selected"
    # rank, ranked_by, score, votes, cost, available (budget left when its turn came)
    DID_NOT_FIT = "did_not_fit"
    # rank, ranked_by, score, votes, cost, stopped_at (the first project that did not fit)
    NOT_REACHED = "not_reached"
    # score, votes, threshold
    BELOW_THRESHOLD = "below_threshold"
    # cost
    NO_SUPPORT = "no_support"
    # round (0: free, chosen before the rounds), rounds, votes (supporters), score (their points), cost,
    # price (paid per supporter, or per point), effective_votes (cost / price), full_payers (paid the price),
    # full_points (their points), partial_payers (paid all they had left, less than the price),
    # partial_amount (what those paid in all), broke (supporters with nothing left), voter_budget (each
    # voter's share)
    MES_SELECTED = "mes_selected"
    # votes, score, cost, money_left (what its supporters had left at the end), shortfall (cost - money_left),
    # spent (what its supporters paid for winners), paid_to ((winner id, amount), ... largest first),
    # voter_budget
    MES_UNAFFORDABLE = "mes_unaffordable"


@dataclass(frozen=True)
class Explanation:
    project_id: str
    selected: bool
    reason: Reason
    params: dict[str, Param] = field(default_factory=dict)

    def describe(self) -> str:
        """Plain English, for the command line."""
        return _describe(self)


@dataclass(frozen=True)
class Outcome:
    """Winners in the order the rule chose them, their total cost, and an explanation for every project.

    `details`: for greedy rules `ranked_by` (and `threshold`); for MES `utility`, `completion`,
    `voter_budget` (each voter's final share), `steps` (runs of MES made by the completion) and `rounds`.
    """

    rule: str
    tie_breaking: str
    budget: Number
    selected: tuple[str, ...]
    cost: Number
    explanations: dict[str, Explanation]
    details: dict[str, Param] = field(default_factory=dict)

    def matches(self, official: frozenset[str] | None) -> bool | None:
        """Whether the winners are exactly `official`; None when there is nothing to compare with."""
        if official is None:
            return None
        return frozenset(self.selected) == official

    def winners(self) -> list[Explanation]:
        return [self.explanations[p] for p in self.selected]

    def losers(self) -> list[Explanation]:
        return [e for e in self.explanations.values() if not e.selected]


def money(value: Param) -> str:
    """`1234567` -> `1,234,567`; fractions get two decimals."""
    if value is None:
        return "-"
    if isinstance(value, str | tuple):
        return str(value)
    value = normalize(value)
    if isinstance(value, int):
        return f"{value:,}"
    return f"{float(value):,.2f}"


def ordinal(n: Param) -> str:
    if not isinstance(n, int):
        return str(n)
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def _supporters(p: dict[str, Param]) -> str:
    votes = p.get("votes")
    return f"{money(votes)} supporter{'s' if votes != 1 else ''}"


def _votes(p: dict[str, Param]) -> str:
    votes, score = p.get("votes"), p.get("score")
    text = f"{money(votes)} vote{'s' if votes != 1 else ''}"
    if score is not None and score != votes:
        text += f" ({money(score)} points)"
    return text


def _describe(e: Explanation) -> str:
    p = e.params
    head = f"Project {e.project_id}"
    if e.reason is Reason.SELECTED:
        return (
            f"{head} won: {_votes(p)}, {ordinal(p['rank'])} in the order of {p['ranked_by']}; it costs {money(p['cost'])} "
            f"and {money(p['available'])} was still available, leaving {money(p['remaining'])}."
        )
    if e.reason is Reason.DID_NOT_FIT:
        return (
            f"{head} did not win: when its turn came ({ordinal(p['rank'])} in the order of {p['ranked_by']}, {_votes(p)}), "
            f"it cost {money(p['cost'])} but only {money(p['available'])} was left."
        )
    if e.reason is Reason.NOT_REACHED:
        return (
            f"{head} did not win: it came {ordinal(p['rank'])} in the order of {p['ranked_by']} ({_votes(p)}), after "
            f"project {p['stopped_at']}, the first that did not fit, where this rule stops."
        )
    if e.reason is Reason.BELOW_THRESHOLD:
        return f"{head} did not win: its score {money(p['score'])} is below the threshold of {money(p['threshold'])}."
    if e.reason is Reason.NO_SUPPORT:
        return f"{head} did not win: nobody voted for it."
    if e.reason is Reason.MES_SELECTED:
        if p["price"] == 0:
            return f"{head} won before the first round: it costs nothing and {_votes(p)} wanted it."
        per = "per point" if p.get("score") != p.get("votes") else "each"
        text = (
            f"{head} won in round {p['round']} of {p['rounds']}: it costs {money(p['cost'])}, shared by its "
            f"{_supporters(p)}; {money(p['full_payers'])} of them paid {money(p['price'])} {per}"
        )
        if p["partial_payers"]:
            text += (
                f", {money(p['partial_payers'])} paid all they had left ({money(p['partial_amount'])} "
                "in total)"
            )
        if p["broke"]:
            text += f", {money(p['broke'])} had nothing left"
        return text + f"; that is {money(p['effective_votes'])} effective votes (cost / price)."
    paid_to = p.get("paid_to") or ()
    assert isinstance(paid_to, tuple)
    text = (
        f"{head} did not win: it costs {money(p['cost'])}, but its {_supporters(p)} had only "
        f"{money(p['money_left'])} left of their equal shares (short by {money(p['shortfall'])})."
    )
    if paid_to:
        shown = ", ".join(f"project {winner} ({money(amount)})" for winner, amount in paid_to[:3])
        more = f" and {len(paid_to) - 3} more" if len(paid_to) > 3 else ""
        text += f" They had spent {money(p['spent'])} on winners they also voted for: {shown}{more}."
    return text
