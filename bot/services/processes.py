"""Participation processes and their phases.

A process has a name in each language, a scope (the whole city or one neighborhood) and a timeline of
phases, one `ProcessPhase` row each (draft → submission → review → voting → results → implementation).
The ideas feature reads the submission phase; budgeting adds its own phases, pots and ballots next to it.
Times are stored in UTC and typed by staff in the city's timezone.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import bindparam, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import joinedload

from bot.config import LANGUAGES
from bot.services import audit
from bot.text import slug
from storage.models import Neighborhood, Process, ProcessPhase, utcnow

PHASES = ("draft", "submission", "review", "voting", "results", "implementation")
SUBMISSION = "submission"
CITY, NEIGHBORHOOD = "city", "neighborhood"
KEY_PATTERN = re.compile(r"^[a-z0-9][a-z0-9-]{1,63}$")
NAME_MAX = 200
LIMIT_MIN, LIMIT_MAX = 1, 50
DEFAULT_LIMIT = 3
KEY_ATTEMPTS = 5  # a derived key taken by another process created at the same moment: the next one
DATE_FORMATS = ("%Y-%m-%d %H:%M", "%Y-%m-%d", "%d.%m.%Y %H:%M", "%d.%m.%Y")

UPCOMING, OPEN, CLOSED = "upcoming", "open", "closed"


class ProcessError(ValueError):
    """A process cannot be created or changed as asked; the message says why (in English, for the CLI)."""


class BadKey(ProcessError):
    pass


class KeyTaken(ProcessError):
    pass


class BadName(ProcessError):
    pass


class BadDate(ProcessError):
    pass


class BadWindow(ProcessError):
    pass


class InPast(ProcessError):
    pass


class BadLimit(ProcessError):
    pass


class BadPhase(ProcessError):
    pass


@dataclass(frozen=True)
class Window:
    """The span of one phase, in UTC."""

    starts_at: datetime
    ends_at: datetime

    def state(self, now: datetime) -> str:
        if now < self.starts_at:
            return UPCOMING
        if now >= self.ends_at:
            return CLOSED
        return OPEN


@dataclass(frozen=True)
class Outlook:
    """What a resident of one neighborhood can do about submitting ideas right now."""

    open: list[Process]
    next_opening: Process | None
    last_closed: Process | None


def parse_local(text: str, zone: ZoneInfo) -> datetime:
    """A date typed in the city's timezone ("2026-12-01 09:00", "01.12.2026 09:00", "2026-12-01") in UTC."""
    value = " ".join(text.split())
    for fmt in DATE_FORMATS:
        try:
            naive = datetime.strptime(value, fmt)
            return naive.replace(tzinfo=zone).astimezone(ZoneInfo("UTC"))
        except (ValueError, OverflowError):  # not this format, or beyond what a datetime holds (0001-01-01)
            continue
    raise BadDate(f"{text!r} is not a date like 2026-12-01 09:00")


def name(process: Process | Named, lang: str) -> str:
    names = process.names or {}
    return names.get(lang) or names.get("en") or next(iter(names.values()), process.key)


def window(process: Process, kind: str = SUBMISSION) -> Window | None:
    for phase in process.phases:
        if phase.kind == kind:
            return Window(phase.starts_at, phase.ends_at)
    return None


def submission_state(process: Process, now: datetime | None = None) -> str | None:
    span = window(process)
    return span.state(now or utcnow()) if span else None


def applies_to(process: Process, neighborhood_id: int | None) -> bool:
    return process.scope == CITY or process.neighborhood_id == neighborhood_id


def _loaded():  # noqa: ANN202 - a select with the phases and the neighborhood loaded, in one statement
    return select(Process).options(
        joinedload(Process.phases), joinedload(Process.neighborhood).joinedload(Neighborhood.district)
    )


# read on most updates of a feature that belongs to a process, so built once
_BY_ID = _loaded().where(Process.id == bindparam("process_id"))
_FOR_NEIGHBORHOOD = (
    _loaded()
    .where(or_(Process.scope == CITY, Process.neighborhood_id == bindparam("neighborhood_id")))
    .order_by(Process.created_at.desc(), Process.id.desc())
)


