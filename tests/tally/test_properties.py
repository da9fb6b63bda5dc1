"""Properties on random small elections: budgets hold, greedy is exhaustive, MES meets its definition."""

from __future__ import annotations

from fractions import Fraction

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.tally import (
    Ballot,
    Completion,
    Election,
    Outcome,
    Project,
    Reason,
    dumps,
    equal_shares,
    greedy,
    loads,
)
from bot.tally.numbers import Number
from bot.tally.tiebreak import tie_order
from tests.tally import reference

IDS = ["1", "2", "9", "10", "a", "c2", "c10", "x"]
SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def elections(draw: st.DrawFn, weighted: bool | None = None, max_voters: int = 7, scale: int = 1) -> Election:
    if weighted is None:
        weighted = draw(st.booleans())
    ids = draw(st.permutations(IDS))[: draw(st.integers(1, 6))]
    cost = st.one_of(st.integers(1, 40), st.sampled_from([0, 10, 20]))
    costs = draw(st.lists(cost, min_size=len(ids), max_size=len(ids)))
    ballots = []
    for i in range(draw(st.integers(0, max_voters))):
        chosen = tuple(draw(st.lists(st.sampled_from(ids), unique=True, max_size=len(ids))))
        points = tuple(draw(st.lists(st.integers(0, 3), min_size=len(chosen), max_size=len(chosen))))
        ballots.append(Ballot(f"v{i}", chosen, points if weighted else None))
    budget = draw(st.integers(0, 100)) * scale
    projects = [Project(p, c * scale) for p, c in zip(ids, costs, strict=True)]
    return Election.build(projects, ballots, budget, "cumulative" if weighted else "approval")


utilities = st.sampled_from(["cost", "cardinality"])
completions = st.sampled_from(["none", "add1", "add1-exhaustive"])
tie_breakings = st.sampled_from(["ours", "lexicographic"])


@SETTINGS
@given(elections(), utilities, completions, tie_breakings)
def test_mes_equals_the_plain_exact_definition(
    election: Election, utility: str, completion: str, tie_breaking: str
) -> None:
    outcome = equal_shares(election, utility=utility, completion=completion, tie_breaking=tie_breaking)
    assert list(outcome.selected) == reference.mes(election, utility, completion, tie_breaking)


@SETTINGS
@given(elections(max_voters=30), utilities, tie_breakings)
def test_larger_mes_runs_equal_the_plain_exact_definition(
    election: Election, utility: str, tie_breaking: str
) -> None:
    outcome = equal_shares(election, utility=utility, completion=Completion.NONE, tie_breaking=tie_breaking)
    assert list(outcome.selected) == reference.mes(election, utility, "none", tie_breaking)


@SETTINGS
@given(elections(), utilities, completions, tie_breakings)
def test_mes_meets_its_payment_conditions(
    election: Election, utility: str, completion: str, tie_breaking: str
) -> None:
    outcome = equal_shares(election, utility=utility, completion=completion, tie_breaking=tie_breaking)
    assert outcome.cost <= election.budget
    replay_mes(election, outcome, utility, tie_breaking)


