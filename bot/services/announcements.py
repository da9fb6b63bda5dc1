"""Phase announcements: a phase's opening and closing, told to the residents the process concerns.

Each announcement is an outbox message with the key `phase:<phase id>:<edge>:<unix time>`, unique in the
table: whoever writes it first (the scheduled job, or the catch-up after downtime) announces it, once.
A change of the phase's date gives a new key, so the new date is announced. An announcement that no
longer makes sense is dropped: an opening once the phase has closed, a closing more than `LATE_CLOSE`
after the fact. The audience is the process's scope (the whole city: every onboarded resident; a
neighborhood: its residents) minus those who turned "phases" off; each reads it in their own language,
with dates in the city's timezone.
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
from storage.models import OutboxMessage, Process, ProcessPhase, utcnow

CATEGORY = "phases"
OPEN, CLOSE = "open", "close"
LATE_CLOSE = timedelta(hours=6)

TEXTS: dict[tuple[str, str], str] = {
    ("submission", OPEN): N_(
        "📣 Idea submission is open in <b>{process}</b>: share your ideas for your neighborhood or the "
        "whole city until {closes}."
    ),
    ("submission", CLOSE): N_(
        "🔒 Idea submission in <b>{process}</b> has closed. Thank you to everyone who shared an idea!"
    ),
}
LINKS: dict[tuple[str, str], tuple[tuple[str, int, str], ...]] = {
    ("submission", OPEN): (("ideas", 0, N_("✍️ Share an idea")),),
}


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
    at = phase.starts_at if edge == OPEN else phase.ends_at
    if at <= phase.process.created_at:
        return False
    if edge == OPEN:
        return phase.starts_at <= now < phase.ends_at
    return phase.ends_at <= now < phase.ends_at + LATE_CLOSE


def _edges(phase: ProcessPhase) -> list[Edge]:
    return [
        Edge(phase.id, edge, phase.starts_at if edge == OPEN else phase.ends_at)
        for edge in (OPEN, CLOSE)
        if (phase.kind, edge) in TEXTS
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
    found = Edge(phase.id, edge, phase.starts_at if edge == OPEN else phase.ends_at)
    if await outbox.exists_key(session, found.key):
        return None
    city = await current_city(session)
    if city is None:
        return None
    process = phase.process
    audience = (
        outbox.Audience("neighborhood", process.neighborhood_id)
        if process.scope != "city" and process.neighborhood_id is not None
        else outbox.Audience("city")
    )
    params = {
        "process": outbox.per_language(
            {k: escape(v) for k, v in (process.names or {}).items()} or {"en": process.key}
        ),
        "closes": outbox.moment(phase.ends_at, city.timezone),
    }
    _message, count = await outbox.broadcast(
        session,
        audience,
        kind=outbox.ANNOUNCEMENT,
        default_lang=city.default_language,
        text=TEXTS[(phase.kind, edge)],
        params=params,
        links=LINKS.get((phase.kind, edge), ()),
        category=CATEGORY,
        key=found.key,
    )
    return count
