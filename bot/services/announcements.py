"""Phase announcements: a phase's opening and closing, told to the residents the process concerns; for a
budgeting process also voting's opening, a reminder the day before it closes (to those who have not voted)
and the publication of its results (to those who could vote, once every pot is counted).

Each announcement is an outbox message with the key `phase:<phase id>:<edge>:<unix time>`, unique in the
table: whoever writes it first (the scheduled job, or the catch-up after downtime) announces it, once.
A change of the phase's date gives a new key, so the new date is announced. An announcement that no
longer makes sense is dropped: an opening once the phase has closed, a closing more than `LATE_CLOSE`
after the fact. The audience is the process's scope (the whole city: every onboarded resident; a
neighborhood: its residents) — for voting, the union of its pots' areas (a neighborhood pot: its
residents; a district pot: the district's; a city pot: everyone) within the process's scope, one message
so nobody hears it twice — minus those who turned "phases" off and the unreachable; each reads it in
their own language, with dates in the city's timezone. A reminder makes sense from the day before voting
closes until it closes; "results are published" within `LATE_RESULTS` of the close (the key
`results:<process id>:<close time>` makes it once; a re-count is not announced again).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from html import escape

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from bot.i18n import N_
from bot.services import outbox
from bot.services.city import current_city
from storage.models import BudgetPot, OutboxMessage, Process, ProcessPhase, utcnow

CATEGORY = "phases"
OPEN, CLOSE, REMIND = "open", "close", "remind"
LATE_CLOSE = timedelta(hours=6)
REMIND_BEFORE = timedelta(days=1)
LATE_RESULTS = timedelta(days=3)
VOTING = "voting"
RESULTS_TEXT = N_("📊 The results of <b>{process}</b> are published: see which projects were selected.")
RESULTS_LINKS = (("results", 0, N_("📊 See the results")),)

TEXTS: dict[tuple[str, str], str] = {
    ("submission", OPEN): N_(
        "📣 Idea submission is open in <b>{process}</b>: share your ideas for your neighborhood or the "
        "whole city until {closes}."
    ),
    ("submission", CLOSE): N_(
        "🔒 Idea submission in <b>{process}</b> has closed. Thank you to everyone who shared an idea!"
    ),
    (VOTING, OPEN): N_(
        "🗳 Voting is open in <b>{process}</b>: vote now on how the budget is spent, until {closes}."
    ),
    (VOTING, REMIND): N_(
        "⏰ Voting in <b>{process}</b> closes tomorrow ({closes}). You have not voted yet: vote now."
    ),
}
_VOTE = (("budgets", 0, N_("🗳 Vote now")),)
LINKS: dict[tuple[str, str], tuple[tuple[str, int, str], ...]] = {
    ("submission", OPEN): (("ideas", 0, N_("✍️ Share an idea")),),
    (VOTING, OPEN): _VOTE,
    (VOTING, REMIND): _VOTE,
}


def edge_at(phase: ProcessPhase, edge: str) -> datetime:
    if edge == OPEN:
        return phase.starts_at
    if edge == REMIND:
        return phase.ends_at - REMIND_BEFORE
    return phase.ends_at


@dataclass(frozen=True)
class Edge:
    """A phase's opening or closing: when it happens, and the key that makes its announcement once."""

    phase_id: int
    edge: str
    at: datetime

    @property
    def key(self) -> str:
        return f"phase:{self.phase_id}:{self.edge}:{int(self.at.timestamp())}"

    @property
    def job_id(self) -> str:
        return f"phase:{self.phase_id}:{self.edge}"


def makes_sense(phase: ProcessPhase, edge: str, now: datetime) -> bool:
    """Whether announcing `edge` of `phase` at `now` still helps anyone: it has happened, it is current,
    and it happened to the process (one created already open was opened by staff, not by the clock)."""
    at = edge_at(phase, edge)
    if at <= phase.process.created_at:
        return False
    if edge == OPEN:  # once the reminder is due, it says it instead (to those who have not voted)
        until = edge_at(phase, REMIND) if has_reminder(phase) else phase.ends_at
        return phase.starts_at <= now < until
    if edge == REMIND:
        return has_reminder(phase) and at <= now < phase.ends_at
    return phase.ends_at <= now < phase.ends_at + LATE_CLOSE


def has_reminder(phase: ProcessPhase) -> bool:
    """A phase with a reminder text lasting more than a day (a shorter one's opening said it all)."""
    return (phase.kind, REMIND) in TEXTS and edge_at(phase, REMIND) > phase.starts_at


def _edges(phase: ProcessPhase) -> list[Edge]:
    return [
        Edge(phase.id, edge, edge_at(phase, edge))
        for edge in (OPEN, REMIND, CLOSE)
        if (phase.kind, edge) in TEXTS and (edge != REMIND or has_reminder(phase))
    ]


