"""The add1 completions jump over shares whose outcome cannot change: the same result as stepping by one unit."""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.tally import Ballot, Election, Project, Utility, equal_shares
from bot.tally.mes import _Instance, _run, _Span
from bot.tally.numbers import Number, normalize
from bot.tally.tiebreak import TieBreaking

IDS = ["1", "2", "9", "10", "a", "c2"]
SETTINGS = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def elections(draw: st.DrawFn) -> Election:
    """Small elections with shares of up to a few hundred units, so that stepping by one stays cheap."""
    weighted = draw(st.booleans())
    ids = draw(st.permutations(IDS))[: draw(st.integers(1, 6))]
    cost = st.one_of(st.integers(1, 300), st.sampled_from([0, 50, 100]))
    costs = draw(st.lists(cost, min_size=len(ids), max_size=len(ids)))
    ballots = []
    for i in range(draw(st.integers(1, 8))):
        chosen = tuple(draw(st.lists(st.sampled_from(ids), unique=True, max_size=len(ids))))
        points = tuple(draw(st.lists(st.integers(0, 3), min_size=len(chosen), max_size=len(chosen))))
        ballots.append(Ballot(f"v{i}", chosen, points if weighted else None))
    budget = draw(st.integers(0, 600))
    projects = [Project(p, c) for p, c in zip(ids, costs, strict=True)]
    return Election.build(projects, ballots, budget, "cumulative" if weighted else "approval")


def step_by_one(
    election: Election, utility: str, completion: str, tie_breaking: str
) -> tuple[list[str], Number, int]:
    """The completion as first written: one run of MES per unit of the share. (winners, share, runs)"""
    inst = _Instance(election, TieBreaking(tie_breaking))
    budget = election.budget

    def run(share: Number) -> tuple[list[str], Number]:
        result = _run(inst, share, Utility(utility))
        return [inst.ids[p] for p in result.selected], result.cost

    supported = {inst.ids[p] for p in inst.supported}
    if completion == "add1":
        share: Number = math.floor(Fraction(budget) / inst.n)
        chosen, _ = run(share)
        runs = 1
        while set(chosen) != supported:
            following, cost = run(share + 1)
            runs += 1
            if cost > budget:
                break
            chosen, share = following, share + 1
        return chosen, share, runs
    share = normalize(Fraction(budget) / inst.n)
    chosen, cost = run(share)
    runs = 1
    previous: tuple[list[str], Number] | None = None
    while True:
        if cost > budget:
            if previous is not None:
                chosen, share = previous
            return chosen, share, runs
        if all(inst.ids[p] in chosen or cost + inst.costs[p] > budget for p in inst.candidates):
            return chosen, share, runs
        previous = (chosen, share)
        share = normalize(share + 1)
        chosen, cost = run(share)
        runs += 1


@SETTINGS
@given(
    elections(),
    st.sampled_from(["cost", "cardinality"]),
    st.sampled_from(["add1", "add1-exhaustive"]),
    st.sampled_from(["ours", "lexicographic"]),
    st.booleans(),
)
def test_the_completion_equals_stepping_by_one_unit(
    election: Election, utility: str, completion: str, tie_breaking: str, replay_every_share: bool
) -> None:
    wait = _Span.MAX_WAIT
    _Span.MAX_WAIT = 0 if replay_every_share else wait
    try:
        outcome = equal_shares(election, utility=utility, completion=completion, tie_breaking=tie_breaking)
    finally:
        _Span.MAX_WAIT = wait
    chosen, share, runs = step_by_one(election, utility, completion, tie_breaking)
    assert list(outcome.selected) == chosen
    assert outcome.details["voter_budget"] == share
    assert outcome.details["steps"] == runs
    assert outcome.details["runs"] <= runs


@SETTINGS
@given(elections(), st.sampled_from(["cost", "cardinality"]), st.integers(0, 300))
def test_no_share_within_the_span_changes_the_outcome(election: Election, utility: str, share: int) -> None:
    inst = _Instance(election, TieBreaking.OURS)
    result = _run(inst, share, Utility(utility))
    span = _Span(inst, Utility(utility)).span(Fraction(share), result.selected)
    last = share + 150 if span is None else share + math.ceil(span) - 1
    for following in range(share + 1, min(last, share + 150) + 1):
        assert _run(inst, following, Utility(utility)).selected == result.selected


def small_pot(budget: int, seed: int) -> Election:
    rng = np.random.default_rng(seed)
    ids = [str(j + 1) for j in range(10)]
    costs = rng.integers(budget // 20, budget // 2, len(ids), endpoint=True).tolist()
    ballots = [
        Ballot(f"v{i}", tuple(ids[j] for j in sorted(rng.choice(10, int(rng.integers(1, 6)), replace=False))))
        for i in range(5)
    ]
    return Election.build([Project(p, int(c)) for p, c in zip(ids, costs, strict=True)], ballots, budget)


def test_a_small_pot_with_a_large_budget_takes_few_runs() -> None:
    for seed in range(5):
        election = small_pot(5_000_000, seed)
        outcome = equal_shares(election)
        share = outcome.details["voter_budget"]
        assert outcome.details["runs"] <= 40
        # the share is where stepping by one stops: it fits, and the next one does not (or all are chosen)
        inst = _Instance(election, TieBreaking.OURS)
        assert [inst.ids[p] for p in _run(inst, share, Utility.COST).selected] == list(outcome.selected)
        assert outcome.cost <= election.budget
        everything = set(outcome.selected) == {inst.ids[p] for p in inst.supported}
        if not everything:
            assert _run(inst, share + 1, Utility.COST).cost > election.budget
        assert outcome.details["steps"] == share - 1_000_000 + (1 if everything else 2)


def test_runs_do_not_grow_with_the_budget() -> None:
    ballots = [
        Ballot("v1", ("a", "b")),
        Ballot("v2", ("b", "c")),
        Ballot("v3", ("c",)),
        Ballot("v4", ("a", "c")),
    ]
    runs = []
    for scale in (1, 1_000, 1_000_000):
        projects = [Project("a", 30 * scale), Project("b", 45 * scale), Project("c", 70 * scale)]
        outcome = equal_shares(Election.build(projects, ballots, 100 * scale))
        assert outcome.cost <= 100 * scale
        runs.append(outcome.details["runs"])
    assert max(runs) <= 10
