"""Tie-breaking: an explicit total order on projects, used whenever a rule sees two projects as equal.

- `ours` (the default): the cheaper project first, then the one with more votes, then the project id in
  natural order (digit runs compare as numbers, so `9` comes before `10`).
- `lexicographic`: the project id as a plain string, as pabutools does by default (`10` before `9`).
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum

from bot.tally.election import Election
from bot.tally.numbers import Number, natural_key


class TieBreaking(StrEnum):
    OURS = "ours"
    LEXICOGRAPHIC = "lexicographic"


def tie_order(election: Election, tie_breaking: TieBreaking | str = TieBreaking.OURS) -> dict[str, int]:
    """Project id -> its place in the tie-breaking order (0 wins a tie against anything)."""
    return rank_projects(election.costs, election.votes, TieBreaking(tie_breaking))


def rank_projects(
    costs: Mapping[str, Number], votes: Mapping[str, int], tie_breaking: TieBreaking
) -> dict[str, int]:
    ids = list(costs)
    if tie_breaking is TieBreaking.LEXICOGRAPHIC:
        ids.sort()
    else:
        ids.sort(key=lambda p: (costs[p], -votes[p], natural_key(p)))
    return {project_id: place for place, project_id in enumerate(ids)}
