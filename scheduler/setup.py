"""The APScheduler instance the bot runs, its jobs, the lease that keeps it alone on its database, and
the outbox worker that runs next to it (`meydan run` by default, or `meydan worker` on its own).

Jobs are derived from the database with explicit ids (`replace_existing=True`): the housekeeping, the
lease renewal, and one date job per phase opening or closing (`phase:<id>:open|close`), re-derived every
minute so new or changed phases are picked up. At start and at every re-derivation, an opening or closing
that passed while no scheduler ran is announced at once if it still makes sense; the outbox key makes
each announcement happen once whoever writes it first. The close of each budgeting process's voting has
its counting job (`results:count:<phase id>`, `scheduler/results.py`); pots due and not counted (missed
while no scheduler ran, voting opened again, staff asking for a count again) are counted by
`results:count`, started by the re-derivation or woken by `results.on_recount`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import UTC, timedelta

from apscheduler.events import EVENT_JOB_ERROR, EVENT_JOB_EXECUTED, EVENT_JOB_SUBMITTED, JobEvent
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.middlewares.dedup import purge_processed
from bot.services import announcements, lease
from bot.services import outbox as outbox_service
from bot.services.budgets import results
from scheduler import broadcasts as broadcast_jobs
from scheduler import results as counting_job
from scheduler.outbox import OutboxWorker, Pace, worker_name
from storage.models import utcnow

log = logging.getLogger(__name__)

MISFIRE_GRACE = 6 * 3600
LEASE_TTL = 30.0  # seconds; renewed every third of it
SYNC_EVERY = 60  # seconds between two derivations of the phase jobs
STOP_TIMEOUT = 10.0  # seconds a stop waits for the jobs and the sends in hand


def make_scheduler(session_factory: async_sessionmaker[AsyncSession]) -> AsyncIOScheduler:
    scheduler = AsyncIOScheduler(
        timezone=UTC,
        job_defaults={"coalesce": True, "misfire_grace_time": MISFIRE_GRACE, "max_instances": 1},
    )
    scheduler.add_job(
        purge_processed,
        "interval",
        minutes=10,  # the kept answers live about an hour (`dedup.ANSWER_KEEP`)
        args=[session_factory],
        id="housekeeping:processed-updates",
        replace_existing=True,
    )
    return scheduler


async def announce(
    sessions: async_sessionmaker[AsyncSession], signal: outbox_service.Signal, phase_id: int, edge: str
) -> None:
    """The job of one phase edge: write its announcement to the outbox (once) and wake the worker."""
    try:
        async with sessions.begin() as session:
            count = await announcements.announce(session, phase_id, edge)
    except IntegrityError:  # another writer announced it at the same moment
        return
    if count is not None:
        log.info("phase announced phase=%s edge=%s recipients=%s", phase_id, edge, count)
        signal.wake()


def count_soon(
    scheduler: AsyncIOScheduler,
    sessions: async_sessionmaker[AsyncSession],
    signal: outbox_service.Signal,
    lock: asyncio.Lock,
    delay: float = 0.0,
) -> None:
    """Run the counting job now (or in `delay` seconds), unless a run is already waiting."""
    scheduler.add_job(
        counting_job.count_due,
        "date",
        run_date=utcnow() + timedelta(seconds=delay),
        args=[sessions, signal, lock],
        id="results:count",
        replace_existing=True,
    )


async def sync_phase_jobs(
    scheduler: AsyncIOScheduler,
    sessions: async_sessionmaker[AsyncSession],
    signal: outbox_service.Signal,
    lock: asyncio.Lock | None = None,
) -> None:
    """One date job per future phase edge; missed edges that still make sense are announced now. One
    counting job per close of voting to come; pots due now are counted by a job started now."""
    lock = lock or asyncio.Lock()
    async with sessions() as session:
        future, missed = await announcements.upcoming(session)
        closes = await results.voting_closes(session)
        due = await results.pots_to_count(session)
        lately = await results.recently_closed(session)
    for edge in missed:
        await announce(sessions, signal, edge.phase_id, edge.edge)
    wanted = set()
    for edge in future:
        wanted.add(edge.job_id)
        scheduler.add_job(
            announce,
            "date",
            run_date=edge.at,
            args=[sessions, signal, edge.phase_id, edge.edge],
            id=edge.job_id,
            replace_existing=True,
        )
    for phase_id, at in closes:
        wanted.add(f"results:count:{phase_id}")
        scheduler.add_job(
            counting_job.count_due,
            "date",
            run_date=at,
            args=[sessions, signal, lock],
            id=f"results:count:{phase_id}",
            replace_existing=True,
        )
    if (due or lately) and scheduler.get_job("results:count") is None:
        count_soon(scheduler, sessions, signal, lock)
    for job in scheduler.get_jobs():
        if job.id.startswith(("phase:", "results:count:")) and job.id not in wanted:
            job.remove()


class Scheduling:
    """The scheduler, the lease and the outbox worker of one process. `start()` raises `LeaseHeld`
    while another process holds the lease; losing the lease later (this process stalled past its expiry
    and another took over) stops this one at once. `stop()` is the clean stop: no new job runs and no new
    outbox batch is claimed, the jobs and sends in hand get up to `stop_timeout` seconds (then they are
    cancelled: a job's transaction is rolled back and done again by the next scheduler, a send is
    claimed again once its claim expires), and the lease is released so the next process takes over at
    once. `stopped` is set once a stop, clean or not, is over."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        bot_factory,  # noqa: ANN001 - () -> aiogram Bot for the worker (its own session: 429s are ours)
        signal: outbox_service.Signal,
        *,
        pace: Pace | None = None,
        lease_ttl: float = LEASE_TTL,
        sync_every: float = SYNC_EVERY,
        claim_timeout: float = 60.0,
        poll: float = 1.0,
        stop_timeout: float = STOP_TIMEOUT,
    ) -> None:
        self.sessions = sessions
        self.bot_factory = bot_factory
        self.signal = signal
        self.pace = pace
        self.lease_ttl = lease_ttl
        self.sync_every = sync_every
        self.claim_timeout = claim_timeout
        self.poll = poll
        self.stop_timeout = stop_timeout
        self.holder = worker_name()
        self.scheduler = make_scheduler(sessions)
        self.scheduler.add_listener(
            self._job_event, EVENT_JOB_SUBMITTED | EVENT_JOB_EXECUTED | EVENT_JOB_ERROR
        )
        self._jobs_running = 0
        self._jobs_done = asyncio.Event()
        self._jobs_done.set()
        self.stopped = asyncio.Event()
        self._stopping: asyncio.Task[None] | None = None
        self.worker: OutboxWorker | None = None
        self._bot = None
        self.running = False
        self.counting = asyncio.Lock()
        self._unwake = None

    async def start(self) -> None:
        await lease.acquire(self.sessions, self.holder, self.lease_ttl)
        self.running = True
        now = utcnow()
        self.scheduler.add_job(
            self._renew,
            "interval",
            seconds=self.lease_ttl / 3,
            id="lease:renew",
            replace_existing=True,
            misfire_grace_time=int(self.lease_ttl),
        )
        self.scheduler.add_job(
            sync_phase_jobs,
            "interval",
            seconds=self.sync_every,
            args=[self.scheduler, self.sessions, self.signal, self.counting],
            id="phases:sync",
            replace_existing=True,
            next_run_time=now + timedelta(milliseconds=10),
        )
        self.scheduler.start()
        self._unwake = results.on_recount(
            lambda: count_soon(self.scheduler, self.sessions, self.signal, self.counting, delay=1.0)
        )
        self._bot = self.bot_factory()
        self.worker = OutboxWorker(
            self._bot,
            self.sessions,
            self.signal,
            pace=self.pace,
            claim_timeout=self.claim_timeout,
            poll=self.poll,
            name=self.holder[:64],
        )
        self.worker.start()
        self.scheduler.add_job(
            broadcast_jobs.release,
            "interval",
            seconds=broadcast_jobs.RELEASE_EVERY,
            args=[self.sessions, self.signal],
            id="broadcasts:release",
            replace_existing=True,
            next_run_time=now + timedelta(milliseconds=10),
        )
        self.scheduler.add_job(
            broadcast_jobs.report,
            "interval",
            seconds=broadcast_jobs.PROGRESS_JOB_EVERY,
            args=[self.sessions, self._bot],
            id="broadcasts:progress",
            replace_existing=True,
        )
        log.info("scheduler started lease_ttl=%s", self.lease_ttl)

    def _job_event(self, event: JobEvent) -> None:
        """Counts the jobs running (the listener is called on the event loop, or from the executor's
        done callback, which runs there too)."""
        if event.code == EVENT_JOB_SUBMITTED:
            self._jobs_running += 1
            self._jobs_done.clear()
        else:
            self._jobs_running = max(0, self._jobs_running - 1)
            if not self._jobs_running:
                self._jobs_done.set()

    async def _renew(self) -> None:
        try:
            ours = await lease.renew(self.sessions, self.holder, self.lease_ttl)
        except Exception as exc:  # the database is away: try again at the next renewal
            log.warning("lease renewal failed error=%s", type(exc).__name__)
            return
        if not ours:
            log.error("scheduler lease lost to another process: stopping this scheduler and outbox worker")
            # in a task of its own, as this job is one of those the stop cancels; the other jobs are
            # cancelled at once (the new holder runs them), the sends in flight are waited for
            self._stopping = asyncio.create_task(self._stop(release=False, jobs=False))

    async def stop(self, *, release: bool = True, timeout: float | None = None) -> None:
        """Stop cleanly (see the class); `timeout` defaults to `stop_timeout`. A second call waits for
        the stop under way."""
        if self._stopping is None:
            if not self.running:
                return
            self._stopping = asyncio.create_task(self._stop(release=release, timeout=timeout))
        await asyncio.shield(self._stopping)

    async def _stop(self, *, release: bool, jobs: bool = True, timeout: float | None = None) -> None:
        timeout = self.stop_timeout if timeout is None else timeout
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        self.running = False
        if self._unwake is not None:
            self._unwake()
            self._unwake = None
        if self.scheduler.running:
            self.scheduler.pause()  # no new job runs; those running go on
            if jobs and self._jobs_running and timeout > 0:
                log.info("scheduler stopping: waiting for jobs=%s", self._jobs_running)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._jobs_done.wait(), timeout)
            self.scheduler.shutdown(wait=False)  # cancels the jobs still running
        if self.worker is not None:
            await self.worker.stop(timeout=max(0.0, deadline - loop.time()))
        if self._bot is not None:
            await self._bot.session.close()
        if release:
            try:
                await lease.release(self.sessions, self.holder)
            except Exception as exc:
                log.warning("lease release failed error=%s", type(exc).__name__)
        log.info("scheduler stopped lease_released=%s", release)
        self.stopped.set()
