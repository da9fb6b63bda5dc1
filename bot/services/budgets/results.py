"""Published results of a pot: counted once, stored, served to every viewer from the stored row.

Results show once the process's `results` phase is current or its voting has closed (`results_open`,
the one predicate for the button and the check). When voting closes the scheduler's counting job
(`scheduler/results.py`) counts each pot's ballots with its rule — read in a short session, tallied in a
worker thread with no transaction open, stored in a short one — and the outcome (winners, votes, why each
project won or lost) is stored in `budget_results` with the turnout by neighborhood; everyone is served
from that row. A viewer before that counts a small pot the same way (after committing the update's
transaction) and is told to wait for a large one (`BeingCounted`). Staff counting again replaces it (a
large pot through the job).

Turnout by neighborhood uses the neighborhood each ballot's voter lived in when they confirmed it (kept
on the ballot; moving afterwards, or deleting the account, changes nothing; imported ballots have none and
count as not known); a group of fewer than `MIN_GROUP` ballots is never shown, nor one that could be
worked out from the total and the groups shown.

"Was my ballot counted?": the list of counted receipt codes is published (sorted, codes only); the
ballots file (Pabulib, `counting.election`) holds the votes without receipts, in the order of their
content, so no one can link a code to a vote. Imported ballots (`meydan process import-pb --with-ballots`)
are counted but were never cast in the bot: their stored codes are no receipts anyone holds, so they are
left out of the list and of the check, and their number is said beside the list (codes + imported =
ballots counted).
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from fractions import Fraction
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import joinedload, selectinload

from bot.services import audit, budgets, processes, roles
from bot.services.budgets import counting, rules
from bot.services.errors import DomainError, NotFound
from bot.tally import Election, Explanation, Outcome, Project, Reason, dumps
from bot.tally.numbers import Number
from bot.tally.outcome import Param
from storage.db import will_write
from storage.models import (
    BudgetBallot,
    BudgetPot,
    BudgetProject,
    BudgetResult,
    Neighborhood,
    Process,
    ProcessPhase,
    Resident,
    utcnow,
)

RESULTS = "results"  # the process phase
MIN_GROUP = 5  # fewer ballots than this in a group could single a person out: never shown
UNKNOWN = ""  # the turnout group of ballots whose voter's neighborhood is not known
RECEIPT_TEXT = re.compile(r"[A-Z0-9]{4,16}")


class ResultsNotReady(DomainError):
    """Results are asked for before voting closed; `at` is when it closes (None: no voting phase)."""

    def __init__(self, at: datetime | None) -> None:
        super().__init__(f"results not ready (voting closes {at})")
        self.at = at


class BadReceipt(DomainError):
    """A typed receipt code that cannot be one (wrong characters or length)."""


# --- when ------------------------------------------------------------------------------------------


def results_open(process: Process, now: datetime | None = None) -> bool:
    """Whether the pot's results may be shown: the results phase is current, or voting has closed."""
    now = now or utcnow()
    phase = processes.window(process, RESULTS)
    if phase is not None and phase.state(now) == processes.OPEN:
        return True
    voting = processes.window(process, rules.VOTING)
    return voting is not None and voting.state(now) == processes.CLOSED


def check_open(process: Process, now: datetime | None = None) -> None:
    if not results_open(process, now):
        voting = processes.window(process, rules.VOTING)
        raise ResultsNotReady(voting.ends_at if voting else None)


def can_recount(is_staff: bool) -> bool:
    """Staff may count a pot again (after changing a project, say); the service checks the role."""
    return is_staff


# --- the stored outcome ----------------------------------------------------------------------------


def _encode(value: Param) -> Any:
    if isinstance(value, Fraction):
        return {"fraction": [value.numerator, value.denominator]}
    if isinstance(value, tuple):
        return [[key, _encode(amount)] for key, amount in value]
    return value


def _decode(value: Any) -> Param:
    if isinstance(value, dict) and "fraction" in value:
        numerator, denominator = value["fraction"]
        return Fraction(numerator, denominator)
    if isinstance(value, list):
        return tuple((key, _decode(amount)) for key, amount in value)  # type: ignore[misc]
    return value