async def get(session: AsyncSession, process_id: int) -> Process | None:
    return (await session.scalars(_BY_ID, {"process_id": process_id})).unique().first()


@dataclass(frozen=True, slots=True)
class Named:
    """A process as a screen that only names it needs it (`named`)."""

    id: int
    key: str
    names: Mapping[str, str]


_PROCESSES = Process.__table__
# every page of a list of ideas names its process: over the table, as plain values (`get`, with the
# phases and the places as ORM objects, cost a page 175 µs on SQLite, this 5)
_NAMED = select(_PROCESSES.c.id, _PROCESSES.c.key, _PROCESSES.c.names).where(
    _PROCESSES.c.id == bindparam("process_id")
)


async def named(session: AsyncSession, process_id: int) -> Named | None:
    row = (await session.execute(_NAMED, {"process_id": process_id})).first()
    return None if row is None else Named(*row)


async def by_key(session: AsyncSession, key: str) -> Process | None:
    return (await session.scalars(_loaded().where(Process.key == key))).unique().first()


async def all_processes(session: AsyncSession) -> list[Process]:
    stmt = _loaded().order_by(Process.created_at.desc(), Process.id.desc())
    return list((await session.scalars(stmt)).unique())


async def for_neighborhood(session: AsyncSession, neighborhood_id: int | None) -> list[Process]:
    """Processes a resident of this neighborhood takes part in, newest first."""
    return list((await session.scalars(_FOR_NEIGHBORHOOD, {"neighborhood_id": neighborhood_id})).unique())


async def outlook(session: AsyncSession, neighborhood_id: int | None, now: datetime | None = None) -> Outlook:
    now = now or utcnow()
    open_now: list[Process] = []
    upcoming: list[tuple[datetime, Process]] = []
    closed: list[tuple[datetime, Process]] = []
    for process in await for_neighborhood(session, neighborhood_id):
        span = window(process)
        if span is None:
            continue
        state = span.state(now)
        if state == OPEN:
            open_now.append(process)
        elif state == UPCOMING:
            upcoming.append((span.starts_at, process))
        else:
            closed.append((span.ends_at, process))
    open_now.sort(key=lambda p: window(p).ends_at)  # type: ignore[union-attr]
    next_opening = min(upcoming, key=lambda pair: pair[0])[1] if upcoming else None
    last_closed = max(closed, key=lambda pair: pair[0])[1] if closed else None
    return Outlook(open=open_now, next_opening=next_opening, last_closed=last_closed)


def clean_name(text: str, lang: str = "") -> str:
    """One name, its spaces tidied: not empty, at most `NAME_MAX` characters."""
    value = " ".join((text or "").split())
    if not value:
        raise BadName(f"the {lang} name is empty")
    if len(value) > NAME_MAX:
        raise BadName(f"the {lang} name is longer than {NAME_MAX} characters")
    return value


def clean_names(names: Mapping[str, str]) -> dict[str, str]:
    return {lang: clean_name(names.get(lang) or "", lang) for lang in LANGUAGES}


def check_limit(limit: int) -> int:
    if not LIMIT_MIN <= limit <= LIMIT_MAX:
        raise BadLimit(f"the idea limit must be between {LIMIT_MIN} and {LIMIT_MAX}")
    return limit


def check_window(opens_at: datetime, closes_at: datetime) -> None:
    if closes_at <= opens_at:
        raise BadWindow("submission must close after it opens")


def check_opening(opens_at: datetime, zone: ZoneInfo, now: datetime | None = None) -> None:
    """An opening typed by staff: today (a moment already past today opens at once) or later."""
    today = (now or utcnow()).astimezone(zone).date()
    if opens_at.astimezone(zone).date() < today:
        raise InPast("submission cannot open on a day that has passed")


def check_closing(opens_at: datetime, closes_at: datetime, now: datetime | None = None) -> None:
    """A closing typed by staff: in the future, and after the opening."""
    if closes_at <= (now or utcnow()):
        raise InPast("a phase cannot close in the past")
    check_window(opens_at, closes_at)


