"""Participatory budgeting: pots, their projects, and residents' ballots.

Plain values in, ORM rows or dataclasses out, a `BudgetError` for every refusal. A resident's draft (the
projects they have ticked) lives in their conversation state until they confirm; `tick` checks each
change against the pot's limits, `confirm` checks them all again and saves the ballot in one statement
that the database keeps to one row per person and pot (UNIQUE(pot_id, identity), an upsert), then
replaces its choices in the same transaction. The last confirmed ballot counts, and a resident may
change it while the process's voting phase is open.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields, replace
from datetime import datetime
from types import MappingProxyType
from typing import Any

from sqlalchemy import ColumnElement, Text, and_, bindparam, cast, delete, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import joinedload

from bot.config import LANGUAGES
from bot.services import audit, processes, residents
from bot.services.budgets import rules, verification
from bot.services.budgets.rules import (  # noqa: F401 - the rules are part of the budgets API
    APPROVAL,
    BALLOT_KINDS,
    CITY,
    COUNTING_RULES,
    CUMULATIVE,
    DISTRICT,
    INFEASIBLE,
    KNAPSACK,
    NEIGHBORHOOD,
    ON_BALLOT,
    PROPOSED,
    SCOPES,
    SELECTED,
    BadAmount,
    BudgetError,
    Cart,
    Limits,
    NoNumbers,
    NotOnBallot,
    NotYourPot,
    OverBudget,
    TooFew,
    TooMany,
    UnderShare,
    UnknownNumbers,
    VotingNotOpen,
    VotingStarted,
    can_edit,
    parse_amount,
    typed_numbers,
)

from bot.services.budgets.rules import (  # noqa: F401 - verification refusals  # isort: skip
    AlreadyVerified,
    BadPhone,
    CodeRefused,
    LevelLocked,
    NoCodes,
    NotOwnContact,
    NotVerified,
    PhoneTaken,
    TooManyTries,
)
from storage.db import flush_changes
from storage.direct import Direct
from storage.models import (
    BudgetBallot,
    BudgetChoice,
    BudgetPot,
    BudgetProject,
    District,
    Neighborhood,
    Process,
    ProcessPhase,
    Resident,
    utcnow,
)


class PotError(ValueError):
    """A pot or project that cannot be created as asked (for the command line; English)."""


# --- values ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class OpenPot:
    """A pot a resident can vote in now, whether they already have, and the verification they must
    still go through first (None: none)."""

    pot: BudgetPot
    voted: bool
    pending: str | None = None


@dataclass(frozen=True)
class OnBallot:
    """A project as the ballot shows it. Every ballot press reads all of its pot's projects (the running
    total and the limits need every cost), so they are read as plain rows, not as ORM objects."""

    id: int
    code: str
    titles: Mapping[str, str]
    summaries: Mapping[str, str]
    cost: int
    photo_file_id: str | None
    place: str | None  # "Neighborhood, District", or None


@dataclass(frozen=True, slots=True)
class Phase:
    kind: str
    starts_at: datetime
    ends_at: datetime


@dataclass(frozen=True, slots=True)
class BallotProcess:
    """A pot's process as its ballot needs it (`gate`): whom it applies to, the verification it asks
    for, and its voting phase (the only one in `phases`, as `voting_window` reads it)."""

    id: int
    scope: str
    neighborhood_id: int | None
    verification: str
    phases: tuple[Phase, ...]


@dataclass(frozen=True, slots=True)
class BallotPot:
    """A pot as its ballot needs it, read by `gate` as plain values: every ballot press reads it, and
    the pot, its process and its phases as ORM objects cost that read three times what plain values do.
    Staff screens, which change pots, read `BudgetPot` as before."""

    id: int
    names: Mapping[str, str]
    scope: str
    district_id: int | None
    neighborhood_id: int | None
    budget: int
    ballot_kind: str
    min_projects: int | None
    max_projects: int | None
    min_share: int | None
    approval_limit: int | None
    ballot_version: int
    process: BallotProcess


@dataclass(frozen=True, slots=True)
class ConfirmedBallot:
    """The ballot the person confirmed in a pot, as its screens show it (`gate`)."""

    id: int
    receipt: str
    confirmed_at: datetime


@dataclass(frozen=True)
class Ticked:
    chosen: tuple[int, ...]
    added: bool
    cart: Cart


@dataclass(frozen=True)
class Confirmed:
    ballot: BudgetBallot
    chosen: tuple[int, ...]
    changed: bool  # True when it replaced an earlier ballot


# --- names -----------------------------------------------------------------------------------------


def _text(values: Mapping[str, str] | None, lang: str, fallback: str = "") -> str:
    values = values or {}
    return values.get(lang) or values.get("en") or next(iter(values.values()), fallback)


def pot_name(pot: BudgetPot | BallotPot, lang: str) -> str:
    return _text(pot.names, lang, f"#{pot.id}")


def title(project: BudgetProject | OnBallot, lang: str) -> str:
    return _text(project.titles, lang, project.code)


def summary(project: BudgetProject | OnBallot, lang: str) -> str:
    return _text(project.summaries, lang)


def limits_of(pot: BudgetPot | BallotPot) -> Limits:
    return Limits(
        kind=pot.ballot_kind,
        budget=pot.budget,
        min_projects=pot.min_projects,
        max_projects=pot.max_projects,
        min_share=pot.min_share,
        approval_limit=pot.approval_limit,
    )


# --- setting up (the command line and the Pabulib import) ------------------------------------------


def _check_optional(name: str, value: int | None, low: int, high: int) -> None:
    if value is not None and not low <= value <= high:
        raise PotError(f"{name} must be between {low} and {high}")


def check_pot(
    *,
    scope: str,
    district_id: int | None,
    neighborhood_id: int | None,
    budget: int,
    ballot_kind: str,
    min_projects: int | None,
    max_projects: int | None,
    min_share: int | None,
    approval_limit: int | None,
    rule: str,
    rule_param: int | None,
) -> None:
    """Raise `PotError` unless the values make a pot (creating one, or changing its rules)."""
    if scope not in SCOPES:
        raise PotError(f"scope must be one of {', '.join(SCOPES)}")
    if (scope == DISTRICT) != (district_id is not None) or (scope == NEIGHBORHOOD) != (
        neighborhood_id is not None
    ):
        raise PotError(
            "a district pot names its district, a neighborhood pot its neighborhood, a city pot none"
        )
    if ballot_kind not in (*BALLOT_KINDS, CUMULATIVE):
        raise PotError(f"ballot kind must be one of {', '.join(BALLOT_KINDS)}")
    if rule not in COUNTING_RULES:
        raise PotError(f"rule must be one of {', '.join(COUNTING_RULES)}")
    if rule in (rules.GREEDY_THRESHOLD, rules.TOP_K) and rule_param is None:
        raise PotError(f"the {rule} rule needs its parameter (a threshold, or k)")
    if budget < 0:
        raise PotError("the budget cannot be negative")
    _check_optional("min projects", min_projects, 0, 1000)
    _check_optional("max projects", max_projects, 1, 1000)
    _check_optional("min share", min_share, 0, 100)
    _check_optional("approval limit", approval_limit, 1, 1000)
    if min_projects and max_projects and min_projects > max_projects:
        raise PotError("min projects is more than max projects")


async def create_pot(
    session: AsyncSession,
    process: Process,
    *,
    names: Mapping[str, str],
    budget: int,
    scope: str = CITY,
    district_id: int | None = None,
    neighborhood_id: int | None = None,
    ballot_kind: str = KNAPSACK,
    min_projects: int | None = None,
    max_projects: int | None = None,
    min_share: int | None = None,
    approval_limit: int | None = None,
    rule: str = rules.GREEDY,
    rule_param: int | None = None,
    meta: Mapping[str, str] | None = None,
    actor_id: int | None = None,
) -> BudgetPot:
    """A pot in a process. A staff action: it writes the audit log."""
    check_pot(
        scope=scope, district_id=district_id, neighborhood_id=neighborhood_id, budget=budget,
        ballot_kind=ballot_kind, min_projects=min_projects, max_projects=max_projects, min_share=min_share,
        approval_limit=approval_limit, rule=rule, rule_param=rule_param,
    )  # fmt: skip
    pot = BudgetPot(
        process_id=process.id,
        names={lang: " ".join((names.get(lang) or names.get("en") or "").split()) for lang in LANGUAGES},
        scope=scope,
        district_id=district_id,
        neighborhood_id=neighborhood_id,
        budget=budget,
        ballot_kind=ballot_kind,
        min_projects=min_projects,
        max_projects=max_projects,
        min_share=min_share,
        approval_limit=approval_limit,
        rule=rule,
        rule_param=rule_param,
        meta=dict(meta or {}),
    )
    if not all(pot.names.values()):
        raise PotError("a pot needs a name")
    session.add(pot)
    await session.flush()
    await audit.record(
        session,
        "budget.pot",
        actor_id=actor_id,
        object_type="pot",
        object_id=pot.id,
        budget=budget,
        rule=rule,
    )
    return pot


async def add_project(
    session: AsyncSession,
    pot: BudgetPot,
    *,
    titles: Mapping[str, str],
    cost: int,
    code: str | None = None,
    summaries: Mapping[str, str] | None = None,
    idea_id: int | None = None,
    neighborhood_id: int | None = None,
    latitude: float | None = None,
    longitude: float | None = None,
    fields: Mapping[str, str] | None = None,
    status: str = PROPOSED,
    note: str | None = None,
    photo_file_id: str | None = None,
    building: bool = False,
) -> BudgetProject:
    """A project on a pot's ballot, whoever adds it (the chat's project form through
    `staff.create_project`, `meydan process add-project`, `add_from_idea`): refused with `VotingStarted`
    once the pot's process's voting has begun (`editable`, the predicate that also hides the buttons that
    add one). `building` is only for a process made whole in one go, its projects with it (the Pabulib
    import, the sample data): no one has seen its ballot yet, whatever its dates say."""
    if not building:
        process = await processes.get(session, pot.process_id)
        if process is None:
            raise PotError(f"no process {pot.process_id}")
        check_editable(process)
    if cost < 0:
        raise PotError("a cost cannot be negative")
    count = await session.scalar(select(func.count()).where(BudgetProject.pot_id == pot.id)) or 0
    project = BudgetProject(
        pot_id=pot.id,
        code=code or str(count + 1),
        titles=dict(titles),
        summaries=dict(summaries or {}),
        cost=cost,
        idea_id=idea_id,
        neighborhood_id=neighborhood_id,
        latitude=latitude,
        longitude=longitude,
        fields=dict(fields or {}),
        status=status,
        note=note,
        photo_file_id=photo_file_id,
        position=count,
    )
    session.add(project)
    await session.flush()
    return project


async def set_status(
    session: AsyncSession,
    project_id: int,
    status: str,
    reason: str | None = None,
    actor_id: int | None = None,
) -> BudgetProject:
    """Mark a project infeasible (with a reason), proposed again, or selected."""
    if status not in (PROPOSED, INFEASIBLE, SELECTED):
        raise PotError(f"unknown status {status!r}")
    project = await session.get(BudgetProject, project_id)
    if project is None:
        raise PotError("no such project")
    project.status, project.status_reason = status, reason
    await audit.record(
        session, "budget.project.status", actor_id=actor_id, object_type="budget_project",
        object_id=project_id, status=status,
    )  # fmt: skip
    return project


# --- who may vote where ----------------------------------------------------------------------------


def voting_window(process: Process | BallotProcess) -> processes.Window | None:
    return processes.window(process, rules.VOTING)


def voting_state(process: Process, now: datetime | None = None) -> str | None:
    span = voting_window(process)
    return span.state(now or utcnow()) if span is not None else None


def editable(process: Process, now: datetime | None = None) -> bool:
    """The one predicate for changing a process's pots and projects, adding a project included: the staff
    buttons that do it show exactly when it holds, and the services refuse otherwise (`check_editable`)."""
    return rules.can_edit(voting_state(process, now))


def check_editable(process: Process, now: datetime | None = None) -> None:
    if not editable(process, now):
        raise VotingStarted(f"process {process.id}")


def check_voting(process: Process | BallotProcess, now: datetime | None = None) -> None:
    """Raise unless the process's voting phase is current."""
    span = voting_window(process)
    if span is None:
        raise VotingNotOpen(None)
    state = span.state(now or utcnow())
    if state != processes.OPEN:
        raise VotingNotOpen(state, span.starts_at if state == processes.UPCOMING else span.ends_at)