def encode(outcome: Outcome, election: Election) -> dict[str, Any]:
    """An outcome as JSON: exact numbers kept (fractions as [numerator, denominator])."""
    return {
        "rule": outcome.rule,
        "budget": _encode(outcome.budget),
        "cost": _encode(outcome.cost),
        "selected": list(outcome.selected),
        "votes": dict(election.votes),
        "explanations": {
            code: {
                "selected": e.selected,
                "reason": str(e.reason),
                "params": {k: _encode(v) for k, v in e.params.items()},
            }
            for code, e in outcome.explanations.items()
        },
    }


@dataclass(frozen=True)
class Stored:
    """A stored outcome, read back."""

    rule: str
    budget: Number
    cost: Number
    selected: tuple[str, ...]
    votes: dict[str, int]
    explanations: dict[str, Explanation]

    @classmethod
    def decode(cls, data: Mapping[str, Any]) -> Stored:
        explanations = {
            code: Explanation(
                code, e["selected"], Reason(e["reason"]), {k: _decode(v) for k, v in e["params"].items()}
            )
            for code, e in data["explanations"].items()
        }
        return cls(
            rule=data["rule"],
            budget=_decode(data["budget"]),  # type: ignore[arg-type]
            cost=_decode(data["cost"]),  # type: ignore[arg-type]
            selected=tuple(data["selected"]),
            votes={k: int(v) for k, v in data["votes"].items()},
            explanations=explanations,
        )


# --- turnout ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Turnout:
    """What may be shown of the turnout by neighborhood: groups of at least `MIN_GROUP` ballots, and the
    rest together (`other`), itself at least `MIN_GROUP` or nothing at all."""

    shown: tuple[tuple[int, int], ...]  # (neighborhood id, ballots), most first
    other: int
    unknown: int  # ballots whose voter's neighborhood is not known, when at least MIN_GROUP
    hidden: bool  # True when nothing could be shown without singling someone out


def safe_turnout(groups: Mapping[str, int], minimum: int = MIN_GROUP) -> Turnout:
    """Hide every group under `minimum`, and, when what is hidden adds up to less than `minimum` (so the
    total minus the groups shown would tell it), hide the smallest shown groups too until it does not."""
    known = {int(k): v for k, v in groups.items() if k != UNKNOWN and v > 0}
    unknown = groups.get(UNKNOWN, 0)
    shown = {k: v for k, v in known.items() if v >= minimum}
    if unknown >= minimum:
        shown[-1] = unknown
    hidden = sum(known.values()) + unknown - sum(shown.values())
    while 0 < hidden < minimum and shown:
        smallest = min(shown, key=lambda k: (shown[k], k))
        hidden += shown.pop(smallest)
    rows = tuple(sorted(((k, v) for k, v in shown.items() if k != -1), key=lambda kv: (-kv[1], kv[0])))
    return Turnout(rows, hidden if hidden >= minimum else 0, shown.get(-1, 0), not shown and hidden > 0)


async def _turnout(session: AsyncSession, pot_id: int) -> dict[str, int]:
    """Ballots by the neighborhood their voter lived in when confirming (imported ones: `UNKNOWN`)."""
    rows = await session.execute(
        select(BudgetBallot.neighborhood_id, func.count())
        .where(BudgetBallot.pot_id == pot_id)
        .group_by(BudgetBallot.neighborhood_id)
    )
    found: dict[str, int] = {}
    for hood, count in rows:
        key = UNKNOWN if hood is None else str(hood)
        found[key] = found.get(key, 0) + count
    return found