async def free_key(session: AsyncSession, text: str) -> str:
    """A key derived from `text` that no process uses yet: "lets-design-izmir", "lets-design-izmir-2"…"""
    base = (slug(re.sub(r"['’]", "", text))[:56].strip("-") or "process").ljust(2, "0")
    key, n = base, 1
    while await session.scalar(select(Process.id).where(Process.key == key)) is not None:
        n += 1
        key = f"{base}-{n}"
    return key


async def _inserted(session: AsyncSession, process: Process) -> bool:
    """Insert in a savepoint: False when its key was taken at the same moment by another transaction
    (two staff members creating processes of the same name at once), and nothing of it is kept."""
    try:
        async with session.begin_nested():
            session.add(process)
    except IntegrityError:
        return False
    return True


async def create(
    session: AsyncSession,
    *,
    names: Mapping[str, str],
    opens_at: datetime,
    closes_at: datetime,
    key: str | None = None,
    neighborhood_id: int | None = None,
    idea_limit: int = DEFAULT_LIMIT,
    actor_id: int | None = None,
) -> Process:
    """A process with its submission phase. A staff action: it writes the audit log. Without a `key`
    one is derived from the English name, the next free one if another process takes it meanwhile."""
    cleaned = clean_names(names)
    check_window(opens_at, closes_at)
    check_limit(idea_limit)
    if key is not None:
        if not KEY_PATTERN.match(key):
            raise BadKey(f"key {key!r}: use 2-64 characters a-z, 0-9 and -")
        if await session.scalar(select(Process.id).where(Process.key == key)) is not None:
            raise KeyTaken(f"key {key!r} is already used by another process")
    if neighborhood_id is not None:
        hood = await session.get(Neighborhood, neighborhood_id)
        if hood is None or not hood.active:
            raise ProcessError("no such neighborhood")
    for _attempt in range(KEY_ATTEMPTS if key is None else 1):
        process = Process(
            key=key or await free_key(session, cleaned["en"]),
            names=cleaned,
            scope=NEIGHBORHOOD if neighborhood_id is not None else CITY,
            neighborhood_id=neighborhood_id,
            idea_limit=idea_limit,
            created_by=actor_id,
            phases=[ProcessPhase(kind=SUBMISSION, starts_at=opens_at, ends_at=closes_at)],
        )
        if await _inserted(session, process):
            break
    else:  # taken again and again by processes created at the same moment
        raise KeyTaken(f"key {process.key!r} is already used by another process")
    await audit.record(
        session,
        "process.create",
        actor_id=actor_id,
        object_type="process",
        object_id=process.id,
        key=process.key,
        scope=process.scope,
        neighborhood_id=neighborhood_id,
        opens_at=opens_at.isoformat(),
        closes_at=closes_at.isoformat(),
        idea_limit=idea_limit,
    )
    return await get(session, process.id)  # type: ignore[return-value]


async def set_phase(
    session: AsyncSession,
    process: Process,
    kind: str,
    starts_at: datetime,
    ends_at: datetime,
    *,
    actor_id: int | None = None,
) -> ProcessPhase:
    """Add a phase to a process, or move an existing one (later features add their phases this way)."""
    if kind not in PHASES:
        raise BadPhase(f"unknown phase {kind!r}; one of {', '.join(PHASES)}")
    check_window(starts_at, ends_at)
    phase = next((p for p in process.phases if p.kind == kind), None)
    if phase is None:
        phase = ProcessPhase(kind=kind, starts_at=starts_at, ends_at=ends_at)
        process.phases.append(phase)
    else:
        phase.starts_at, phase.ends_at = starts_at, ends_at
    await session.flush()
    await audit.record(
        session,
        "process.phase",
        actor_id=actor_id,
        object_type="process",
        object_id=process.id,
        kind=kind,
        starts_at=starts_at.isoformat(),
        ends_at=ends_at.isoformat(),
    )
    return phase