async def district_of(session: AsyncSession, neighborhood_id: int | None) -> int | None:
    if neighborhood_id is None:
        return None
    return await session.scalar(select(Neighborhood.district_id).where(Neighborhood.id == neighborhood_id))


def _pots():  # noqa: ANN202 - pots with their process and its phases loaded
    return select(BudgetPot).options(joinedload(BudgetPot.process).selectinload(Process.phases))


def _is_open_to(pot: BudgetPot | BallotPot, hood: int | None, district: int | None) -> bool:
    """Whether the resident may vote in the pot (point ballots are imported for counting, not voted on
    in the chat)."""
    if pot.ballot_kind not in BALLOT_KINDS:
        return False
    return processes.applies_to(pot.process, hood) and rules.open_to(
        pot.scope, pot.district_id, pot.neighborhood_id, hood, district
    )


async def open_pots(session: AsyncSession, resident: Resident, now: datetime | None = None) -> list[OpenPot]:
    """The pots the resident may vote in now: their neighborhood's, their district's and the city's, in
    processes whose voting phase is current."""
    now = now or utcnow()
    hood = resident.neighborhood_id
    district = await district_of(session, hood)
    found = []
    for pot in (await session.scalars(_pots().order_by(BudgetPot.position, BudgetPot.id))).unique():
        span = voting_window(pot.process)
        if span is None or span.state(now) != processes.OPEN or not _is_open_to(pot, hood, district):
            continue
        found.append(pot)
    identity = residents.person_key(resident)
    voted = set(
        await session.scalars(
            select(BudgetBallot.pot_id).where(
                BudgetBallot.identity == identity, BudgetBallot.pot_id.in_([p.id for p in found])
            )
        )
    )
    order = {rules.NEIGHBORHOOD: 0, rules.DISTRICT: 1, rules.CITY: 2}
    found.sort(key=lambda p: (order.get(p.scope, 3), p.position, p.id))
    pending = {}
    for pot in found:
        if pot.process_id not in pending:
            pending[pot.process_id] = await verification.pending(session, resident, pot.process)
    return [OpenPot(pot, pot.id in voted, pending[pot.process_id]) for pot in found]


