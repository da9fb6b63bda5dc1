"""Small elections worked by hand: who wins, why, and how ties are broken."""

from __future__ import annotations

from fractions import Fraction

import pytest

from bot.tally import Ballot, Completion, Election, Project, Reason, TallyError, equal_shares, greedy, tally


def approval(budget: int, costs: dict[str, int], ballots: list[str]) -> Election:
    """Voters as strings of project ids separated by spaces: ["a b", "a"]."""
    projects = [Project(p, c) for p, c in costs.items()]
    return Election.build(
        projects, [Ballot(f"v{i}", tuple(b.split())) for i, b in enumerate(ballots)], budget
    )


GREEDY = approval(100, {"A": 60, "B": 50, "C": 30, "D": 10}, ["A B C", "A B", "A"])


def test_greedy_explains_winners_and_losers() -> None:
    outcome = greedy(GREEDY)
    assert outcome.selected == ("A", "C")
    assert outcome.cost == 90
    why = outcome.explanations
    assert why["A"].reason is Reason.SELECTED
    assert why["A"].params == {
        "rank": 1,
        "ranked_by": "votes",
        "score": 3,
        "votes": 3,
        "cost": 60,
        "available": 100,
        "remaining": 40,
    }
    assert why["B"].reason is Reason.DID_NOT_FIT
    assert (why["B"].params["available"], why["B"].params["cost"]) == (40, 50)
    assert why["C"].params["available"] == 40
    assert why["D"].reason is Reason.NO_SUPPORT
    assert why["B"].describe() == (
        "Project B did not win: when its turn came (2nd in the order of votes, 2 votes), it cost 50 but only 40 "
        "was left."
    )
    assert why["D"].describe() == "Project D did not win: nobody voted for it."


def test_greedy_no_skip_stops_at_the_first_misfit() -> None:
    outcome = tally(GREEDY, "greedy-no-skip")
    assert outcome.selected == ("A",)
    assert outcome.explanations["C"].reason is Reason.NOT_REACHED
    assert outcome.explanations["C"].params["stopped_at"] == "B"
    assert "after project B" in outcome.explanations["C"].describe()


def test_greedy_threshold_from_meta_or_argument() -> None:
    with pytest.raises(TallyError, match="min_project_score_threshold"):
        tally(GREEDY, "greedy-threshold")
    outcome = tally(GREEDY, "greedy-threshold", threshold=2)
    assert outcome.selected == ("A",)
    assert outcome.explanations["C"].reason is Reason.BELOW_THRESHOLD
    assert outcome.explanations["C"].params == {"score": 1, "votes": 1, "threshold": 2}
    with_meta = Election.build(
        GREEDY.projects,
        GREEDY.ballots,
        100,
        meta={"min_project_score_threshold": "2", "rule": "greedy-threshold"},
    )
    assert tally(with_meta, "greedy-threshold").selected == ("A",)


def test_mes_prices_and_where_the_money_went() -> None:
    # four voters with 20 each; X is shared by all, W by three, V by the first and the last
    election = approval(80, {"X": 40, "W": 24, "V": 12, "Y": 30}, ["X W V Y", "X W Y", "X W", "X V"])
    outcome = equal_shares(election, completion=Completion.NONE)
    assert outcome.selected == ("X", "W", "V")
    assert outcome.details["voter_budget"] == 20
    x, w, v, y = (outcome.explanations[p] for p in "XWVY")
    assert (x.params["round"], x.params["price"], x.params["effective_votes"]) == (1, 10, 4)
    assert (w.params["round"], w.params["price"], w.params["full_payers"]) == (2, 8, 3)
    # V: the first voter has 2 left and pays it; the last has 10 and pays the price, 10
    assert v.params["round"] == 3
    assert v.params["price"] == 10
    assert (v.params["full_payers"], v.params["partial_payers"], v.params["partial_amount"]) == (1, 1, 2)
    assert v.params["effective_votes"] == Fraction(6, 5)
    assert y.reason is Reason.MES_UNAFFORDABLE
    assert y.params["money_left"] == 2
    assert y.params["shortfall"] == 28
    assert y.params["paid_to"] == (("X", 20), ("W", 16), ("V", 2))
    assert y.params["spent"] == 38
    assert v.describe() == (
        "Project V won in round 3 of 3: it costs 12, shared by its 2 supporters; 1 of them paid 10 each, "
        "1 paid all they had left (2 in total); that is 1.20 effective votes (cost / price)."
    )
    assert y.describe() == (
        "Project Y did not win: it costs 30, but its 2 supporters had only 2 left of their equal shares (short by "
        "28). They had spent 38 on winners they also voted for: project X (20), project W (16), project V (2)."
    )