async def upcoming(session: AsyncSession, now: datetime | None = None) -> tuple[list[Edge], list[Edge]]:
    """(edges still to come, edges past that should have been announced and were not)."""
    now = now or utcnow()
    phases = (
        await session.scalars(
            select(ProcessPhase)
            .where(
                ProcessPhase.kind.in_({kind for kind, _ in TEXTS}),
                ProcessPhase.ends_at > now - LATE_CLOSE,
            )
            .options(selectinload(ProcessPhase.process))
        )
    ).all()
    edges = [e for phase in phases for e in _edges(phase)]
    keys = {e.key for e in edges}
    done = set(
        (await session.scalars(select(OutboxMessage.key).where(OutboxMessage.key.in_(keys)))).all()
        if keys
        else ()
    )
    by_id = {phase.id: phase for phase in phases}
    future = [e for e in edges if e.at > now and e.at > by_id[e.phase_id].process.created_at]
    missed = [
        e for e in edges if e.at <= now and e.key not in done and makes_sense(by_id[e.phase_id], e.edge, now)
    ]
    return future, missed


async def announce(
    session: AsyncSession, phase_id: int, edge: str, now: datetime | None = None
) -> int | None:
    """Write the announcement of `edge` of phase `phase_id` to the outbox, once; returns the number of
    recipients, or None when there is nothing to announce (not yet, no longer, or done already)."""
    now = now or utcnow()
    phase = await session.scalar(
        select(ProcessPhase)
        .where(ProcessPhase.id == phase_id)
        .options(selectinload(ProcessPhase.process).selectinload(Process.neighborhood))
    )
    if phase is None or (phase.kind, edge) not in TEXTS or not makes_sense(phase, edge, now):
        return None
    found = Edge(phase.id, edge, edge_at(phase, edge))
    if await outbox.exists_key(session, found.key):
        return None
    process = phase.process
    if phase.kind == VOTING:
        audience = await voters(session, process, without_ballot=edge == REMIND)
        if audience is None:
            return None
    else:
        audience = (
            outbox.Audience("neighborhood", process.neighborhood_id)
            if process.scope != "city" and process.neighborhood_id is not None
            else outbox.Audience("city")
        )
    return await _write(
        session,
        process,
        phase.ends_at,
        audience,
        TEXTS[(phase.kind, edge)],
        LINKS.get((phase.kind, edge), ()),
        found.key,
    )


async def voters(
    session: AsyncSession, process: Process, *, without_ballot: bool = False
) -> outbox.Audience | None:
    """Who may vote in the process: the union of its pots' areas, within the process's own scope (a
    neighborhood's process: its residents, when a pot is open to them); `without_ballot`: minus those
    with a ballot in any of its pots. None when the process has no pot."""
    pots = (await session.scalars(select(BudgetPot).where(BudgetPot.process_id == process.id))).all()
    if not pots:
        return None
    ids = tuple(sorted(p.id for p in pots)) if without_ballot else ()
    if process.scope != "city" and process.neighborhood_id is not None:
        hood = process.neighborhood_id
        return outbox.Audience("neighborhood", hood, without_ballot_in=ids)
    if any(p.scope == "city" for p in pots):
        return outbox.Audience("city", without_ballot_in=ids)
    return outbox.Audience(
        "areas",
        neighborhoods=tuple(
            sorted({p.neighborhood_id for p in pots if p.scope == "neighborhood" and p.neighborhood_id})
        ),
        districts=tuple(sorted({p.district_id for p in pots if p.scope == "district" and p.district_id})),
        without_ballot_in=ids,
    )


def results_key(process_id: int, closes: datetime) -> str:
    return f"results:{process_id}:{int(closes.timestamp())}"


async def announce_results(
    session: AsyncSession, process_id: int, closes: datetime, now: datetime | None = None
) -> int | None:
    """ "The results are published" to those who could vote, once (its key); only within `LATE_RESULTS`
    of the close of voting, and not for a process created after its voting closed (an import)."""
    now = now or utcnow()
    process = await session.get(Process, process_id)
    if process is None or closes <= process.created_at or not closes <= now < closes + LATE_RESULTS:
        return None
    key = results_key(process_id, closes)
    if await outbox.exists_key(session, key):
        return None
    audience = await voters(session, process)
    if audience is None:
        return None
    return await _write(session, process, closes, audience, RESULTS_TEXT, RESULTS_LINKS, key)


async def _write(
    session: AsyncSession,
    process: Process,
    closes: datetime,
    audience: outbox.Audience,
    text: str,
    links: tuple[tuple[str, int, str], ...],
    key: str,
) -> int | None:
    city = await current_city(session)
    if city is None:
        return None
    params = {
        "process": outbox.per_language(
            {k: escape(v) for k, v in (process.names or {}).items()} or {"en": process.key}
        ),
        "closes": outbox.moment(closes, city.timezone),
    }
    _message, count = await outbox.broadcast(
        session,
        audience,
        kind=outbox.ANNOUNCEMENT,
        default_lang=city.default_language,
        text=text,
        params=params,
        links=links,
        category=CATEGORY,
        key=key,
    )
    return count
