"""pabutools (the reference implementation) on the same files, for side-by-side checks and the benchmark."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

from pabutools.election import (
    AbstractCardinalBallot,
    Additive_Cardinal_Sat,
    AdditiveSatisfaction,
    Cardinality_Sat,
    Cost_Sat,
    parse_pabulib,
)
from pabutools.rules import greedy_utilitarian_welfare, method_of_equal_shares


def _points_times_cost(instance: Any, profile: Any, ballot: Any, project: Any, precomputed: dict) -> Any:
    return ballot.get(project, 0) * project.cost


class PointsCostSat(AdditiveSatisfaction):
    """Cost utilities for point ballots: points x cost (pabutools' Cost_Sat ignores the points)."""

    def __init__(self, instance: Any, profile: Any, ballot: Any) -> None:
        AdditiveSatisfaction.__init__(self, instance, profile, ballot, _points_times_cost)


@functools.cache
def parse(path: Path) -> tuple[Any, Any]:
    return parse_pabulib(str(path))


def satisfaction(profile: Any, utility: str) -> type:
    points = any(isinstance(ballot, AbstractCardinalBallot) for ballot in profile)
    if utility == "cost":
        return PointsCostSat if points else Cost_Sat
    return Additive_Cardinal_Sat if points else Cardinality_Sat


def greedy(path: Path) -> set[str]:
    """pabutools' greedy by votes (points for point ballots), lexicographic tie-breaking."""
    instance, profile = parse(path)
    return {
        p.name for p in greedy_utilitarian_welfare(instance, profile, sat_class=satisfaction(profile, "cost"))
    }


def mes(path: Path, utility: str = "cost", add1: bool = False) -> set[str]:
    """pabutools' MES from budget / voters; with add1, its completion (stop at the first exhaustive outcome)."""
    instance, profile = parse(path)
    outcome = method_of_equal_shares(
        instance,
        profile,
        sat_class=satisfaction(profile, utility),
        voter_budget_increment=1 if add1 else None,
    )
    return {p.name for p in outcome}