def test_mes_ties_follow_the_chosen_order() -> None:
    # both projects cost each of the two voters the same share of their utility (rho = 1/2)
    election = approval(40, {"10": 30, "9": 20}, ["10 9", "10 9"])
    assert equal_shares(election, completion=Completion.NONE).selected == ("9",)
    assert equal_shares(election, completion=Completion.NONE, tie_breaking="lexicographic").selected == (
        "10",
    )
    # with cardinality utilities the cheaper price wins, whatever the tie-breaking
    for order in ("ours", "lexicographic"):
        assert equal_shares(
            election, utility="cardinality", completion="none", tie_breaking=order
        ).selected == ("9",)


def test_greedy_ties_follow_the_chosen_order() -> None:
    election = approval(50, {"10": 40, "9": 40, "2": 45}, ["10 9 2", "10 9 2"])
    assert greedy(election).selected == ("9",)
    assert greedy(election, tie_breaking="lexicographic").selected == ("10",)
    cheaper_first = approval(50, {"10": 40, "9": 45}, ["10 9", "10 9"])
    assert greedy(cheaper_first).selected == ("10",)
    assert greedy(cheaper_first, tie_breaking="lexicographic").selected == ("10",)


def test_free_projects_with_support_win_first() -> None:
    election = approval(10, {"free": 0, "paid": 10, "unloved": 0}, ["paid free", "paid"])
    outcome = tally(election, "mes")
    assert outcome.selected == ("free", "paid")
    assert outcome.explanations["free"].params["round"] == 0
    assert "costs nothing" in outcome.explanations["free"].describe()
    assert outcome.explanations["unloved"].reason is Reason.NO_SUPPORT


def test_point_ballots_pay_by_points() -> None:
    projects = [Project("a", 30), Project("b", 24)]
    ballots = [Ballot("v1", ("a", "b"), (2, 1)), Ballot("v2", ("a",), (1,)), Ballot("v3", ("b",), (2,))]
    election = Election.build(projects, ballots, 45, vote_type="cumulative")
    outcome = equal_shares(election, utility="cardinality", completion=Completion.NONE)
    # 15 each. b: v3 cannot pay 2 x 8, pays its 15, so v1 pays 9 for its point (rho 9); a would cost 15 per
    # point. After b, a's supporters have 6 + 15 < 30.
    assert outcome.selected == ("b",)
    b = outcome.explanations["b"].params
    assert (b["price"], b["full_points"], b["partial_payers"], b["partial_amount"]) == (9, 1, 1, 15)
    assert outcome.explanations["a"].params["money_left"] == 21
    assert greedy(election).explanations["b"].params["ranked_by"] == "points"


def test_no_voters_no_winners() -> None:
    election = approval(100, {"a": 10}, [])
    for rule in ("greedy", "mes", "mes-cardinality"):
        outcome = tally(election, rule)
        assert outcome.selected == ()
        assert outcome.explanations["a"].reason is Reason.NO_SUPPORT


def test_unknown_rule() -> None:
    with pytest.raises(TallyError, match="unknown rule"):
        tally(GREEDY, "borda")
