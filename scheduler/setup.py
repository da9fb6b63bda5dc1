"""The APScheduler instance the bot runs, and the housekeeping jobs every deployment has."""

from __future__ import annotations

from datetime import UTC

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.middlewares.dedup import purge_processed

MISFIRE_GRACE = 6 * 3600


def make_scheduler(session_factory: async_sessionmaker[AsyncSession]) -> AsyncIOScheduler:
    scheduler = AsyncIOScheduler(
        timezone=UTC,
        job_defaults={"coalesce": True, "misfire_grace_time": MISFIRE_GRACE, "max_instances": 1},
    )
    scheduler.add_job(
        purge_processed,
        "interval",
        hours=6,
        args=[session_factory],
        id="housekeeping:processed-updates",
        replace_existing=True,
    )
    return scheduler