def replay_mes(election: Election, outcome: Outcome, utility: str, tie_breaking: str) -> None:
    """Pay for the winners in order from equal shares and check each step against the definition of MES."""
    support = reference.supporters(election)
    place = tie_order(election, tie_breaking)
    costs = election.costs
    voter_budget = Fraction(outcome.details["voter_budget"])
    budget = {i: voter_budget for i in range(len(election.ballots))}
    remaining = {p for p in costs if costs[p] > 0 and support[p]}

    def rho(p: str, beta: Fraction) -> Fraction:
        return beta / costs[p] if utility == "cost" else beta

    for project_id in outcome.selected:
        explanation = outcome.explanations[project_id]
        assert explanation.reason is Reason.MES_SELECTED
        if costs[project_id] == 0:
            assert support[project_id]
            continue
        beta = reference.price(budget, support[project_id], costs[project_id])
        assert beta is not None, "a winner its supporters cannot pay for"
        assert explanation.params["price"] == beta
        for other in remaining - {project_id}:
            other_beta = reference.price(budget, support[other], costs[other])
            if other_beta is not None:
                assert (rho(project_id, beta), place[project_id]) < (rho(other, other_beta), place[other])
        paid = Fraction(0)
        for i, w in support[project_id].items():
            amount = min(budget[i], beta * w)
            assert amount == beta * w or amount == budget[i] < beta * w
            budget[i] -= amount
            paid += amount
        assert paid == costs[project_id]
        remaining.discard(project_id)
    assert all(b >= 0 for b in budget.values())
    for project_id in remaining:
        assert sum(budget[i] for i in support[project_id]) < costs[project_id], (
            f"{project_id} was still affordable"
        )
        assert outcome.explanations[project_id].params["money_left"] == sum(
            budget[i] for i in support[project_id]
        )


@SETTINGS
@given(elections(), tie_breakings)
def test_greedy_is_exhaustive_and_within_budget(election: Election, tie_breaking: str) -> None:
    outcome = greedy(election, tie_breaking=tie_breaking)
    left = election.budget - outcome.cost
    assert left >= 0
    chosen = set(outcome.selected)
    for project in election.projects:
        if project.id not in chosen and election.scores[project.id] > 0:
            assert project.cost > left
    order = sorted(chosen, key=lambda p: outcome.explanations[p].params["rank"])
    assert list(outcome.selected) == order


@SETTINGS
@given(elections(), tie_breakings)
def test_greedy_no_skip_takes_the_longest_prefix_that_fits(election: Election, tie_breaking: str) -> None:
    outcome = greedy(election, skip=False, tie_breaking=tie_breaking, rule="greedy-no-skip")
    place = tie_order(election, tie_breaking)
    order = sorted(
        (p for p in election.costs if election.scores[p] > 0), key=lambda p: (-election.scores[p], place[p])
    )
    spent: Number = 0
    expected = []
    for project_id in order:
        if spent + election.costs[project_id] > election.budget:
            break
        spent += election.costs[project_id]
        expected.append(project_id)
    assert list(outcome.selected) == expected


@SETTINGS
@given(elections(), st.integers(0, 6))
def test_greedy_threshold_only_takes_projects_reaching_it(election: Election, threshold: int) -> None:
    outcome = greedy(election, threshold=threshold, rule="greedy-threshold")
    left = election.budget - outcome.cost
    assert left >= 0
    for project in election.projects:
        score = election.scores[project.id]
        if project.id in outcome.selected:
            assert score >= threshold
        elif score >= threshold and score > 0:
            assert project.cost > left
        elif 0 < score < threshold:
            assert outcome.explanations[project.id].reason is Reason.BELOW_THRESHOLD


names = st.text(st.characters(codec="utf-8", exclude_characters="\r\x00"), max_size=12)


@SETTINGS
@given(elections(), st.lists(names, min_size=8, max_size=8), st.booleans())
def test_any_election_survives_a_round_trip(election: Election, texts: list[str], crlf: bool) -> None:
    projects = [Project(p.id, p.cost, {"name": texts[i].strip()}) for i, p in enumerate(election.projects)]
    named = Election.build(
        projects, election.ballots, election.budget, election.vote_type, {"description": texts[-1].strip()}
    )
    text = dumps(named)
    assert loads(text) == named
    if crlf and not any("\n" in t for t in texts):
        assert loads(text.replace("\n", "\r\n")) == named


def test_add1_steps_are_counted_from_the_floor_of_the_share() -> None:
    projects = [Project("a", 60), Project("b", 60)]
    election = Election.build(projects, [Ballot("v", ("a", "b"))], budget=100)
    outcome = equal_shares(election)
    # one voter: from 100 each step adds 1; at 120 both projects fit the share but cost 120 > 100
    assert outcome.selected == ("a",)
    assert outcome.details["voter_budget"] == 119
    assert outcome.details["steps"] == 21
