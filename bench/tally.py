"""Tally benchmark: our engine (`bot.tally`) and pabutools on the same elections, side by side in one run.

For each task and file it times ours and pabutools' (the best of up to three runs while a run takes under a
second, else one run), prints the ratio (pabutools time / ours) and whether both chose the same winners,
and whether ours equal the file's official winners. Tasks:

- parse: reading the `.pb` file.
- greedy: greedy by votes (the file already read), lexicographic tie-breaking on both sides.
- mes: one run of the Method of Equal Shares with cost utilities from budget / voters.
- mes add1 (pabutools' completion): from budget / voters, +1 per voter until the outcome is exhaustive.
- mes add1 (ours): from floor(budget / voters), +1 per voter while the outcome fits the budget (the
  variant that reproduces the official results; pabutools has no equivalent, so only ours is timed).
- a generated election with 100,000 voters and 200 projects: parse, greedy, mes.
- mes add1 (ours) on small generated pots (5 voters, 10 projects) with budgets of 50,000 and 5,000,000: the
  completion's number of MES runs (printed) should not grow with the budget.

pabutools' MES with add1 completion on Mokotów takes minutes; it runs only with `--slow` (as does its
single MES run on the generated election).

    .venv/bin/python -m bench.tally [--slow] [--no-generated]
"""

from __future__ import annotations

import argparse
import copy
import platform
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np
from pabutools.election import Cost_Sat, parse_pabulib
from pabutools.election.pabulib import parse_pabulib_from_string
from pabutools.rules import greedy_utilitarian_welfare, method_of_equal_shares

from bot.tally import Ballot, Completion, Election, Project, dumps, equal_shares, greedy, loads, read, tally

ROOT = Path(__file__).resolve().parent.parent
PABULIB = ROOT.parent / "shared" / "pabulib"
ASSEN = "Netherlands_Assen_2024.pb"
SWIECIE = "Poland_Swiecie_2023.pb"
WIELICZKA = "Poland_Wieliczka_2023_Green_Budget.pb"
MOKOTOW = "Poland_Warszawa_2023_Mokotow.pb"
AMSTERDAM = "Netherlands_Amsterdam_309.pb"
TOULOUSE = "France_Toulouse_2019.pb"
GENERATED = "generated 100,000 x 200"
SMALL_POT_BUDGETS = (50_000, 5_000_000)


@dataclass
class Row:
    task: str
    election: str
    ours: float | None
    theirs: float | None
    same: bool | None
    official: bool | None

    def cells(self) -> list[str]:
        ratio = f"{self.theirs / self.ours:,.1f}" if self.ours and self.theirs else "-"
        return [
            self.task,
            self.election,
            _seconds(self.ours),
            _seconds(self.theirs),
            ratio,
            _yes(self.same),
            _yes(self.official),
        ]


def _seconds(value: float | None) -> str:
    if value is None:
        return "not run"
    return f"{value:.3f}" if value < 10 else f"{value:.1f}"


def _yes(value: bool | None) -> str:
    return "-" if value is None else "yes" if value else "no"


def timed(work: Callable[[], Any]) -> tuple[float, Any]:
    """Best wall time of up to three runs (one run when it takes 5 s or more), and the last result."""
    best = float("inf")
    result = None
    for _ in range(3):
        start = time.perf_counter()
        result = work()
        best = min(best, time.perf_counter() - start)
        if best >= 5.0:
            break
    return best, result


def uncached(election: Election) -> Election:
    """The same election without the figures it caches (votes, scores...), so that each timed run counts them."""
    fresh = copy.copy(election)
    for key in ("votes", "scores", "costs", "project_index", "limits", "official_winners"):
        fresh.__dict__.pop(key, None)
    return fresh


def names(allocation: Any) -> set[str]:
    return {p.name for p in allocation}


