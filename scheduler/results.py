"""The counting job: when a process's voting closes, each of its pots is counted off the update path,
once, and "the results are published" goes to those who could vote once every pot is counted.

For each pot: the election is read in a short session, the tally runs in a worker thread with no session
or transaction open, and the outcome is stored in a short write transaction (INSERT … ON CONFLICT DO
NOTHING, so a small pot counted meanwhile by its first viewer keeps one row). Which pots are due is
derived from the database (`results.pots_to_count`: voting closed, no current stored outcome), so a
restart, a scheduler taking over the lease, or staff asking for a count again find them; one run at a
time in a process (a lock), one scheduler per database (the lease).
"""

from __future__ import annotations

import asyncio
import logging
from html import escape

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.i18n import N_
from bot.services import announcements, notices
from bot.services import outbox as outbox_service
from bot.services.budgets import results
from storage.models import Resident

log = logging.getLogger(__name__)

RECOUNTED = N_("🔁 The results of <b>{pot}</b> have been counted again.")
SEE_RESULTS = N_("📊 See the results")


async def count_pot(sessions: async_sessionmaker[AsyncSession], pot_id: int) -> results.Counted | None:
    """Count one pot: read, tally outside any transaction, store; None when there was nothing to do."""
    async with sessions() as session:
        pot = await results.load_pot(session, pot_id)
        if pot is None or pot_id not in await results.pots_to_count(session):
            return None
        prepared = await results.prepare(session, pot)
    outcome = await asyncio.to_thread(results.tally_of, prepared)
    async with sessions.begin() as session:
        counted = await results.store(session, prepared, outcome)
        if counted is not None and counted.asked_by is not None:
            await _tell(session, counted.asked_by, prepared)
    return counted


async def _tell(session: AsyncSession, resident_id: int, prepared: results.Prepared) -> None:
    """The staff member who asked for a count again hears that it is done."""
    staff = await session.get(Resident, resident_id)
    if staff is None or staff.telegram_id is None or staff.deleted_at is not None:
        return
    names = prepared.pot.names or {}
    lang = staff.language or "tr"
    pot = escape(names.get(lang) or names.get("en") or next(iter(names.values()), str(prepared.pot.id)))
    notices.queue(
        session,
        notices.Notice(
            staff.id,
            staff.telegram_id,
            lang,
            RECOUNTED,
            {"pot": pot},
            links=(notices.Link("results", 0, SEE_RESULTS),),
        ),
    )


async def count_due(
    sessions: async_sessionmaker[AsyncSession], signal: outbox_service.Signal, lock: asyncio.Lock
) -> int:
    """Count every pot due, then announce the results of each process now fully counted; returns how
    many pots this run counted."""
    async with lock:
        async with sessions() as session:
            due = await results.pots_to_count(session)
        counted: set[int] = set()
        for pot_id in due:
            try:
                done = await count_pot(sessions, pot_id)
            except Exception as exc:  # one pot's failure does not stop the others; the next run retries
                log.warning("counting failed pot=%s error=%s", pot_id, type(exc).__name__)
                continue
            if done is not None:
                counted.add(pot_id)
                log.info("pot counted pot=%s", pot_id)
        announced = await announce_counted(sessions, due)
        if counted or announced:
            signal.wake()
        return len(counted)


async def announce_counted(sessions: async_sessionmaker[AsyncSession], pot_ids: list[int]) -> int:
    """ "The results are published" for each process of `pot_ids`, or whose voting closed lately (a pot
    counted by its first viewer), once all its pots are counted (once: its key)."""
    async with sessions() as session:
        process_ids = sorted(
            {*await results.processes_of(session, pot_ids), *await results.recently_closed(session)}
        )
    told = 0
    for process_id in process_ids:
        try:
            async with sessions.begin() as session:
                closes = await results.fully_counted(session, process_id)
                if closes is None:
                    continue
                count = await announcements.announce_results(session, process_id, closes)
        except IntegrityError:  # announced by another writer at the same moment
            continue
        if count is not None:
            told += 1
            log.info("results announced process=%s recipients=%s", process_id, count)
    return told
