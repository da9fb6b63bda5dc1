"""The scheduler lease: one row per database saying which process runs the scheduler and the outbox
worker, and until when. The holder renews it periodically; a second process is refused while it is
valid and takes over once it has expired (the holder is gone). Conditional updates, so it holds on
SQLite and PostgreSQL alike."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage.models import SchedulerLease, utcnow

SCHEDULER = "scheduler"


@dataclass(frozen=True)
class Holder:
    holder: str
    expires_at: datetime


class LeaseHeld(RuntimeError):
    """Another process holds the lease."""

    def __init__(self, held: Holder) -> None:
        super().__init__(
            f"another scheduler ({held.holder}) holds the lease until {held.expires_at:%Y-%m-%d %H:%M:%S} UTC"
        )
        self.held = held


async def acquire(
    sessions: async_sessionmaker[AsyncSession], holder: str, ttl: float, name: str = SCHEDULER
) -> Holder:
    """Take (or renew) the lease for `ttl` seconds; raises LeaseHeld while another holder's is valid."""
    now = utcnow()
    expires = now + timedelta(seconds=ttl)
    async with sessions.begin() as session:
        taken = await session.execute(
            update(SchedulerLease)
            .where(
                SchedulerLease.name == name,
                or_(SchedulerLease.holder == holder, SchedulerLease.expires_at < now),
            )
            .values(holder=holder, expires_at=expires, acquired_at=now)
            .execution_options(synchronize_session=False)
        )
        if taken.rowcount == 1:
            return Holder(holder, expires)
        current = await session.get(SchedulerLease, name)
        if current is not None:
            raise LeaseHeld(Holder(current.holder, current.expires_at))
    try:
        async with sessions.begin() as session:
            session.add(SchedulerLease(name=name, holder=holder, acquired_at=now, expires_at=expires))
    except IntegrityError:  # someone else inserted it at the same moment
        return await acquire(sessions, holder, ttl, name)
    return Holder(holder, expires)


async def renew(
    sessions: async_sessionmaker[AsyncSession], holder: str, ttl: float, name: str = SCHEDULER
) -> bool:
    """Extend our lease; False when it is no longer ours (it expired and another process took it)."""
    now = utcnow()
    async with sessions.begin() as session:
        result = await session.execute(
            update(SchedulerLease)
            .where(SchedulerLease.name == name, SchedulerLease.holder == holder)
            .values(expires_at=now + timedelta(seconds=ttl))
            .execution_options(synchronize_session=False)
        )
    return result.rowcount == 1


async def release(sessions: async_sessionmaker[AsyncSession], holder: str, name: str = SCHEDULER) -> None:
    """Give the lease up at once (a clean stop), so the next process need not wait for it to expire."""
    async with sessions.begin() as session:
        await session.execute(
            update(SchedulerLease)
            .where(SchedulerLease.name == name, SchedulerLease.holder == holder)
            .values(expires_at=utcnow() - timedelta(seconds=1))
            .execution_options(synchronize_session=False)
        )


async def current(session: AsyncSession, name: str = SCHEDULER) -> Holder | None:
    row = await session.scalar(select(SchedulerLease).where(SchedulerLease.name == name))
    return Holder(row.holder, row.expires_at) if row else None