def generated_election(voters: int = 100_000, projects: int = 200, seed: int = 2026) -> Election:
    """Costs log-uniform from 5,000 to 800,000; popularity falling with rank; 1 to 10 projects per ballot."""
    rng = np.random.default_rng(seed)
    costs = (np.exp(rng.uniform(np.log(5_000), np.log(800_000), projects)) // 100 * 100).astype(int)
    popularity = 1.0 / np.arange(1, projects + 1) ** 0.8
    rng.shuffle(popularity)
    ids = [str(j + 1) for j in range(projects)]
    ballots = []
    for start in range(0, voters, 10_000):
        size = min(10_000, voters - start)
        # a weighted sample without replacement per voter: the top keys of log(p) + Gumbel noise
        keys = np.log(popularity) + rng.gumbel(size=(size, projects))
        lengths = rng.integers(1, 11, size)
        order = np.argsort(-keys, axis=1)
        for k in range(size):
            chosen = tuple(ids[j] for j in sorted(order[k, : lengths[k]].tolist()))
            ballots.append(Ballot(str(start + k + 1), chosen))
    budget = int(costs.sum()) // 4
    return Election.build(
        [Project(ids[j], int(costs[j])) for j in range(projects)],
        ballots,
        budget,
        meta={
            "description": "generated",
            "country": "none",
            "unit": "none",
            "instance": "1",
            "rule": "greedy",
        },
    )


def small_pot(budget: int, voters: int = 5, projects: int = 10, seed: int = 2026) -> Election:
    """A pot with few voters: costs uniform from budget / 20 to budget / 2, 1 to 5 projects per ballot."""
    rng = np.random.default_rng(seed)
    ids = [str(j + 1) for j in range(projects)]
    costs = rng.integers(budget // 20, budget // 2, projects, endpoint=True).tolist()
    ballots = []
    for i in range(voters):
        chosen = rng.choice(projects, size=int(rng.integers(1, 6)), replace=False)
        ballots.append(Ballot(f"v{i + 1}", tuple(ids[j] for j in sorted(chosen.tolist()))))
    return Election.build(
        [Project(ids[j], int(costs[j])) for j in range(projects)],
        ballots,
        budget,
        meta={"description": "small pot", "country": "none", "unit": "none", "instance": "1", "rule": "mes"},
    )


def run(slow: bool, generated: bool) -> list[Row]:
    rows: list[Row] = []
    files = [ASSEN, SWIECIE, WIELICZKA, TOULOUSE, MOKOTOW, AMSTERDAM]
    ours_e: dict[str, Election] = {}
    theirs_e: dict[str, Any] = {}
    for name in files:
        path = PABULIB / name
        ours_t, ours_e[name] = timed(lambda path=path: read(path))
        theirs_t, theirs_e[name] = timed(lambda path=path: parse_pabulib(str(path)))
        rows.append(Row("parse", name, ours_t, theirs_t, None, None))
        print(rows[-1].cells(), flush=True)

    for name in (AMSTERDAM, MOKOTOW, WIELICZKA):
        election, (instance, profile) = ours_e[name], theirs_e[name]
        ours_t, outcome = timed(lambda e=election: greedy(uncached(e), tie_breaking="lexicographic"))
        theirs_t, allocation = timed(
            lambda i=instance, p=profile: greedy_utilitarian_welfare(i, p, sat_class=Cost_Sat)
        )
        same = set(outcome.selected) == names(allocation)
        rows.append(Row("greedy", name, ours_t, theirs_t, same, outcome.matches(election.official_winners)))
        print(rows[-1].cells(), flush=True)

    for name in (WIELICZKA, MOKOTOW):
        election, (instance, profile) = ours_e[name], theirs_e[name]
        ours_t, outcome = timed(
            lambda e=election: equal_shares(
                uncached(e), completion=Completion.NONE, tie_breaking="lexicographic"
            )
        )
        theirs_t, allocation = timed(
            lambda i=instance, p=profile: method_of_equal_shares(i, p, sat_class=Cost_Sat)
        )
        rows.append(Row("mes", name, ours_t, theirs_t, set(outcome.selected) == names(allocation), None))
        print(rows[-1].cells(), flush=True)

    add1 = [ASSEN, SWIECIE, WIELICZKA] + ([MOKOTOW] if slow else [])
    for name in add1:
        election, (instance, profile) = ours_e[name], theirs_e[name]
        ours_t, outcome = timed(
            lambda e=election: equal_shares(
                uncached(e), completion=Completion.ADD1_EXHAUSTIVE, tie_breaking="lexicographic"
            )
        )
        theirs_t, allocation = timed(
            lambda i=instance, p=profile: method_of_equal_shares(
                i, p, sat_class=Cost_Sat, voter_budget_increment=1
            )
        )
        same = set(outcome.selected) == names(allocation)
        rows.append(
            Row(
                "mes add1 (pabutools')",
                name,
                ours_t,
                theirs_t,
                same,
                outcome.matches(election.official_winners),
            )
        )
        print(rows[-1].cells(), flush=True)
    if not slow:
        rows.append(Row("mes add1 (pabutools')", MOKOTOW, None, None, None, None))

    for name in (ASSEN, SWIECIE, WIELICZKA, MOKOTOW):
        election = ours_e[name]
        ours_t, outcome = timed(lambda e=election: tally(uncached(e), "mes"))
        rows.append(
            Row("mes add1 (ours)", name, ours_t, None, None, outcome.matches(election.official_winners))
        )
        print(rows[-1].cells(), flush=True)

    for budget in SMALL_POT_BUDGETS:
        election = small_pot(budget)
        ours_t, outcome = timed(lambda e=election: tally(uncached(e), "mes"))
        label = f"small pot 5 x 10, budget {budget:,}"
        rows.append(Row("mes add1 (ours)", label, ours_t, None, None, None))
        print(rows[-1].cells(), flush=True)
        runs = outcome.details.get("runs", outcome.details["steps"])
        print(
            f"{label}: share {outcome.details['voter_budget']:,} after {outcome.details['steps']:,} steps, "
            f"{runs:,} runs of MES",
            flush=True,
        )

    if generated:
        election = generated_election()
        text = dumps(election)
        ours_t, _ = timed(lambda: loads(text))
        theirs_t, (instance, profile) = timed(lambda: parse_pabulib_from_string(text))
        rows.append(Row("parse", GENERATED, ours_t, theirs_t, None, None))
        print(rows[-1].cells(), flush=True)
        ours_t, outcome = timed(lambda: greedy(uncached(election), tie_breaking="lexicographic"))
        theirs_t, allocation = timed(
            lambda: greedy_utilitarian_welfare(instance, profile, sat_class=Cost_Sat)
        )
        rows.append(
            Row("greedy", GENERATED, ours_t, theirs_t, set(outcome.selected) == names(allocation), None)
        )
        print(rows[-1].cells(), flush=True)
        ours_t, outcome = timed(
            lambda: equal_shares(uncached(election), completion=Completion.NONE, tie_breaking="lexicographic")
        )
        theirs_t, same = None, None
        if slow:
            theirs_t, allocation = timed(
                lambda: method_of_equal_shares(instance, profile, sat_class=Cost_Sat)
            )
            same = set(outcome.selected) == names(allocation)
        rows.append(Row("mes", GENERATED, ours_t, theirs_t, same, None))
        print(rows[-1].cells(), flush=True)
        ours_t, outcome = timed(lambda: tally(uncached(election), "mes"))
        rows.append(Row("mes add1 (ours)", GENERATED, ours_t, None, None, None))
        print(rows[-1].cells(), flush=True)
        runs = outcome.details.get("runs", outcome.details["steps"])
        print(f"generated: budget {election.budget:,}, add1 ran MES {runs} times", flush=True)
    return rows


def table(rows: list[Row]) -> str:
    header = ["task", "election", "ours s", "pabutools s", "pabutools / ours", "same winners", "official"]
    cells = [header] + [row.cells() for row in rows]
    widths = [max(len(line[i]) for line in cells) for i in range(len(header))]
    right = {2, 3, 4}

    def line(values: list[str]) -> str:
        padded = [
            v.rjust(w) if i in right else v.ljust(w)
            for i, (v, w) in enumerate(zip(values, widths, strict=True))
        ]
        return "| " + " | ".join(padded) + " |"

    rule = (
        "|"
        + "|".join(("-" * (w + 1) + ":" if i in right else "-" * (w + 2)) for i, w in enumerate(widths))
        + "|"
    )
    return "\n".join([line(header), rule] + [line(row) for row in cells[1:]])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--slow", action="store_true", help="also run pabutools' slowest cases (minutes)")
    parser.add_argument(
        "--no-generated", action="store_true", help="skip the generated 100,000-voter election"
    )
    args = parser.parse_args(argv)
    print(
        f"{date.today()}, {platform.python_version()}, {platform.machine()}, numpy {np.__version__}",
        flush=True,
    )
    rows = run(args.slow, not args.no_generated)
    print()
    print(table(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
