"""Pabulib files in and out: `meydan process import-pb FILE.pb` and `meydan process export-pb PROCESS`.

Import makes a process with a voting phase, one pot (budget, ballot limits, counting rule from META) and
its projects; with ballots, each voter becomes an imported ballot (identity `pb:<voter id>`, no resident).
Export writes the pot's projects, with `votes` and the `selected` column of its results, and its ballots.
Ballot columns other than the vote (age, sex…) are not imported: the bot keeps nothing of the kind.
"""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime, timedelta

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services import audit, processes
from bot.services.budgets import add_project, counting, create_pot, rules
from bot.tally import Election, Project, official_rule
from bot.tally.election import POINT_VOTE_TYPES
from bot.tally.numbers import parse_number
from storage.models import BudgetBallot, BudgetChoice, BudgetPot, Process, ProcessPhase, utcnow

# META keys the pot's own columns hold (written back from them)
OWN_META = {"num_projects", "num_votes", "budget", "vote_type", "min_length", "max_length"}
RECOMPUTED = {"votes", "selected", "score"}  # project columns the export computes again


class ImportError_(ValueError):  # noqa: N801 - not the builtin
    """A file the bot cannot take as a process (English, for the command line)."""


def _date(text: str | None) -> datetime | None:
    for fmt in ("%d.%m.%Y", "%Y-%m-%d", "%d/%m/%Y"):
        try:
            return datetime.strptime((text or "").strip(), fmt).replace(tzinfo=UTC)
        except ValueError:
            continue
    return None


def _whole(value: object, what: str) -> int:
    number = parse_number(str(value))
    if number != int(number):
        raise ImportError_(f"{what}: {value} is not a whole amount")
    return int(number)


def voting_span(election: Election, now: datetime | None = None) -> tuple[datetime, datetime]:
    """The voting phase of an imported election: its META dates when it has them (a past election is
    closed), else the last 30 days up to now."""
    begin, end = _date(election.meta.get("date_begin")), _date(election.meta.get("date_end"))
    if begin and end and end >= begin:
        return begin, end + timedelta(days=1)
    now = now or utcnow()
    return now - timedelta(days=30), now


async def import_election(
    session: AsyncSession,
    election: Election,
    *,
    key: str | None = None,
    with_ballots: bool = False,
    opens_at: datetime | None = None,
    closes_at: datetime | None = None,
) -> tuple[Process, BudgetPot]:
    """A process with a voting phase and one city-wide pot made from a Pabulib election."""
    if election.vote_type not in ("approval", "choose-1", *POINT_VOTE_TYPES):
        raise ImportError_(f"{election.vote_type} ballots cannot be imported")
    name = election.meta.get("description") or election.meta.get("unit") or "Pabulib"
    if key is not None and not processes.KEY_PATTERN.match(key):
        raise ImportError_(f"key {key!r}: use 2-64 characters a-z, 0-9 and -")
    if key is not None and await processes.by_key(session, key) is not None:
        raise ImportError_(f"key {key!r} is already taken by another process")
    start, end = voting_span(election)
    process = Process(
        key=key or await processes.free_key(session, name),
        names=processes.clean_names({"tr": name[:200], "en": name[:200]}),
        scope=processes.CITY,
        phases=[ProcessPhase(kind=rules.VOTING, starts_at=opens_at or start, ends_at=closes_at or end)],
    )
    session.add(process)
    await session.flush()
    limits = election.limits
    kind = rules.APPROVAL
    if election.vote_type in POINT_VOTE_TYPES:
        kind = rules.CUMULATIVE
    elif limits.max_sum_cost is not None:
        kind = rules.KNAPSACK
    rule = official_rule(election)
    threshold = election.meta.get(counting.THRESHOLD_KEY)
    pot = await create_pot(
        session,
        process,
        names={"tr": name, "en": name},
        budget=_whole(election.budget, "budget"),
        ballot_kind=kind,
        min_projects=limits.min_length,
        max_projects=limits.max_length,
        rule=rule if rule in rules.COUNTING_RULES else rules.GREEDY,
        rule_param=_whole(threshold, "threshold") if rule == rules.GREEDY_THRESHOLD and threshold else None,
        meta={k: v for k, v in election.meta.items() if k not in OWN_META},
    )
    ids = {}
    for project in election.projects:
        fields = {k: v for k, v in project.fields.items() if k not in RECOMPUTED and k != "name"}
        made = await add_project(
            session,
            pot,
            code=project.id,
            titles={"tr": project.name or project.id, "en": project.name or project.id},
            cost=_whole(project.cost, f"project {project.id}"),
            fields=fields,
            building=True,  # the process is made here, its voting dates the file's (often past)
        )
        ids[project.id] = made.id
    if with_ballots:
        await _import_ballots(session, pot, election, ids)
    await audit.record(
        session, "budget.import", object_type="process", object_id=process.id,
        projects=len(ids), ballots=len(election.ballots) if with_ballots else 0,
    )  # fmt: skip
    return process, pot