@dataclass(frozen=True)
class Gate:
    """A pot open to the resident now, the verification they must still go through (None: none), and
    the ballot they confirmed in it (None: none yet), read in the same statement as the pot."""

    pot: BallotPot
    pending: str | None
    ballot: ConfirmedBallot | None


# The statements every ballot press runs, built once: a statement built anew costs its construction
# and its cache key each time, a reused one neither. `_GATE` is over the tables, not the mapped classes:
# a select of mapped attributes runs through the ORM's execution even when it returns plain values (on
# SQLite this statement cost 128 µs more than a bare transaction so, and 50 µs over the tables), and it
# runs on the database's own library where the session allows (`storage.direct`).
_POT, _PROCESS, _PHASE, _BALLOT, _HOOD = (
    model.__table__ for model in (BudgetPot, Process, ProcessPhase, BudgetBallot, Neighborhood)
)
# the columns `_GATE` reads, named as the fields of the values it makes, in their order
_POT_COLUMNS = tuple(f.name for f in fields(BallotPot) if f.name != "process")
_PROCESS_COLUMNS = tuple(f.name for f in fields(BallotProcess) if f.name != "phases")
_BALLOT_COLUMNS = tuple(f.name for f in fields(ConfirmedBallot))


def _gate_columns(hood: ColumnElement[Any]) -> tuple[ColumnElement[Any], ...]:
    """What the gate reads, in `_gate_row`'s order: the district of the neighborhood `hood` last."""
    return (
        *(_POT.c[name] for name in _POT_COLUMNS),
        *(_PROCESS.c[name] for name in _PROCESS_COLUMNS),
        _PHASE.c.starts_at,
        _PHASE.c.ends_at,
        *(_BALLOT.c[name] for name in _BALLOT_COLUMNS),
        select(_HOOD.c.district_id).where(_HOOD.c.id == hood).scalar_subquery(),
    )