async def _eligible(session: AsyncSession, pot: BudgetPot) -> int:
    """Residents set up in the pot's area (city, district or neighborhood) when the results are counted."""
    stmt = (
        select(func.count())
        .select_from(Resident)
        .where(
            Resident.deleted_at.is_(None),
            Resident.onboarded_at.is_not(None),
            Resident.neighborhood_id.is_not(None),
        )
    )
    if pot.scope == rules.NEIGHBORHOOD:
        stmt = stmt.where(Resident.neighborhood_id == pot.neighborhood_id)
    elif pot.scope == rules.DISTRICT:
        stmt = stmt.join(Neighborhood, Neighborhood.id == Resident.neighborhood_id).where(
            Neighborhood.district_id == pot.district_id
        )
    return await session.scalar(stmt) or 0


# --- counting once ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class PotResults:
    """Everything a results screen shows."""

    pot: BudgetPot
    projects: dict[str, BudgetProject]  # by code
    outcome: Stored
    ballots: int
    eligible: int
    turnout: Turnout
    counted_at: datetime
    hoods: dict[int, str]  # the names of the neighborhoods `turnout` shows
    files: dict[str, str]  # Telegram file ids of the published files already sent, by kind

    def project(self, project_id: int) -> BudgetProject:
        found = next((p for p in self.projects.values() if p.id == project_id), None)
        if found is None:
            raise NotFound(f"project {project_id} is not in pot {self.pot.id}'s results")
        return found

    def ranked(self) -> list[BudgetProject]:
        """Winners in the order chosen, then the others by votes."""
        winners = [self.projects[c] for c in self.outcome.selected if c in self.projects]
        rest = [p for p in self.projects.values() if p.code not in self.outcome.selected]
        rest.sort(key=lambda p: (-self.outcome.votes.get(p.code, 0), p.position, p.id))
        return winners + rest

    @property
    def share(self) -> float:
        """The part of the budget the winners use, 0..1."""
        return float(self.outcome.cost) / float(self.outcome.budget) if self.outcome.budget else 0.0


async def _pot(session: AsyncSession, pot_id: int) -> BudgetPot:
    pot = (
        (
            await session.scalars(
                select(BudgetPot)
                .options(joinedload(BudgetPot.process).selectinload(Process.phases))
                .where(BudgetPot.id == pot_id)
            )
        )
        .unique()
        .one_or_none()
    )
    if pot is None:
        raise NotFound(f"pot {pot_id}")
    return pot


def _insert(session: AsyncSession):  # noqa: ANN202 - the dialect's INSERT … ON CONFLICT
    return postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert


def _closes(pot: BudgetPot) -> str:
    """When the pot's voting closed, as stored with its results: a stored outcome counted before voting
    was opened again (and closed later) is out of date."""
    voting = processes.window(pot.process, rules.VOTING)
    return voting.ends_at.isoformat() if voting else ""


SMALL_POT = 2000  # ballots: a pot this small may be counted for its first viewer (outside any transaction)


class BeingCounted(DomainError):
    """The pot's results are not stored yet (or are being counted again) and the pot is too large to be
    counted for a viewer: the scheduler's job counts it, and the results announcement tells the voters."""


@dataclass(frozen=True)
class Prepared:
    """What counting a pot needs, read in one short session: the election and everything stored with the
    outcome, as plain values (the tally runs on them with no session and no transaction open)."""

    pot: BudgetPot
    election: Election
    turnout: dict[str, Any]
    closes: str


async def prepare(session: AsyncSession, pot: BudgetPot) -> Prepared:
    elected = await counting.election(session, pot)
    turnout = {"groups": await _turnout(session, pot.id), "eligible": await _eligible(session, pot)}
    return Prepared(pot, elected, turnout, _closes(pot))


def tally_of(prepared: Prepared) -> Outcome:
    """The CPU part: the pot's rule on its election (run in a worker thread, outside any transaction)."""
    return counting.count(prepared.pot, prepared.election)


