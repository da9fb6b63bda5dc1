"""Participatory-budgeting tallies: Pabulib files in and out, greedy and Method of Equal Shares rules,
and an explanation of why each project won or lost. Pure: no database, no Telegram.
"""

from bot.tally.election import Ballot, BallotLimits, Election, ElectionError, Limit, LimitViolation, Project
from bot.tally.greedy import greedy
from bot.tally.numbers import Number
from bot.tally.options import Completion, Utility
from bot.tally.outcome import Explanation, Outcome, Reason, TallyError
from bot.tally.pabulib import PabulibError, dumps, loads, read, write
from bot.tally.rules import RULES, official_rule, tally
from bot.tally.tiebreak import TieBreaking, tie_order

__all__ = [
    "RULES",
    "Ballot",
    "BallotLimits",
    "Completion",
    "Election",
    "ElectionError",
    "Explanation",
    "Limit",
    "LimitViolation",
    "Number",
    "Outcome",
    "PabulibError",
    "Project",
    "Reason",
    "TallyError",
    "TieBreaking",
    "Utility",
    "dumps",
    "equal_shares",
    "greedy",
    "loads",
    "official_rule",
    "read",
    "tally",
    "tie_order",
    "write",
]


def __getattr__(name: str):  # noqa: ANN202 - the Method of Equal Shares, imported when first asked for
    if name == "equal_shares":
        from bot.tally.mes import equal_shares

        return equal_shares
    raise AttributeError(f"module 'bot.tally' has no attribute {name!r}")