# the pot with its process and voting phase, joined to a FROM where the pot's id is bound `pot_id`
_POT_PROCESS = _POT.join(_PROCESS, _PROCESS.c.id == _POT.c.process_id).outerjoin(
    _PHASE, and_(_PHASE.c.process_id == _PROCESS.c.id, _PHASE.c.kind == rules.VOTING)
)
_GATE = Direct(
    select(*_gate_columns(bindparam("hood")))
    .select_from(
        _POT_PROCESS.outerjoin(
            _BALLOT, and_(_BALLOT.c.pot_id == _POT.c.id, _BALLOT.c.identity == bindparam("identity"))
        )
    )
    .where(_POT.c.id == bindparam("pot_id"))
)

# `_GATE` made in the person's read, for a ballot press of a pot (`bot.ui.budgets.callbacks`): the
# resident's neighborhood and person key (`residents.PERSON_KEY`) are the read's own columns
GATE_BESIDE = residents.Beside(
    "budgets.gate",
    _gate_columns(Resident.__table__.c.neighborhood_id),
    lambda read: read.outerjoin(_POT_PROCESS, _POT.c.id == bindparam("pot_id")).outerjoin(
        _BALLOT, and_(_BALLOT.c.pot_id == _POT.c.id, _BALLOT.c.identity == residents.PERSON_KEY)
    ),
    depends=("id", "identity", "neighborhood_id"),
)


