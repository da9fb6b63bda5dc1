"""Pabulib in and out: every real file in shared/pabulib imports (process, voting phase, pot, projects,
ballots), exports with the `selected` column of the pot's results, and the exported file holds the same
election; `meydan tally` on it gives the pot's results (and, where the city's rule is ours, the official
winners). All six files take about 10 s. A pot voted on through the services exports and re-counts the
same way; the command line is run once, and refuses to add or change a project once voting has begun."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from bot.config import PROJECT_ROOT
from bot.services import budgets, processes
from bot.services.budgets import counting, pbfiles
from bot.tally import dumps, loads, official_rule, read, tally
from tests.budget_fixtures import resident, seed
from tests.flows import command_env

PABULIB = Path(os.environ.get("PABULIB_DIR", PROJECT_ROOT.parent / "shared" / "pabulib"))  # as tests/tally
FILES = sorted(p.name for p in PABULIB.glob("*.pb"))


@pytest.mark.parametrize("name", FILES)
async def test_import_export_round_trip(sessions, name: str) -> None:  # noqa: ANN001
    original = read(PABULIB / name)
    async with sessions.begin() as session:
        process, pot = await pbfiles.import_election(session, original, with_ballots=True)
    async with sessions() as session:
        process = await processes.get(session, process.id)
        assert budgets.voting_window(process) is not None  # a process with its voting phase
        pot = (await budgets.pots_of(session, process.id))[0]
        outcome = await counting.results(session, pot, process_key=process.key)
        exported = loads(dumps(await pbfiles.export_election(session, process, pot)))
    assert exported.budget == original.budget and exported.vote_type == original.vote_type
    assert exported.limits == original.limits
    assert [(p.id, p.cost, p.name) for p in exported.projects] == [
        (p.id, p.cost, p.name) for p in original.projects
    ]
    assert {b.voter_id: b.weights() for b in exported.ballots} == {
        b.voter_id: b.weights() for b in original.ballots
    }
    assert exported.votes == original.votes
    rule = official_rule(exported)
    assert rule == official_rule(original)
    recount = tally(exported, rule)
    assert recount.selected == outcome.selected  # the results are what `meydan tally` says of the file
    assert recount.matches(exported.official_winners)  # and the file's `selected` column is them
    if original.official_winners is not None:
        assert exported.official_winners == original.official_winners  # the city's own result


async def test_a_pot_voted_in_the_bot_exports_and_recounts_the_same(sessions) -> None:  # noqa: ANN001
    # small amounts: the add1 completion raises every voter's share by one unit per run, so a pot of
    # millions with a handful of voters would take hundreds of thousands of runs (see docs/budgets.md)
    async with sessions.begin() as session:
        seeded = await seed(session)
        process = await processes.get(session, seeded.process_id)
        pot = await budgets.create_pot(session, process, names={"en": "Small"}, budget=100, rule="mes")
        costs = {"a": 40, "b": 30, "c": 30, "d": 60, "e": 10}
        ids = {
            c: (await budgets.add_project(session, pot, code=c, titles={"en": c}, cost=n, building=True)).id
            for c, n in costs.items()
        }
        by_identity = {}
        for n, draft in enumerate([["a", "b"], ["a", "c", "e"], ["b", "c"], ["d"], ["d", "e"], ["a"], ["d"]]):
            person = await resident(session, 900 + n)
            await budgets.confirm(session, person, pot.id, [ids[c] for c in draft])
            by_identity[person.identity] = tuple(draft)
    async with sessions() as session:
        process = await processes.get(session, seeded.process_id)
        [pot] = [x for x in await budgets.pots_of(session, process.id) if x.names["en"] == "Small"]
        outcome = await counting.results(session, pot, process_key=process.key)
        exported = loads(dumps(await pbfiles.export_election(session, process, pot, currency="TRY")))
    assert exported.meta["rule"] == "equalshares/add1" and exported.meta["max_sum_cost"] == "100"
    assert len(exported.ballots) == 7 and exported.limit_violations() == {}
    assert not any(b.voter_id.startswith("pb:") for b in exported.ballots)  # no identity, no receipt
    # numbered in the order of what they chose, not of voting: the file says nothing of who voted when
    assert [b.voter_id for b in exported.ballots] == [str(n) for n in range(1, 8)]
    assert [b.projects for b in exported.ballots] == sorted(
        by_identity.values(), key=lambda c: (sorted(c), c)
    )
    assert tally(exported, official_rule(exported)).selected == outcome.selected
    assert exported.official_winners == frozenset(outcome.selected)
    assert outcome.selected and outcome.cost <= 100
    assert tally(exported, "greedy").selected[0] in ("a", "d")  # three votes each: the most


async def test_top_k_and_threshold_rules(sessions) -> None:  # noqa: ANN001
    async with sessions.begin() as session:
        seeded = await seed(session, kind=budgets.APPROVAL, approval_limit=3, rule="top-k", rule_param=2)
        p = seeded.projects
        for n, draft in enumerate([["1", "2"], ["1", "6"], ["6", "1"], ["2", "3"], ["6"]]):
            person = await resident(session, 900 + n)
            await budgets.confirm(session, person, seeded.city, [p[c] for c in draft])
    async with sessions() as session:
        pot = next(x for x in await budgets.pots_of(session, seeded.process_id) if x.id == seeded.city)
        top = await counting.results(session, pot)
        assert top.selected == ("1", "6")  # 3 votes each, whatever they cost (5.65M > the 5M)
        pot.rule, pot.rule_param = "greedy-threshold", 2
        assert (await counting.results(session, pot)).selected == ("1", "2")  # 6 does not fit after 1
        exported = loads(dumps(await pbfiles.export_election(session, pot.process, pot)))
    assert exported.meta["min_project_score_threshold"] == "2"
    assert tally(exported, official_rule(exported)).selected == ("1", "2")


def _command_line(tmp_path: Path, database: str) -> Callable[..., subprocess.CompletedProcess[str]]:
    """`meydan ARGS` as a subprocess on an SQLite database in `tmp_path`."""
    env = command_env(DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path / database}")

    def meydan(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "bot", *args], env=env, cwd=tmp_path, capture_output=True, text=True
        )

    return meydan


def test_the_command_line_imports_and_exports(tmp_path: Path) -> None:
    meydan = _command_line(tmp_path, "cli.db")
    source = PABULIB / "Netherlands_Assen_2024.pb"

    made = meydan("process", "import-pb", str(source), "--key", "assen", "--with-ballots")
    assert made.returncode == 0, made.stderr
    assert "process assen created" in made.stdout and "84 ballots" in made.stdout
    out = tmp_path / "assen.pb"
    assert meydan("process", "export-pb", "assen", "-o", str(out)).returncode == 0
    ours = json.loads(meydan("tally", str(out), "--json").stdout)
    theirs = json.loads(meydan("tally", str(source), "--json").stdout)
    assert ours == theirs and ours["matches_official"] is True
    assert meydan("process", "export-pb", "nope").returncode == 2
    assert "taken" in meydan("process", "import-pb", str(source), "--key", "assen").stderr
    with sqlite3.connect(tmp_path / "cli.db") as conn:  # the file's dates: a past election arrives closed
        assert conn.execute("SELECT ends_at FROM process_phases WHERE kind = 'voting'").fetchone()[0] < "2025"

    anew = ("--opens", "2099-03-01 09:00", "--closes", "2099-03-21 18:00")
    held = meydan("process", "import-pb", str(source), "--key", "assen-again", *anew)
    assert held.returncode == 0, held.stderr
    with sqlite3.connect(tmp_path / "cli.db") as conn:  # held anew, city time (Izmir, UTC+3) stored in UTC
        phase = conn.execute(
            "SELECT starts_at, ends_at FROM process_phases p JOIN processes r ON r.id = p.process_id"
            " WHERE r.key = 'assen-again' AND p.kind = 'voting'"
        ).fetchone()
        assert phase[0].startswith("2099-03-01 06:00") and phase[1].startswith("2099-03-21 15:00")
    for wrong, said in (
        (("--opens", "2099-03-01 09:00"), "together"),
        (("--opens", "2020-03-01", "--closes", "2020-03-02"), "cannot close in the past"),
        (("--opens", "2099-03-01", "--closes", "someday"), "is not a date"),
    ):
        done = meydan("process", "import-pb", str(source), "--key", "assen-wrong", *wrong)
        assert done.returncode == 2 and said in done.stderr and done.stdout == "", (wrong, done.stderr)


def test_a_project_edited_from_the_command_line(tmp_path: Path) -> None:
    meydan = _command_line(tmp_path, "edit.db")

    steps = [
        ("city", "load", str(PROJECT_ROOT / "cities" / "izmir.toml")),
        ("process", "create", "--key", "pb", "--name-tr", "Bütçe", "--name-en", "Budget",
         "--opens", "2099-01-01 00:00", "--closes", "2099-01-02 00:00"),
        ("process", "add-pot", "pb", "--name-tr", "Şehir", "--name-en", "City", "--budget", "5000000"),
        ("process", "add-project", "pb", "City", "--title-tr", "Gölge", "--title-en", "Shade", "--cost", "2150000"),
        ("process", "edit-project", "pb", "1", "--title-en", "Shade over the bazaar", "--cost", "1900000",
         "--place", "konak/alsancak"),
    ]  # fmt: skip
    for step in steps:
        done = meydan(*step)
        assert done.returncode == 0, (step, done.stderr)
    assert "project 1 edited: titles, cost, neighborhood_id" in done.stdout
    refused = meydan("process", "edit-project", "pb", "99", "--cost", "5")
    assert refused.returncode == 2 and "no project 99 in pb" in refused.stderr
    exported = loads(meydan("process", "export-pb", "pb", "City").stdout)
    assert exported.projects[0].name == "Shade over the bazaar" and exported.projects[0].cost == 1_900_000


def test_a_budget_set_up_from_the_command_line(tmp_path: Path) -> None:
    meydan = _command_line(tmp_path, "setup.db")

    city = PROJECT_ROOT / "cities" / "izmir.toml"
    assert meydan("city", "load", str(city)).returncode == 0
    steps = [
        ("process", "create", "--key", "pb", "--name-tr", "Bütçe", "--name-en", "Budget",
         "--opens", "2099-01-01 00:00", "--closes", "2099-01-02 00:00"),
        ("process", "voting", "pb", "--opens", "2099-02-01 00:00", "--closes", "2099-02-10 00:00"),
        ("process", "add-pot", "pb", "--name-tr", "Şehir", "--name-en", "City", "--budget", "5000000",
         "--max-projects", "5", "--min-share", "10"),
        ("process", "add-pot", "pb", "--name-tr", "Konak", "--name-en", "Konak", "--budget", "100",
         "--district", "konak"),
        ("process", "add-pot", "pb", "--name-tr", "Pazaryeri", "--name-en", "Pazaryeri", "--budget", "100",
         "--neighborhood", "konak/pazaryeri", "--kind", "approval", "--rule", "top-k", "--rule-param", "1"),
        ("process", "add-project", "pb", "City", "--title-tr", "Gölge", "--title-en", "Shade",
         "--cost", "2150000", "--place", "konak/pazaryeri"),
    ]  # fmt: skip
    for step in steps:
        done = meydan(*step)
        assert done.returncode == 0, (step, done.stderr)
    refused = {
        ("process", "add-pot", "pb", "--name-tr", "x", "--name-en", "x", "--budget", "1", "--rule", "top-k"): "k",
        ("process", "add-pot", "pb", "--name-tr", "x", "--name-en", "x", "--budget", "1", "--district", "nope"): "nope",
        ("process", "add-project", "pb", "Nowhere", "--title-tr", "a", "--title-en", "a", "--cost", "1"): "no pot",
        ("process", "results", "pb"): "name the pot",
        ("process", "voting", "nope", "--opens", "2099-02-01", "--closes", "2099-02-02"): "no process",
        ("process", "voting", "pb", "--opens", "2020-02-01", "--closes", "2020-02-02"): "cannot close in the past",
    }  # fmt: skip
    for step, said in refused.items():
        done = meydan(*step)
        assert done.returncode == 2 and said in done.stderr, (step, done.stderr)
    results = meydan("process", "results", "pb", "City")
    assert results.returncode == 0 and "0 ballots, rule greedy, budget 5,000,000 TRY" in results.stdout
    exported = loads(meydan("process", "export-pb", "pb", "City").stdout)
    assert exported.meta["min_sum_cost"] == "500000" and exported.projects[0].name == "Shade"


def test_no_pot_or_project_is_added_from_the_command_line_once_voting_has_begun(tmp_path: Path) -> None:
    db = tmp_path / "began.db"
    meydan = _command_line(tmp_path, db.name)

    steps = [
        ("city", "load", str(PROJECT_ROOT / "cities" / "izmir.toml")),
        ("process", "create", "--key", "pb", "--name-tr", "Bütçe", "--name-en", "Budget",
         "--opens", "2099-01-01 00:00", "--closes", "2099-01-02 00:00"),
        ("process", "voting", "pb", "--opens", "2099-02-01 00:00", "--closes", "2099-02-10 00:00"),
        ("process", "add-pot", "pb", "--name-tr", "Şehir", "--name-en", "City", "--budget", "5000000"),
    ]  # fmt: skip
    for step in steps:
        done = meydan(*step)
        assert done.returncode == 0, (step, done.stderr)
    with sqlite3.connect(db) as conn:  # a published idea of the process (not made on the command line)
        conn.execute(
            "INSERT INTO ideas (process_id, neighborhood_id, theme_id, scope, title, description, status,"
            " created_at) SELECT id, (SELECT min(id) FROM neighborhoods), (SELECT min(id) FROM themes),"
            " 'city', 'Parka bank', 'Parka birkaç bank.', 'approved', '2026-01-01 00:00:00'"
            " FROM processes WHERE key = 'pb'"
        )
        idea_id = conn.execute("SELECT id FROM ideas").fetchone()[0]
    typed = ("process", "add-project", "pb", "City", "--title-tr", "Gölge", "--title-en", "Shade",
             "--cost", "5")  # fmt: skip
    from_idea = ("process", "add-project", "pb", "City", "--idea", str(idea_id), "--cost", "7")
    edit = ("process", "edit-project", "pb", "1", "--cost", "9")
    for step in (typed, from_idea):  # until voting begins
        done = meydan(*step)
        assert done.returncode == 0, (step, done.stderr)
    began = meydan("process", "voting", "pb", "--opens", "2020-02-01 00:00", "--closes", "2099-02-10 00:00")
    assert began.returncode == 0, began.stderr
    pot = ("process", "add-pot", "pb", "--name-tr", "Yeni", "--name-en", "New", "--budget", "100")
    for step in (typed, from_idea, edit, pot):
        done = meydan(*step)
        said = f"process {step[1]}: voting has begun in pb: its pots and projects can no longer change"
        assert done.returncode == 2 and said in done.stderr and done.stdout == "", (step, done.stderr)
    moved = meydan("process", "voting", "pb", "--opens", "2099-03-01 00:00", "--closes", "2099-03-10 00:00")
    said = "process voting: voting has begun in pb: its dates can no longer change"
    assert moved.returncode == 2 and said in moved.stderr and moved.stdout == "", moved.stderr
    with sqlite3.connect(db) as conn:  # nothing added, nothing changed
        assert conn.execute("SELECT cost FROM budget_projects ORDER BY id").fetchall() == [(5,), (7,)]
        assert conn.execute("SELECT count(*) FROM budget_pots").fetchone() == (1,)
        assert (
            conn.execute("SELECT starts_at FROM process_phases WHERE kind = 'voting'").fetchone()[0] < "2021"
        )