async def store(
    session: AsyncSession, prepared: Prepared, outcome: Outcome, actor_id: int | None = None
) -> Counted | None:
    """Store a counted outcome, unless a current one is stored meanwhile (INSERT … ON CONFLICT DO
    NOTHING: two counts at once keep one row); a row left stale (voting opened again, or marked to be
    counted again) is replaced. None when another count stored it first."""
    stored = await session.get(BudgetResult, prepared.pot.id, populate_existing=True)
    asked_by = None
    if stored is not None:
        if current(stored, prepared.closes):
            return None
        asked_by = stored.outcome.get("recount_by")
        await session.delete(stored)
        await session.flush()
    values = {
        "pot_id": prepared.pot.id,
        "ballots": len(prepared.election.ballots),
        "outcome": {**encode(outcome, prepared.election), "closes": prepared.closes},
        "turnout": prepared.turnout,
        "computed_at": utcnow(),
        "computed_by": actor_id,
    }
    stmt = _insert(session)(BudgetResult).values(**values).on_conflict_do_nothing(index_elements=["pot_id"])
    if not (await session.execute(stmt)).rowcount:
        return None
    return Counted(prepared.pot.id, asked_by)


@dataclass(frozen=True)
class Counted:
    """A count this call stored: the pot, and the staff member who asked for it to be counted again."""

    pot_id: int
    asked_by: int | None


def current(stored: BudgetResult | None, closes: str) -> bool:
    """A stored outcome is current when it was counted after this closing of voting and not marked to be
    counted again."""
    return stored is not None and stored.outcome.get("closes") == closes and not stored.outcome.get("stale")


async def count_and_store(
    session: AsyncSession, pot: BudgetPot, actor_id: int | None = None
) -> Counted | None:
    """Count the pot in the viewer's (or staff member's) session without holding its transaction during
    the tally: what the update did so far is committed first (it would be before the bot speaks anyway,
    docs/architecture.md), the rule runs in a worker thread with no transaction open, and the outcome is
    stored in a new, short transaction."""
    prepared = await prepare(session, pot)
    if session.in_transaction():
        await session.commit()
    outcome = await asyncio.to_thread(tally_of, prepared)
    return await store(session, prepared, outcome, actor_id)


async def ballot_count(session: AsyncSession, pot_id: int) -> int:
    return await session.scalar(select(func.count()).where(BudgetBallot.pot_id == pot_id)) or 0


async def pot_results(session: AsyncSession, pot_id: int, now: datetime | None = None) -> PotResults:
    """The pot's results from storage. Counted by the scheduler's job when voting closes; a viewer
    before that counts a small pot (under `SMALL_POT` ballots, outside the transaction) and is told to
    wait for a large one (`BeingCounted`)."""
    pot = await _pot(session, pot_id)
    check_open(pot.process, now)
    stored = await session.get(BudgetResult, pot.id)
    if not current(stored, _closes(pot)):
        if await ballot_count(session, pot.id) >= SMALL_POT:
            raise BeingCounted(f"pot {pot.id}")
        will_write(session)  # shown as a view until here: counting stores the results
        await count_and_store(session, pot)
        stored = await session.get(BudgetResult, pot.id, populate_existing=True)
    assert stored is not None
    return await _view(session, pot, stored)


async def _view(session: AsyncSession, pot: BudgetPot, stored: BudgetResult) -> PotResults:
    projects = await session.scalars(
        select(BudgetProject)
        .options(selectinload(BudgetProject.place))
        .where(BudgetProject.pot_id == pot.id)
        .order_by(BudgetProject.position, BudgetProject.id)
    )
    outcome = Stored.decode(stored.outcome)
    turnout = safe_turnout(stored.turnout.get("groups") or {})
    ids = [hood for hood, _count in turnout.shown]
    hoods = await session.execute(select(Neighborhood.id, Neighborhood.name).where(Neighborhood.id.in_(ids)))
    return PotResults(
        pot=pot,
        projects={p.code: p for p in projects if p.code in outcome.explanations},
        outcome=outcome,
        ballots=stored.ballots,
        eligible=int(stored.turnout.get("eligible") or 0),
        turnout=turnout,
        counted_at=stored.computed_at,
        hoods={hood_id: name for hood_id, name in hoods},
        files=dict(stored.outcome.get("files") or {}),
    )


_wakers: list[Callable[[], None]] = []