def _gate_row(row: Sequence[Any]) -> tuple[BallotPot, ConfirmedBallot | None, int | None]:
    """The pot, the person's ballot and the district of their neighborhood from a row of `_GATE`."""
    pot_values, rest = row[: len(_POT_COLUMNS)], row[len(_POT_COLUMNS) :]
    process_values, rest = rest[: len(_PROCESS_COLUMNS)], rest[len(_PROCESS_COLUMNS) :]
    (starts, ends), ballot_values, district = rest[:2], rest[2:-1], rest[-1]
    phases = () if starts is None else (Phase(rules.VOTING, starts, ends),)
    pot = BallotPot(*pot_values, process=BallotProcess(*process_values, phases=phases))
    ballot = None if ballot_values[0] is None else ConfirmedBallot(*ballot_values)
    return pot, ballot, district


_ON_BALLOT = (
    select(
        BudgetProject.id,
        BudgetProject.code,
        cast(BudgetProject.titles, Text),
        cast(BudgetProject.summaries, Text),
        BudgetProject.cost,
        BudgetProject.photo_file_id,
        Neighborhood.name,
        District.name,
    )
    .outerjoin(Neighborhood, Neighborhood.id == BudgetProject.neighborhood_id)
    .outerjoin(District, District.id == Neighborhood.district_id)
    .where(BudgetProject.pot_id == bindparam("pot_id"), BudgetProject.status.in_(ON_BALLOT))
    .order_by(BudgetProject.position, BudgetProject.id)
)


async def gate(session: AsyncSession, resident: Resident, pot_id: int, now: datetime | None = None) -> Gate:
    """The pot when it is open to the resident and its voting is current (else a refusal), with the
    verification its process still asks of them (`rules.must_verify`, via `verification.pending`).
    Opening a pot shows the verification prompt when `pending` is set; `pot_for` refuses instead.

    One statement reads the pot, its process, the process's voting phase, the district of the
    resident's neighborhood and the person's confirmed ballot (by identity, so from any of their
    accounts), as plain values (`BallotPot`, `ConfirmedBallot`): every ballot screen and action starts
    here, and a press reads nothing else of the ballot (its projects are kept: `ballot_projects`; the
    choices of the confirmed ballot are read only when no draft stands in for them). A press of a pot's
    ballot has it read in the person's read, the update's first statement (`GATE_BESIDE`), and this
    takes those values where they stand (`residents.read_beside`)."""
    hood = resident.neighborhood_id
    more = {"hood": hood, "identity": residents.person_key(resident)}
    row = await residents.read_beside(session, GATE_BESIDE, {"pot_id": pot_id}, resident, _GATE, more)
    if row is None:  # no such pot
        raise NotYourPot(f"pot {pot_id}")
    pot, ballot, district = _gate_row(row)
    if not _is_open_to(pot, hood, district):  # district: None without a neighborhood
        raise NotYourPot(f"pot {pot_id}")
    check_voting(pot.process, now)
    return Gate(pot, await verification.pending(session, resident, pot.process), ballot)


