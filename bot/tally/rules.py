"""The rules by name, as the command line and the bot choose them."""

from __future__ import annotations

from bot.tally.election import Election
from bot.tally.greedy import greedy
from bot.tally.numbers import Number, parse_number
from bot.tally.options import Completion, Utility
from bot.tally.outcome import Outcome, TallyError
from bot.tally.tiebreak import TieBreaking

RULES = ("greedy", "greedy-no-skip", "greedy-threshold", "mes", "mes-cardinality")
THRESHOLD_KEY = "min_project_score_threshold"


def tally(
    election: Election,
    rule: str = "greedy",
    *,
    tie_breaking: TieBreaking | str = TieBreaking.OURS,
    threshold: Number | None = None,
) -> Outcome:
    """Count an election with one of `RULES`.

    `mes` is the Method of Equal Shares with cost utilities and the add1 completion, `mes-cardinality` the
    same with cardinality utilities. `greedy-threshold` takes its threshold from the argument, or else from
    META's `min_project_score_threshold`.
    """
    if rule == "greedy":
        return greedy(election, tie_breaking=tie_breaking)
    if rule == "greedy-no-skip":
        return greedy(election, skip=False, tie_breaking=tie_breaking, rule=rule)
    if rule == "greedy-threshold":
        if threshold is None:
            raw = election.meta.get(THRESHOLD_KEY)
            if raw is None:
                raise TallyError(f"greedy-threshold needs {THRESHOLD_KEY} in META")
            try:
                threshold = parse_number(raw)
            except ValueError:
                raise TallyError(f"{THRESHOLD_KEY} is not a number: {raw!r}") from None
        return greedy(election, threshold=threshold, tie_breaking=tie_breaking, rule=rule)
    from bot.tally.mes import equal_shares  # numpy, imported by the first count that uses the method

    if rule == "mes":
        return equal_shares(
            election, utility=Utility.COST, completion=Completion.ADD1, tie_breaking=tie_breaking
        )
    if rule == "mes-cardinality":
        return equal_shares(
            election, utility=Utility.CARDINALITY, completion=Completion.ADD1, tie_breaking=tie_breaking
        )
    raise TallyError(f"unknown rule {rule!r} (expected one of {', '.join(RULES)})")


def official_rule(election: Election) -> str:
    """Our rule for the one META names (`equalshares/add1` -> `mes`); `greedy` when it names none we know."""
    named = election.meta.get("rule", "").strip().lower()
    if named.startswith("equalshares") or named.startswith("mes"):
        return "mes"
    if named in RULES:
        return named
    return "greedy"
