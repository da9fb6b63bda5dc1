"""A plain, slow, exact Method of Equal Shares (one Fraction per voter), to check the fast engine against.

It follows the definition directly: every round, for every project still in play, sort its supporters by
budget per point and find the price per point that covers the cost; pick the lowest price per unit of
utility, ties by the tie-breaking order.
"""

from __future__ import annotations

import math
from fractions import Fraction

from bot.tally.election import POINT_VOTE_TYPES, Election
from bot.tally.numbers import Number
from bot.tally.tiebreak import tie_order


def supporters(election: Election) -> dict[str, dict[int, int]]:
    """Project id -> {voter index: points}."""
    found: dict[str, dict[int, int]] = {p.id: {} for p in election.projects}
    weighted = election.vote_type in POINT_VOTE_TYPES
    for i, ballot in enumerate(election.ballots):
        for project_id, points in ballot.weights().items():
            if not weighted or points > 0:
                found[project_id][i] = int(points)
    return found


def price(budget: dict[int, Fraction], support: dict[int, int], cost: Number) -> Fraction | None:
    """The lowest price per point at which these supporters cover the cost; None if they cannot."""
    cost = Fraction(cost)
    if sum(budget[i] for i in support) < cost:
        return None
    spent = Fraction(0)
    weight = sum(support.values())
    beta = cost / weight
    for i, w in sorted(support.items(), key=lambda item: budget[item[0]] / item[1]):
        beta = (cost - spent) / weight
        if budget[i] >= beta * w:
            break
        spent += budget[i]
        weight -= w
    return beta


def mes_run(
    election: Election, voter_budget: Number, utility: str = "cost", tie_breaking: str = "ours"
) -> tuple[list[str], list[dict[int, Fraction]]]:
    """One run of MES: the winners in order, and for each the payment of each supporter."""
    place = tie_order(election, tie_breaking)
    support = supporters(election)
    costs = election.costs
    budget = {i: Fraction(voter_budget) for i in range(len(election.ballots))}
    chosen = sorted((p for p in costs if costs[p] == 0 and support[p]), key=place.__getitem__)
    payments: list[dict[int, Fraction]] = [{} for _ in chosen]
    remaining = {p for p in costs if costs[p] > 0 and support[p]}
    while True:
        best: tuple[Fraction, int, str, Fraction] | None = None
        for p in sorted(remaining):
            beta = price(budget, support[p], costs[p])
            if beta is None:
                continue
            rho = beta / Fraction(costs[p]) if utility == "cost" else beta
            if best is None or (rho, place[p]) < (best[0], best[1]):
                best = (rho, place[p], p, beta)
        if best is None:
            return chosen, payments
        _, _, p, beta = best
        paid = {}
        for i, w in support[p].items():
            amount = min(budget[i], beta * w)
            budget[i] -= amount
            paid[i] = amount
        chosen.append(p)
        payments.append(paid)
        remaining.discard(p)


def mes(
    election: Election, utility: str = "cost", completion: str = "add1", tie_breaking: str = "ours"
) -> list[str]:
    """MES with the same completions as the engine, by rerunning `mes_run`."""
    n = len(election.ballots)
    if n == 0:
        return []
    budget = election.budget
    costs = election.costs
    support = supporters(election)
    supported = {p for p in costs if support[p]}

    def run(b: Number) -> list[str]:
        return mes_run(election, b, utility, tie_breaking)[0]

    def total(chosen: list[str]) -> Number:
        return sum((costs[p] for p in chosen), 0)

    if completion == "none":
        return run(Fraction(budget) / n)
    if completion == "add1":
        b: Number = math.floor(Fraction(budget) / n)
        result = run(b)
        while set(result) != supported:
            following = run(b + 1)
            if total(following) > budget:
                break
            result, b = following, b + 1
        return result
    b = Fraction(budget) / n
    result = run(b)
    previous: list[str] | None = None
    while True:
        if total(result) > budget:
            return previous if previous is not None else result
        spent = total(result)
        if all(p in result or spent + costs[p] > budget for p in supported if costs[p] > 0):
            return result
        previous = result
        b += 1
        result = run(b)