async def pot_for(
    session: AsyncSession, resident: Resident, pot_id: int, now: datetime | None = None
) -> BallotPot:
    """The pot, when it is open to the resident, its voting is current and the person has verified as
    its process asks; else a refusal. Every ballot action (showing it, toggling, confirming) goes
    through here, so a forged or stale button meets the same check as the list that offered it, and
    nobody reaches a ballot, let alone confirms one, around the verification."""
    found = await gate(session, resident, pot_id, now)
    if found.pending is not None:
        raise NotVerified(found.pending)
    return found.pot


async def projects_of(session: AsyncSession, pot_id: int) -> list[BudgetProject]:
    """The projects on the pot's ballot, in their order."""
    return list(
        await session.scalars(
            select(BudgetProject)
            .options(joinedload(BudgetProject.place).joinedload(Neighborhood.district))
            .where(BudgetProject.pot_id == pot_id, BudgetProject.status.in_(ON_BALLOT))
            .order_by(BudgetProject.position, BudgetProject.id)
        )
    )


# the ballots this process read last, by pot: (its `ballot_version` then, its projects)
_BALLOTS: dict[int, tuple[int, tuple[OnBallot, ...]]] = {}
BALLOTS_KEPT = 64


async def ballot_projects(session: AsyncSession, pot: BallotPot) -> tuple[OnBallot, ...]:
    """`projects_of` as the ballot shows them. Every press shows them, so the process keeps the last
    ones read of each pot and reads them again only when the pot's `ballot_version` has changed (any
    change to a project or to a place's name renews it, in the transaction that makes the change:
    `storage.models`); the pot's row, with its version, is read by every press anyway. A ballot is
    shown while voting is open, and nothing on it can change then, so one read of 81 projects serves
    a process for the whole vote, where each press read them (831 µs on SQLite, a round trip and 81
    rows on PostgreSQL). At most `BALLOTS_KEPT` pots are kept, the oldest read leaving first.

    The rows are plain, not ORM objects, and titles and summaries come as their JSON text, decoded
    once per read (`_texts`)."""
    await flush_changes(session)  # this session's own changes first: they renew the version
    kept = _BALLOTS.get(pot.id)
    if kept is not None and kept[0] == pot.ballot_version:
        return kept[1]
    rows = await session.execute(_ON_BALLOT, {"pot_id": pot.id})
    projects = tuple(
        OnBallot(
            pid,
            code,
            _texts(titles),
            _texts(summaries),
            cost,
            photo,
            f"{hood}, {district}" if district else hood,
        )
        for pid, code, titles, summaries, cost, photo, hood, district in rows
    )
    _BALLOTS.pop(pot.id, None)
    while len(_BALLOTS) >= BALLOTS_KEPT:
        del _BALLOTS[next(iter(_BALLOTS))]
    _BALLOTS[pot.id] = (pot.ballot_version, projects)
    return projects


def _texts(encoded: str | None) -> Mapping[str, str]:
    """A language → text map from its JSON text, read-only, as the kept ballot is shared by every
    press that shows it."""
    decoded = json.loads(encoded) if encoded else None
    return MappingProxyType(decoded or {})


def cart_of(projects: Sequence[BudgetProject | OnBallot], chosen: Sequence[int]) -> Cart:
    costs = {p.id: p.cost for p in projects}
    return Cart.of(costs[p] for p in chosen if p in costs)


def _on_ballot(projects: Sequence[BudgetProject | OnBallot], chosen: Sequence[int]) -> tuple[int, ...]:
    """The draft's projects that are (still) on the ballot, each once, in the order chosen."""
    known = {p.id for p in projects}
    return tuple(dict.fromkeys(p for p in chosen if p in known))


# --- the ballot ------------------------------------------------------------------------------------


async def tick(
    session: AsyncSession,
    resident: Resident,
    pot_id: int,
    chosen: Sequence[int],
    project_id: int,
    on: bool,
    now: datetime | None = None,
) -> Ticked:
    """Put a project on a draft (`on`) or take it off; putting one on that breaks a limit is refused
    with the reason.

    What the person asked for, whatever the draft holds: the card's button says Add or Remove, so a
    press that comes twice (a double tap, or the card pressed again before its edit arrived) does it
    once. Adding a project already on the draft, or removing one that is not, changes nothing."""
    return ticked(await ballot_view(session, resident, pot_id, chosen, now), project_id, on)[0]