def _identity(pot_id: int, voter_id: str) -> str:
    text = f"pb:{voter_id}"
    return text if len(text) <= 80 else "pb:" + hashlib.sha256(f"{pot_id}:{voter_id}".encode()).hexdigest()


async def _import_ballots(
    session: AsyncSession, pot: BudgetPot, election: Election, ids: dict[str, int]
) -> None:
    now = utcnow()
    rows = [
        {
            "pot_id": pot.id,
            "identity": _identity(pot.id, ballot.voter_id),
            "receipt": f"I{n:07d}",  # fills the column; no one holds it, so it is never published
            "voter_label": ballot.voter_id,
            "confirmed_at": now,
        }
        for n, ballot in enumerate(election.ballots, start=1)
    ]
    for start in range(0, len(rows), 5000):
        await session.execute(insert(BudgetBallot), rows[start : start + 5000])
    made = dict(
        (
            await session.execute(
                select(BudgetBallot.voter_label, BudgetBallot.id).where(BudgetBallot.pot_id == pot.id)
            )
        ).all()
    )
    choices = []
    for ballot in election.ballots:
        points = ballot.points or (None,) * len(ballot.projects)
        for position, (code, given) in enumerate(zip(ballot.projects, points, strict=True)):
            choices.append(
                {
                    "ballot_id": made[ballot.voter_id],
                    "project_id": ids[code],
                    "position": position,
                    "points": None if given is None else _whole(given, f"voter {ballot.voter_id}"),
                }
            )
    for start in range(0, len(choices), 10000):
        await session.execute(insert(BudgetChoice), choices[start : start + 10000])


async def export_election(
    session: AsyncSession, process: Process, pot: BudgetPot, currency: str | None = None
) -> Election:
    """The pot as a Pabulib election, with each project's `votes` and the `selected` column of the
    pot's results, so that `meydan tally` on the file re-counts the same result."""
    elected = await counting.election(session, pot, process_key=process.key, currency=currency)
    outcome = counting.count(pot, elected)
    chosen = set(outcome.selected)
    projects = tuple(
        Project(
            p.id,
            p.cost,
            {**p.fields, "votes": str(elected.votes[p.id]), "selected": "1" if p.id in chosen else "0"},
        )
        for p in elected.projects
    )
    return Election(elected.meta, projects, elected.ballots)


async def find_pot(session: AsyncSession, process: Process, pot_ref: str | None) -> BudgetPot | None:
    """A pot of the process by id, or its only pot when none is named."""
    stmt = (
        select(BudgetPot).where(BudgetPot.process_id == process.id).order_by(BudgetPot.position, BudgetPot.id)
    )
    pots = list(await session.scalars(stmt))
    if pot_ref is None:
        return pots[0] if len(pots) == 1 else None
    if re.fullmatch(r"\d{1,9}", pot_ref):
        return next((p for p in pots if p.id == int(pot_ref)), None)
    return next((p for p in pots if pot_ref in p.names.values()), None)