def on_recount(wake: Callable[[], None]) -> Callable[[], None]:
    """Register what wakes the counting job when staff ask for a large pot to be counted again (the
    scheduler of this process); returns a function that unregisters it."""
    _wakers.append(wake)
    return lambda: _wakers.remove(wake) if wake in _wakers else None


async def recount(
    session: AsyncSession, actor_id: int, pot_id: int, now: datetime | None = None
) -> PotResults | None:
    """Staff count the pot again (audited): a small pot at once, outside the transaction, replacing the
    stored outcome; a large one is marked to be counted again by the job, which tells the staff member
    when it is done (None: the caller says so; the mark is committed with the update)."""
    await roles.require(session, actor_id, roles.STAFF)
    pot = await _pot(session, pot_id)
    check_open(pot.process, now)
    large = await ballot_count(session, pot.id) >= SMALL_POT
    await audit.record(
        session,
        "budget.results",
        actor_id=actor_id,
        object_type="pot",
        object_id=pot.id,
        ballots=await ballot_count(session, pot.id),
    )
    stored = await session.get(BudgetResult, pot.id)
    if large:
        if stored is not None:
            stored.outcome = {**stored.outcome, "stale": True, "recount_by": actor_id}
        else:
            await store_mark(session, pot, actor_id)
        for wake in list(_wakers):
            wake()
        return None
    if stored is not None:
        stored.outcome = {**stored.outcome, "stale": True}
    await count_and_store(session, pot, actor_id)
    stored = await session.get(BudgetResult, pot.id, populate_existing=True)
    assert stored is not None
    return await _view(session, pot, stored)


async def store_mark(session: AsyncSession, pot: BudgetPot, actor_id: int) -> None:
    """No outcome stored yet: remember who asked, so the job tells them too once it is counted."""
    session.add(
        BudgetResult(
            pot_id=pot.id,
            ballots=0,
            outcome={"closes": "", "stale": True, "recount_by": actor_id},
            turnout={},
            computed_at=utcnow(),
            computed_by=actor_id,
        )
    )


async def forget(session: AsyncSession, pot_id: int) -> None:
    """Drop the stored outcome (the next viewer, or the job, counts again)."""
    await session.execute(delete(BudgetResult).where(BudgetResult.pot_id == pot_id))


# --- which pots ------------------------------------------------------------------------------------


async def pots_for(session: AsyncSession, resident: Resident, now: datetime | None = None) -> list[BudgetPot]:
    """The pots of the resident's area (neighborhood, district, city) whose results may be shown."""
    hood = resident.neighborhood_id
    district = await budgets.district_of(session, hood)
    found = [
        pot
        for pot in (
            await session.scalars(
                select(BudgetPot)
                .options(joinedload(BudgetPot.process).selectinload(Process.phases))
                .order_by(BudgetPot.position, BudgetPot.id)
            )
        ).unique()
        if results_open(pot.process, now)
        and processes.applies_to(pot.process, hood)
        and rules.open_to(pot.scope, pot.district_id, pot.neighborhood_id, hood, district)
    ]
    order = {rules.NEIGHBORHOOD: 0, rules.DISTRICT: 1, rules.CITY: 2}
    found.sort(key=lambda p: (order.get(p.scope, 3), p.position, p.id))
    return found


# --- was my ballot counted? ------------------------------------------------------------------------


async def open_pot(session: AsyncSession, pot_id: int, now: datetime | None = None) -> BudgetPot:
    """The pot, when its results may be shown; else a refusal."""
    pot = await _pot(session, pot_id)
    check_open(pot.process, now)
    return pot


CAST_HERE = BudgetBallot.voter_label.is_(None)  # a ballot confirmed in the bot (not imported): a real receipt


async def receipts(
    session: AsyncSession, pot_id: int, now: datetime | None = None
) -> tuple[BudgetPot, list[str]]:
    """Every counted ballot's receipt code, sorted: codes only; not the imported ballots' (no one holds
    them: `imported`)."""
    pot = await open_pot(session, pot_id, now)
    codes = await session.scalars(
        select(BudgetBallot.receipt)
        .where(BudgetBallot.pot_id == pot.id, CAST_HERE)
        .order_by(BudgetBallot.receipt)
    )
    return pot, list(codes)


