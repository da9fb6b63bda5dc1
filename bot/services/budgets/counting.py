"""Counting a pot: its ballots as a `bot.tally.Election`, and the results of the pot's rule.

The same election is what `export-pb` writes, so `meydan tally` on the exported file gives exactly the
results here (same rule, same tie-breaking).
"""

from __future__ import annotations

import dataclasses
from collections import defaultdict

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services.budgets import rules
from bot.tally import Ballot, Election, Explanation, Outcome, Project, Reason, tally
from storage.models import BudgetBallot, BudgetChoice, BudgetPot, BudgetProject

# our rule -> what the exported META says (official_rule() reads it back as the same rule)
PABULIB_RULES = {
    rules.GREEDY: "greedy",
    rules.GREEDY_THRESHOLD: "greedy-threshold",
    rules.MES: "equalshares/add1",
}
THRESHOLD_KEY = "min_project_score_threshold"


def _meta(pot: BudgetPot, process_key: str, currency: str | None) -> dict[str, str]:
    meta = {
        "description": pot.names.get("en") or next(iter(pot.names.values()), ""),
        "unit": process_key,
        "subunit": pot.names.get("en") or "",
        "rule": pot.meta.get("rule") or PABULIB_RULES.get(pot.rule, pot.rule),
    }
    if currency:
        meta["currency"] = currency
    limits = rules.Limits(pot.ballot_kind, pot.budget, pot.min_projects, pot.max_projects, pot.min_share,
                          pot.approval_limit)  # fmt: skip
    if limits.least:
        meta["min_length"] = str(limits.least)
    if limits.most:
        meta["max_length"] = str(limits.most)
    if limits.counts_money and "max_sum_cost" not in pot.meta:
        meta["max_sum_cost"] = str(pot.budget)
    if limits.min_total():
        meta["min_sum_cost"] = str(limits.min_total())
    if pot.rule == rules.GREEDY_THRESHOLD and pot.rule_param is not None:
        meta[THRESHOLD_KEY] = str(pot.rule_param)
    for key, value in pot.meta.items():  # what an imported file said, in its words
        meta.setdefault(key, str(value))
    return meta


async def election(
    session: AsyncSession, pot: BudgetPot, *, process_key: str = "", currency: str | None = None
) -> Election:
    """The pot as an election: its projects on the ballot (by their codes) and every confirmed ballot.
    A ballot's voter id is its imported Pabulib voter id, or a number; never its receipt or its person."""
    projects = list(
        await session.scalars(
            select(BudgetProject)
            .where(BudgetProject.pot_id == pot.id, BudgetProject.status.in_(rules.ON_BALLOT))
            .order_by(BudgetProject.position, BudgetProject.id)
        )
    )
    codes = {p.id: p.code for p in projects}
    rows = await session.execute(
        select(BudgetChoice.ballot_id, BudgetChoice.project_id, BudgetChoice.points)
        .join(BudgetBallot, BudgetBallot.id == BudgetChoice.ballot_id)
        .where(BudgetBallot.pot_id == pot.id)
        .order_by(BudgetChoice.ballot_id, BudgetChoice.position)
    )
    choices: dict[int, list[tuple[str, int | None]]] = defaultdict(list)
    for ballot_id, project_id, points in rows:
        if project_id in codes:
            choices[ballot_id].append((codes[project_id], points))
    # imported ballots keep their voter ids; the bot's are numbered in the order of their content (the
    # projects chosen), never of their rows, receipts or identities, which would say who voted when
    ballots_rows = (
        await session.execute(
            select(BudgetBallot.id, BudgetBallot.voter_label)
            .where(BudgetBallot.pot_id == pot.id)
            .order_by(BudgetBallot.id)
        )
    ).all()
    ballots_rows.sort(
        key=lambda row: (row[1] is None, _content(choices, row[0]) if row[1] is None else ([], []))
    )
    labels = {label for _id, label in ballots_rows if label}
    ballots, number = [], 0
    points_kind = pot.ballot_kind == rules.CUMULATIVE
    for ballot_id, label in ballots_rows:
        if not label:
            number += 1
            label = str(number)
            while label in labels:
                label = f"m{number}"
        picked = choices.get(ballot_id, [])
        ballots.append(
            Ballot(
                label,
                tuple(code for code, _points in picked),
                tuple(points or 0 for _code, points in picked) if points_kind else None,
            )
        )
    names = [
        Project(p.code, p.cost, {"name": p.titles.get("en") or next(iter(p.titles.values()), ""), **p.fields})
        for p in projects
    ]
    vote_type = "cumulative" if points_kind else "approval"
    return Election.build(names, ballots, pot.budget, vote_type, _meta(pot, process_key, currency))


def _content(choices: dict[int, list[tuple[str, int | None]]], ballot_id: int) -> tuple[list, list]:
    """A ballot's place in the file: by what it chose (then the order it chose it in), so two ballots
    that sort alike are the same line."""
    picked = [(code, points or 0) for code, points in choices.get(ballot_id, [])]
    return sorted(picked), picked


def count(pot: BudgetPot, elected: Election) -> Outcome:
    """The pot's rule applied to its election."""
    if pot.rule == rules.TOP_K:
        return top_k(elected, pot.rule_param or 0)
    if pot.rule == rules.GREEDY_THRESHOLD:
        return tally(elected, "greedy-threshold", threshold=pot.rule_param)
    return tally(elected, pot.rule)


def top_k(elected: Election, k: int) -> Outcome:
    """The k projects with the most votes, whatever they cost (an approval vote for priorities)."""
    everything = dataclasses.replace(
        elected, meta={**elected.meta, "budget": str(sum(elected.costs.values()))}
    )
    ranked = tally(everything, "greedy")
    chosen = ranked.selected[:k]
    explanations = dict(ranked.explanations)
    for project_id in ranked.selected[k:]:
        params = dict(explanations[project_id].params)
        explanations[project_id] = Explanation(
            project_id, False, Reason.NOT_REACHED, {**params, "stopped_at": ""}
        )
    return dataclasses.replace(
        ranked,
        rule=rules.TOP_K,
        budget=elected.budget,
        selected=chosen,
        cost=sum(elected.costs[p] for p in chosen),
        explanations=explanations,
        details={**ranked.details, "k": k},
    )


async def results(
    session: AsyncSession, pot: BudgetPot, *, process_key: str = "", currency: str | None = None
) -> Outcome:
    """Count the pot's ballots with its rule (what `meydan tally` says of the exported file)."""
    return count(pot, await election(session, pot, process_key=process_key, currency=currency))
