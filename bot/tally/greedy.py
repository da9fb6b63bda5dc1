"""Greedy rules: take projects in order of votes (points for point ballots) while the money lasts.

- `greedy`: a project that does not fit in what is left is skipped, and the next one is tried.
- `greedy-no-skip`: counting stops at the first project that does not fit.
- `greedy-threshold`: as `greedy`, among the projects whose score reaches `min_project_score_threshold`.

A project nobody voted for is never selected. Ties in score are broken by the tie-breaking order.
"""

from __future__ import annotations

from bot.tally.election import POINT_VOTE_TYPES, Election
from bot.tally.numbers import Number
from bot.tally.outcome import Explanation, Outcome, Param, Reason, TallyError
from bot.tally.tiebreak import TieBreaking, tie_order


def greedy(
    election: Election,
    *,
    skip: bool = True,
    threshold: Number | None = None,
    tie_breaking: TieBreaking | str = TieBreaking.OURS,
    rule: str = "greedy",
) -> Outcome:
    if election.vote_type == "ordinal":
        raise TallyError(f"the {rule} rule does not apply to ordinal ballots")
    scores = election.scores
    votes = election.votes
    ranked_by = "points" if election.vote_type in POINT_VOTE_TYPES else "votes"
    place = tie_order(election, tie_breaking)
    order = sorted(election.costs, key=lambda p: (-scores[p], place[p]))
    remaining: Number = election.budget
    selected: list[str] = []
    explanations: dict[str, Explanation] = {}
    stopped_at: str | None = None
    for rank, project_id in enumerate(order, start=1):
        cost = election.costs[project_id]
        score = scores[project_id]
        base = {
            "rank": rank,
            "ranked_by": ranked_by,
            "score": score,
            "votes": votes[project_id],
            "cost": cost,
        }
        if score <= 0:
            explanations[project_id] = Explanation(project_id, False, Reason.NO_SUPPORT, {"cost": cost})
        elif threshold is not None and score < threshold:
            explanations[project_id] = Explanation(
                project_id,
                False,
                Reason.BELOW_THRESHOLD,
                {"score": score, "votes": votes[project_id], "threshold": threshold},
            )
        elif stopped_at is not None:
            explanations[project_id] = Explanation(
                project_id, False, Reason.NOT_REACHED, {**base, "stopped_at": stopped_at}
            )
        elif cost <= remaining:
            explanations[project_id] = Explanation(
                project_id,
                True,
                Reason.SELECTED,
                {**base, "available": remaining, "remaining": remaining - cost},
            )
            selected.append(project_id)
            remaining -= cost
        else:
            explanations[project_id] = Explanation(
                project_id, False, Reason.DID_NOT_FIT, {**base, "available": remaining}
            )
            if not skip:
                stopped_at = project_id
    details: dict[str, Param] = {"ranked_by": ranked_by}
    if threshold is not None:
        details["threshold"] = threshold
    return Outcome(
        rule=rule,
        tie_breaking=str(TieBreaking(tie_breaking)),
        budget=election.budget,
        selected=tuple(selected),
        cost=election.budget - remaining,
        explanations={p.id: explanations[p.id] for p in election.projects},
        details=details,
    )