def ticked(view: BallotView, project_id: int, on: bool) -> tuple[Ticked, BallotView]:
    """`tick` on a ballot already read in this update: the change, and the ballot as it is after it."""
    project = view.project(project_id)
    if (project_id in view.chosen) == on:  # already so
        return Ticked(view.chosen, on, view.cart), view
    if on:
        refusal = rules.refusal_to_add(view.limits, view.cart, project.cost)
        if refusal is not None:
            raise refusal
        kept = (*view.chosen, project_id)
    else:
        kept = tuple(p for p in view.chosen if p != project_id)
    done = Ticked(kept, on, cart_of(view.projects, kept))
    return done, replace(view, chosen=done.chosen, cart=done.cart)


def numbered(view: BallotView, numbers: Sequence[str]) -> BallotView:
    """The ballot with exactly the projects whose numbers (codes) were typed, in that order, in place of
    the draft: `UnknownNumbers` names those not on this ballot; a list over a tick's limits (too many
    projects, over the budget) is refused whole (`rules.refusal_of_list`), as no tick would reach it."""
    by_number = {p.code.casefold(): p.id for p in view.projects}
    unknown = [n for n in numbers if n.casefold() not in by_number]
    if unknown:
        raise UnknownNumbers(unknown)
    chosen = tuple(dict.fromkeys(by_number[n.casefold()] for n in numbers))
    cart = cart_of(view.projects, chosen)
    refusal = rules.refusal_of_list(view.limits, cart)
    if refusal is not None:
        raise refusal
    return replace(view, chosen=chosen, cart=cart)


def new_receipt() -> str:
    return "".join(secrets.choice(rules.RECEIPT_ALPHABET) for _ in range(rules.RECEIPT_LENGTH))


def _insert(session: AsyncSession):  # noqa: ANN202 - the dialect's INSERT … ON CONFLICT
    return postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert


async def confirm(
    session: AsyncSession,
    resident: Resident,
    pot_id: int,
    chosen: Sequence[int],
    now: datetime | None = None,
) -> Confirmed:
    """Save the draft as the person's ballot, replacing the one they confirmed before (`confirm_view`);
    a chosen project that is not on the pot's ballot refuses the whole draft."""
    now = now or utcnow()
    view = await ballot_view(session, resident, pot_id, chosen, now)
    if len(view.chosen) != len(tuple(chosen)):
        raise NotOnBallot("a chosen project is not on this ballot (any more)")
    return await confirm_view(session, resident, view, now)


async def confirm_view(
    session: AsyncSession, resident: Resident, view: BallotView, now: datetime | None = None
) -> Confirmed:
    """Save the ballot read in this update (`ballot_view`, its checks made) with its draft.

    One statement makes or updates the ballot row (INSERT … ON CONFLICT (pot_id, identity) DO UPDATE),
    so two confirms by one person at once leave one ballot on both engines: on PostgreSQL the second
    waits for the first's row and then updates it; SQLite runs one writer at a time. The choices are
    replaced in the same transaction, so the ballot is always one confirm's choices, never a mix.
    """
    now = now or utcnow()
    refusal = rules.refusal_to_confirm(view.limits, view.cart)
    if refusal is not None:
        raise refusal
    ballot = await _upsert(session, view.pot.id, residents.person_key(resident), resident, now)
    await session.execute(delete(BudgetChoice).where(BudgetChoice.ballot_id == ballot.id))
    session.add_all(
        BudgetChoice(ballot_id=ballot.id, project_id=p, position=i) for i, p in enumerate(view.chosen)
    )
    await session.flush()
    return Confirmed(ballot, view.chosen, changed=view.ballot is not None)


async def _upsert(
    session: AsyncSession, pot_id: int, identity: str, resident: Resident, now: datetime
) -> BudgetBallot:
    """The ballot row, made or updated; it keeps where its voter lived when confirming (the turnout)."""
    for _attempt in range(5):  # a receipt code another ballot of the pot has: draw again
        values = {
            "resident_id": resident.id,
            "neighborhood_id": resident.neighborhood_id,
            "receipt": new_receipt(),
            "confirmed_at": now,
        }
        stmt = _insert(session)(BudgetBallot).values(pot_id=pot_id, identity=identity, **values)
        stmt = stmt.on_conflict_do_update(index_elements=["pot_id", "identity"], set_=values)
        try:
            async with session.begin_nested():
                return (
                    await session.scalars(
                        stmt.returning(BudgetBallot), execution_options={"populate_existing": True}
                    )
                ).one()
        except IntegrityError:
            continue
    raise BudgetError("no free receipt code")  # pragma: no cover - 31^8 codes


