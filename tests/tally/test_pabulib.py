"""Reading and writing Pabulib files: the real ones, the format's corners, and malformed files."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import pytest

from bot.tally import (
    Ballot,
    BallotLimits,
    Election,
    ElectionError,
    Limit,
    PabulibError,
    Project,
    TallyError,
    dumps,
    loads,
    read,
    tally,
    write,
)
from tests.tally.conftest import ALL_FILES, MOKOTOW, TOULOUSE, load

SMALL = '''META
key;value
description;A small test
num_projects;3
num_votes;3
budget;100
vote_type;approval
min_length;1
max_length;2
PROJECTS
project_id;cost;name;selected
1;60;Park;1
2;50;"Library; with a ""quote""";0
3;30;Bench;1
VOTES
voter_id;vote;age
a;1,2;30
b;1;41
c;3,1;
'''


def test_every_real_file_reads_with_its_stated_counts() -> None:
    for name in ALL_FILES:
        election = load(name)
        assert len(election.projects) == int(election.meta["num_projects"])
        assert len(election.ballots) == int(election.meta["num_votes"])
        assert election.budget == int(election.meta["budget"])
        assert all(set(b.projects) <= set(election.project_index) for b in election.ballots)


def test_every_real_file_survives_a_round_trip() -> None:
    for name in ALL_FILES:
        election = load(name)
        text = dumps(election)
        again = loads(text)
        assert again == election
        assert dumps(again) == text


def test_round_trip_through_a_file(tmp_path: Path) -> None:
    election = loads(SMALL)
    write(election, tmp_path / "small.pb")
    assert read(tmp_path / "small.pb") == election


def test_small_file_fields() -> None:
    election = loads(SMALL)
    assert [p.id for p in election.projects] == ["1", "2", "3"]
    assert election.project_index["2"].name == 'Library; with a "quote"'
    assert election.project_index["2"].cost == 50
    assert election.ballots[2].projects == ("3", "1")
    assert election.ballots[0].fields == {"age": "30"}
    assert election.votes == {"1": 3, "2": 1, "3": 1}
    assert election.official_winners == frozenset({"1", "3"})
    assert election.limits == BallotLimits(min_length=1, max_length=2)


def test_bom_crlf_blank_lines_and_comments_are_accepted() -> None:
    text = "\ufeff" + SMALL.replace("PROJECTS\n", "\n# the projects follow\nPROJECTS\n").replace("\n", "\r\n")
    assert loads(text) == loads(SMALL)


def test_a_quoted_field_may_span_lines() -> None:
    text = SMALL.replace('"Library; with a ""quote"""', '"Library\nsecond line"')
    election = loads(text)
    assert election.project_index["2"].name == "Library\nsecond line"
    assert loads(dumps(election)) == election
    with pytest.raises(PabulibError) as caught:
        loads(text.replace("3;30;Bench;1", "3;thirty;Bench;1"))
    assert caught.value.line == 15


def test_decimal_costs_stay_exact() -> None:
    election = loads(SMALL.replace("3;30;Bench", "3;30,25;Bench").replace("budget;100", "budget;100.5"))
    assert election.project_index["3"].cost == Fraction(121, 4)
    assert election.budget == Fraction(201, 2)
    assert loads(dumps(election)) == election


def test_cumulative_ballots_keep_their_points() -> None:
    election = load(TOULOUSE)
    first = election.ballots[0]
    assert first.voter_id == "0"
    assert first.projects == ("15", "22", "25", "10")
    assert first.points == (2, 2, 2, 1)
    assert election.limits.max_points == 3
    assert election.limits.max_sum_points == 7
    assert election.scores["4"] == 1090
    assert election.votes["4"] == 471


def test_ordinal_ballots_are_read_in_order_but_not_counted() -> None:
    text = SMALL.replace("vote_type;approval", "vote_type;ordinal")
    election = loads(text)
    assert election.ballots[2].projects == ("3", "1")
    for rule in ("greedy", "mes"):
        with pytest.raises(TallyError):
            tally(election, rule)


def test_ballot_limits_and_violations() -> None:
    election = load(MOKOTOW)
    assert election.limits.min_length == 1
    assert election.limits.max_length == 15
    assert election.limit_violations() == {}
    limits = BallotLimits(min_length=2, max_length=2, max_sum_cost=70, max_points=3, max_sum_points=4)
    costs = {"1": 60, "2": 50, "3": 30}
    broken = limits.violations(Ballot("x", ("1", "2", "3"), (3, 2, 4)), costs)
    assert {(v.limit, v.allowed, v.actual, v.project_id) for v in broken} == {
        (Limit.MAX_LENGTH, 2, 3, None),
        (Limit.MAX_SUM_COST, 70, 140, None),
        (Limit.MAX_POINTS, 3, 4, "3"),
        (Limit.MAX_SUM_POINTS, 4, 9, None),
    }
    assert limits.violations(Ballot("y", ("3", "1")), {"1": 40, "3": 30}) == []


def test_choose_one_allows_a_single_project() -> None:
    election = loads(SMALL.replace("vote_type;approval", "vote_type;choose-1").replace("max_length;2\n", ""))
    assert election.limits.max_length == 1
    assert set(election.limit_violations()) == {"a", "c"}


MALFORMED = [
    # (replace this, with that, line, field, words in the message)
    ("1;60;Park;1", "1;sixty;Park;1", 12, "cost", "not a number"),
    ("a;1,2;30", "a;1,7;30", 17, "vote", "unknown project '7'"),
    ("a;1,2;30", "a;1,1;30", 17, "vote", "twice"),
    ("b;1;41", "a;1;41", 18, "voter_id", "appears twice"),
    ("3;30;Bench;1", "1;30;Bench;1", 14, "project_id", "appears twice"),
    ("budget;100", "budget;lots", 6, "budget", "not a number"),
    ("budget;100\n", "", 1, "budget", "no budget"),
    ("vote_type;approval", "vote_type;ranked", 7, "vote_type", "unknown vote type"),
    ("max_length;2", "max_length;two", 9, "max_length", "not a number"),
    ("num_votes;3", "num_votes;4", 5, "num_votes", "says 4"),
    ("b;1;41", "b;1;41;extra", 18, None, "4 fields"),
    ("b;1;41", "b;1", 18, "age", "missing"),
    ("voter_id;vote;age", "voter;vote;age", 16, "voter_id", "no 'voter_id' column"),
    ("VOTES\n", "PROJECTS\n", 15, None, "PROJECTS section appears twice"),
    ("PROJECTS", "VOTES", 10, None, "expected the PROJECTS section"),
    ("META\n", "", 1, None, "expected the META section first"),
]


@pytest.mark.parametrize(("old", "new", "line", "field", "words"), MALFORMED)
def test_malformed_files_name_the_line_and_field(
    old: str, new: str, line: int, field: str | None, words: str
) -> None:
    assert old in SMALL
    with pytest.raises(PabulibError) as caught:
        loads(SMALL.replace(old, new, 1), source="small.pb")
    error = caught.value
    assert error.line == line, str(error)
    assert error.field == field, str(error)
    assert words in str(error)
    assert str(error).startswith(f"small.pb:{line}: ")


def test_point_files_need_matching_points() -> None:
    text = SMALL.replace("vote_type;approval", "vote_type;cumulative").replace(
        "voter_id;vote;age", "voter_id;vote;points"
    )
    text = text.replace("a;1,2;30", "a;1,2;2,1").replace("b;1;41", "b;1;3").replace("c;3,1;", "c;3,1;1")
    with pytest.raises(PabulibError) as caught:
        loads(text)
    assert (caught.value.line, caught.value.field) == (19, "points")
    fixed = loads(text.replace("c;3,1;1", "c;3,1;1,1"))
    assert fixed.ballots[0].points == (2, 1)
    with pytest.raises(PabulibError) as caught:
        loads(text.replace("voter_id;vote;points", "voter_id;vote;age"))
    assert caught.value.field == "points"


def test_missing_sections_and_empty_text_are_errors() -> None:
    with pytest.raises(PabulibError, match="VOTES section is missing"):
        loads(SMALL.split("VOTES")[0])
    with pytest.raises(PabulibError, match="META section is missing"):
        loads("")


def test_built_elections_write_and_read_back() -> None:
    election = Election.build(
        [Project("p1", 10, {"name": "One"}), Project("p2", 20)],
        [Ballot("v1", ("p1",), None, {"age": "20"}), Ballot("v2", ("p2", "p1"))],
        budget=25,
        meta={"description": "built", "rule": "greedy"},
    )
    assert election.meta["num_votes"] == "2"
    assert election.project_columns == ("project_id", "cost", "name")
    assert election.vote_columns == ("voter_id", "vote", "age")
    assert loads(dumps(election)) == election


def test_inconsistent_elections_are_refused() -> None:
    with pytest.raises(ElectionError, match="unknown project"):
        Election.build([Project("1", 5)], [Ballot("v", ("2",))], budget=5)
    with pytest.raises(ElectionError, match="points"):
        Election.build([Project("1", 5)], [Ballot("v", ("1",))], budget=5, vote_type="cumulative")
    with pytest.raises(ElectionError, match="twice"):
        Election.build([Project("1", 5), Project("1", 6)], [], budget=5)
    with pytest.raises(ValueError, match="comma"):
        dumps(Election.build([Project("1,2", 5)], [], budget=5))