async def imported(session: AsyncSession, pot_id: int) -> int:
    """The pot's imported ballots: counted, but with no receipt code in the published list."""
    stmt = select(func.count()).where(BudgetBallot.pot_id == pot_id, ~CAST_HERE)
    return await session.scalar(stmt) or 0


def clean_receipt(text: str) -> str:
    """A typed receipt code: spaces and dashes dropped, upper case; `BadReceipt` when it cannot be one."""
    code = re.sub(r"[\s\-]", "", text or "").upper()
    if not RECEIPT_TEXT.fullmatch(code):
        raise BadReceipt(code[:16])
    return code


async def was_counted(session: AsyncSession, pot_id: int, code: str, now: datetime | None = None) -> bool:
    pot = await open_pot(session, pot_id, now)
    found = await session.scalar(
        select(BudgetBallot.id).where(
            BudgetBallot.pot_id == pot.id, BudgetBallot.receipt == clean_receipt(code), CAST_HERE
        )
    )
    return found is not None


@dataclass(frozen=True)
class Published:
    """A published file: sent before (its Telegram `file_id`, sent again as it is), or its bytes."""

    pot: BudgetPot
    kind: str  # RECEIPTS or BALLOTS
    count: int  # the ballots counted (RECEIPTS: the codes listed)
    file_id: str | None
    data: bytes | None
    imported: int = 0  # RECEIPTS: the imported ballots counted besides the codes listed


RECEIPTS, BALLOTS, CHART = "receipts", "ballots", "chart:"


def chart_kind(lang: str) -> str:
    """The chart is drawn once per language (its labels and money format are the language's)."""
    return f"{CHART}{lang}"


async def receipts_file(session: AsyncSession, pot_id: int, now: datetime | None = None) -> Published:
    """The counted receipt codes, one a line, sorted (made once; later sent again by its file id), and
    how many imported ballots were counted besides them."""
    shown = await pot_results(session, pot_id, now)
    _pot, codes = await receipts(session, pot_id, now)
    extra = await imported(session, pot_id)
    if RECEIPTS in shown.files:
        return Published(shown.pot, RECEIPTS, len(codes), shown.files[RECEIPTS], None, extra)
    data = "".join(f"{c}\n" for c in codes).encode()
    return Published(shown.pot, RECEIPTS, len(codes), None, data, extra)


async def published_ballots(
    session: AsyncSession, pot_id: int, currency: str | None = None, now: datetime | None = None
) -> Published:
    """The ballots file (made once; later sent again by its file id)."""
    shown = await pot_results(session, pot_id, now)
    if BALLOTS in shown.files:
        return Published(shown.pot, BALLOTS, shown.ballots, shown.files[BALLOTS], None)
    _pot, text = await ballots_file(session, pot_id, currency, now)
    return Published(shown.pot, BALLOTS, shown.ballots, None, text.encode())


async def remember_file(session: AsyncSession, pot_id: int, kind: str, file_id: str) -> None:
    """Keep the file id of a published file once sent, with the stored results (counting again drops it)."""
    stored = await session.get(BudgetResult, pot_id)
    if stored is not None and (kind in (RECEIPTS, BALLOTS) or kind.startswith(CHART)):
        files = {**(stored.outcome.get("files") or {}), kind: file_id}
        stored.outcome = {**stored.outcome, "files": files}


async def ballots_file(
    session: AsyncSession, pot_id: int, currency: str | None = None, now: datetime | None = None
) -> tuple[BudgetPot, str]:
    """The pot's ballots as a Pabulib file, with `votes` and the stored results' `selected` column: no
    receipts, no identities, ballots numbered in the order of their content. `meydan tally` on it gives
    the same winners."""
    results = await pot_results(session, pot_id, now)
    pot = results.pot
    elected = await counting.election(session, pot, process_key=pot.process.key, currency=currency)
    chosen = set(results.outcome.selected)
    projects = tuple(
        Project(
            p.id,
            p.cost,
            {**p.fields, "votes": str(elected.votes[p.id]), "selected": "1" if p.id in chosen else "0"},
        )
        for p in elected.projects
    )
    return pot, await asyncio.to_thread(dumps, Election(elected.meta, projects, elected.ballots))