async def _choices(session: AsyncSession, ballot: BudgetBallot | ConfirmedBallot) -> tuple[int, ...]:
    """The projects of a confirmed ballot, in the order they were chosen."""
    chosen = await session.scalars(
        select(BudgetChoice.project_id)
        .where(BudgetChoice.ballot_id == ballot.id)
        .order_by(BudgetChoice.position)
    )
    return tuple(chosen)


async def ballot_count(session: AsyncSession, pot_id: int) -> int:
    return await session.scalar(select(func.count()).where(BudgetBallot.pot_id == pot_id)) or 0


async def pots_of(session: AsyncSession, process_id: int) -> list[BudgetPot]:
    return list(
        (
            await session.scalars(
                _pots().where(BudgetPot.process_id == process_id).order_by(BudgetPot.position, BudgetPot.id)
            )
        ).unique()
    )


@dataclass(frozen=True)
class BallotView:
    """Everything a ballot screen shows: the pot, its projects, the draft and the confirmed ballot."""

    pot: BallotPot
    projects: tuple[OnBallot, ...]
    limits: Limits
    chosen: tuple[int, ...]
    cart: Cart
    ballot: ConfirmedBallot | None
    closes: datetime | None

    def project(self, project_id: int) -> OnBallot:
        found = next((p for p in self.projects if p.id == project_id), None)
        if found is None:
            raise NotOnBallot(f"project {project_id} is not on pot {self.pot.id}")
        return found

    @property
    def picked(self) -> tuple[OnBallot, ...]:
        return tuple(self.project(p) for p in self.chosen)


async def ballot_view(
    session: AsyncSession,
    resident: Resident,
    pot_id: int,
    draft: Sequence[int] | None,
    now: datetime | None = None,
    *,
    opened: Gate | None = None,
) -> BallotView:
    """The pot as the resident sees it now; without a draft, the draft starts from their confirmed
    ballot (so changing a ballot starts from what they voted). `opened`: the pot's `gate`, already
    passed in this update for this person and pot (so it is not read twice)."""
    found = opened if opened is not None else await gate(session, resident, pot_id, now)
    if found.pending is not None:
        raise NotVerified(found.pending)
    pot, ballot = found.pot, found.ballot
    projects = await ballot_projects(session, pot)
    if draft is None:
        draft = await _choices(session, ballot) if ballot is not None else ()
    chosen = _on_ballot(projects, draft)
    span = voting_window(pot.process)
    return BallotView(
        pot=pot,
        projects=tuple(projects),
        limits=limits_of(pot),
        chosen=chosen,
        cart=cart_of(projects, chosen),
        ballot=ballot,
        closes=span.ends_at if span else None,
    )


async def district_by_key(session: AsyncSession, key: str) -> int | None:
    """A district's id by its stable key (for the command line)."""
    return await session.scalar(select(District.id).where(District.key == key, District.active))


async def add_from_idea(
    session: AsyncSession,
    pot: BudgetPot,
    idea_id: int,
    cost: int,
    titles: Mapping[str, str] | None = None,
    summaries: Mapping[str, str] | None = None,
) -> BudgetProject:
    """A project made from a published idea (or one already turned into a project): its title,
    description, place, location and photo, unless staff give their own title and summary."""
    from bot.services.ideas.rules import VISIBLE
    from storage.models import Idea

    idea = await session.get(Idea, idea_id)
    if idea is None or idea.status not in VISIBLE:
        raise PotError(f"idea {idea_id} is not published")
    project = await add_project(
        session,
        pot,
        titles=titles or dict.fromkeys(LANGUAGES, idea.title),
        summaries=summaries or dict.fromkeys(LANGUAGES, idea.description),
        cost=cost,
        idea_id=idea.id,
        neighborhood_id=idea.place_id or idea.neighborhood_id,
        latitude=idea.latitude,
        longitude=idea.longitude,
    )
    project.photo_file_id = idea.photo_file_id
    return project
