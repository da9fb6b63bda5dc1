"""The real elections: official winners reproduced, pabutools matched where it is right, explanations add up."""

from __future__ import annotations

import math
from fractions import Fraction

import pytest

from bot.tally import Completion, Outcome, Reason, Utility, equal_shares, greedy, official_rule, tally
from bot.tally.mes import _Instance, _Run
from bot.tally.tiebreak import TieBreaking
from tests.tally import pabutools_bridge as pabutools
from tests.tally import reference
from tests.tally.conftest import (
    ALL_FILES,
    AMSTERDAM,
    ASSEN,
    MOKOTOW,
    SWIECIE,
    TOULOUSE,
    WIELICZKA,
    load,
    path_of,
)

OFFICIAL = (ASSEN, SWIECIE, WIELICZKA, MOKOTOW)


@pytest.mark.parametrize("name", OFFICIAL)
@pytest.mark.parametrize("tie_breaking", ["ours", "lexicographic"])
def test_official_winners_are_reproduced(name: str, tie_breaking: str) -> None:
    election = load(name)
    assert election.official_winners
    outcome = tally(election, official_rule(election), tie_breaking=tie_breaking)
    assert outcome.matches(election.official_winners) is True
    assert outcome.cost <= election.budget


def test_rules_named_in_the_files() -> None:
    assert {name: official_rule(load(name)) for name in ALL_FILES} == {
        ASSEN: "mes",
        SWIECIE: "mes",
        WIELICZKA: "mes",
        MOKOTOW: "greedy",
        AMSTERDAM: "greedy",
        TOULOUSE: "greedy",
    }


def test_wieliczka_completion_ends_where_the_official_count_did() -> None:
    outcome = tally(load(WIELICZKA), "mes")
    assert outcome.details["voter_budget"] == 315
    assert outcome.cost == 995_079
    assert len(outcome.selected) == 30


def test_wieliczka_with_pabutools_completion_picks_what_pabutools_picks() -> None:
    outcome = equal_shares(
        load(WIELICZKA), completion=Completion.ADD1_EXHAUSTIVE, tie_breaking="lexicographic"
    )
    chosen = set(outcome.selected)
    assert len(chosen) == 31
    assert {"66", "67"} <= chosen
    assert "46" not in chosen
    assert outcome.matches(load(WIELICZKA).official_winners) is False


@pytest.mark.parametrize("name", ALL_FILES)
def test_greedy_equals_pabutools(name: str) -> None:
    ours = greedy(load(name), tie_breaking="lexicographic")
    assert set(ours.selected) == pabutools.greedy(path_of(name))


@pytest.mark.parametrize("name", [ASSEN, SWIECIE, WIELICZKA, TOULOUSE])
@pytest.mark.parametrize("utility", ["cost", "cardinality"])
def test_one_run_of_mes_equals_pabutools(name: str, utility: str) -> None:
    ours = equal_shares(load(name), utility=utility, completion=Completion.NONE, tie_breaking="lexicographic")
    assert set(ours.selected) == pabutools.mes(path_of(name), utility)


@pytest.mark.parametrize("name", [ASSEN, SWIECIE])
def test_add1_completion_equals_pabutools_where_it_is_right(name: str) -> None:
    election = load(name)
    theirs = pabutools.mes(path_of(name), "cost", add1=True)
    assert theirs == election.official_winners
    exhaustive = equal_shares(election, completion=Completion.ADD1_EXHAUSTIVE, tie_breaking="lexicographic")
    assert set(exhaustive.selected) == theirs
    assert set(tally(election, "mes").selected) == theirs


@pytest.mark.parametrize("utility", ["cost", "cardinality"])
def test_fast_runs_equal_the_plain_exact_runs_on_assen(utility: str) -> None:
    election = load(ASSEN)
    inst = _Instance(election, TieBreaking.OURS)
    n = len(election.ballots)
    for voter_budget in (
        math.floor(Fraction(election.budget, n)),
        Fraction(election.budget, n),
        1000,
        2033,
        2034,
    ):
        fast = _Run(inst, voter_budget, Utility(utility), record=False).run()
        plain, _ = reference.mes_run(election, voter_budget, utility)
        assert [inst.ids[p] for p in fast.selected] == plain


def check_greedy_explanations(outcome: Outcome) -> None:
    ranks = sorted(e.params["rank"] for e in outcome.explanations.values() if "rank" in e.params)
    assert ranks == list(range(1, len(ranks) + 1))
    total = 0
    for explanation in outcome.explanations.values():
        p = explanation.params
        if explanation.reason is Reason.SELECTED:
            assert p["available"] - p["cost"] == p["remaining"]
            total += p["cost"]
        elif explanation.reason is Reason.DID_NOT_FIT:
            assert p["available"] < p["cost"]
        assert explanation.describe().startswith(f"Project {explanation.project_id} ")
    assert total == outcome.cost


def check_mes_explanations(outcome: Outcome) -> None:
    voter_budget = outcome.details["voter_budget"]
    winners = set(outcome.selected)
    for explanation in outcome.explanations.values():
        p = explanation.params
        assert explanation.selected == (explanation.project_id in winners)
        if explanation.reason is Reason.MES_SELECTED and p["price"]:
            assert p["price"] * p["full_points"] + p["partial_amount"] == p["cost"]
            if p["score"] == p["votes"]:
                assert p["full_points"] == p["full_payers"]
                assert p["partial_amount"] < p["price"] * p["partial_payers"] or p["partial_payers"] == 0
            assert p["effective_votes"] == Fraction(p["cost"]) / p["price"]
            assert p["full_payers"] + p["partial_payers"] + p["broke"] == p["votes"]
        elif explanation.reason is Reason.MES_UNAFFORDABLE:
            assert p["money_left"] < p["cost"]
            assert p["shortfall"] == p["cost"] - p["money_left"]
            assert p["spent"] == sum(amount for _, amount in p["paid_to"])
            assert {winner for winner, _ in p["paid_to"]} <= winners
            assert p["money_left"] + p["spent"] == p["votes"] * voter_budget
        assert explanation.describe()


@pytest.mark.parametrize("name", [ASSEN, SWIECIE, WIELICZKA, TOULOUSE])
def test_mes_explanations_add_up(name: str) -> None:
    check_mes_explanations(tally(load(name), "mes"))


@pytest.mark.parametrize("name", ALL_FILES)
def test_greedy_explanations_add_up(name: str) -> None:
    check_greedy_explanations(tally(load(name), "greedy"))


def test_mokotow_mes_completion_is_within_budget() -> None:
    outcome = tally(load(MOKOTOW), "mes")
    assert outcome.cost <= load(MOKOTOW).budget
    check_mes_explanations(outcome)