# --- the counting job (scheduler/results.py) -------------------------------------------------------


async def pots_to_count(session: AsyncSession, now: datetime | None = None) -> list[int]:
    """The pots whose voting has closed (and closed after their process was made: not an import) with no
    current stored outcome: none yet, one from before voting was opened again, or one marked to be
    counted again."""
    now = now or utcnow()
    rows = await session.execute(
        select(BudgetPot.id, ProcessPhase.ends_at)
        .join(Process, Process.id == BudgetPot.process_id)
        .join(ProcessPhase, (ProcessPhase.process_id == Process.id) & (ProcessPhase.kind == rules.VOTING))
        .where(ProcessPhase.ends_at <= now, ProcessPhase.ends_at > Process.created_at)
        .order_by(BudgetPot.id)
    )
    closed = {pot_id: ends_at for pot_id, ends_at in rows.all()}
    if not closed:
        return []
    stored = await session.execute(
        select(
            BudgetResult.pot_id,
            BudgetResult.outcome["closes"].as_string(),
            BudgetResult.outcome["stale"].as_boolean(),
        ).where(BudgetResult.pot_id.in_(closed))
    )
    fresh = {
        pot_id for pot_id, closes, stale in stored.all() if not stale and closes == closed[pot_id].isoformat()
    }
    return [pot_id for pot_id in closed if pot_id not in fresh]


async def voting_closes(session: AsyncSession, now: datetime | None = None) -> list[tuple[int, datetime]]:
    """(voting phase id, when it closes) of every budgeting process whose voting is still to close."""
    now = now or utcnow()
    rows = await session.execute(
        select(ProcessPhase.id, ProcessPhase.ends_at)
        .where(
            ProcessPhase.kind == rules.VOTING,
            ProcessPhase.ends_at > now,
            ProcessPhase.process_id.in_(select(BudgetPot.process_id)),
        )
        .order_by(ProcessPhase.ends_at)
    )
    return [(phase_id, at) for phase_id, at in rows.all()]


async def load_pot(session: AsyncSession, pot_id: int) -> BudgetPot | None:
    try:
        return await _pot(session, pot_id)
    except NotFound:
        return None


async def fully_counted(session: AsyncSession, process_id: int) -> datetime | None:
    """When the process's voting closed, if every one of its pots has a current stored outcome."""
    process = await processes.get(session, process_id)
    voting = processes.window(process, rules.VOTING) if process else None
    if voting is None:
        return None
    left = set(await pots_to_count(session))
    pots = (await session.scalars(select(BudgetPot.id).where(BudgetPot.process_id == process_id))).all()
    return voting.ends_at if pots and not left.intersection(pots) else None


async def processes_of(session: AsyncSession, pot_ids: list[int]) -> list[int]:
    if not pot_ids:
        return []
    found = await session.scalars(
        select(BudgetPot.process_id)
        .where(BudgetPot.id.in_(pot_ids))
        .distinct()
        .order_by(BudgetPot.process_id)
    )
    return list(found)


async def recently_closed(session: AsyncSession, now: datetime | None = None) -> list[int]:
    """The budgeting processes whose voting closed within the time their results are still announced."""
    from bot.services.announcements import LATE_RESULTS

    now = now or utcnow()
    found = await session.scalars(
        select(ProcessPhase.process_id).where(
            ProcessPhase.kind == rules.VOTING,
            ProcessPhase.ends_at <= now,
            ProcessPhase.ends_at > now - LATE_RESULTS,
            ProcessPhase.process_id.in_(select(BudgetPot.process_id)),
        )
    )
    return sorted(set(found))
