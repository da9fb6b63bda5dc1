"""The scheduler lease (one scheduler per database; a second is refused, then takes over once the lease
has expired) and the phase announcements derived from the database: once each, even across restarts,
missed ones announced when the scheduler is back, and none for a phase already closed."""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from bot.i18n import when
from bot.services import announcements, lease, outbox, processes, residents
from bot.services.geography import by_keys
from bot.telegram import make_bot
from scheduler.outbox import Pace
from scheduler.setup import Scheduling
from storage.models import OutboxDelivery, OutboxMessage, utcnow

pytestmark = pytest.mark.timeout(60)


async def test_a_second_scheduler_is_refused_and_takes_over_after_expiry(sessions) -> None:  # noqa: ANN001
    await lease.acquire(sessions, "first", ttl=1.0)
    with pytest.raises(lease.LeaseHeld) as refused:
        await lease.acquire(sessions, "second", ttl=1.0)
    assert "first" in str(refused.value) and "holds the lease" in str(refused.value)
    assert await lease.renew(sessions, "first", ttl=1.0)  # the holder renews
    await asyncio.sleep(1.2)  # the first is gone: its lease runs out
    await lease.acquire(sessions, "second", ttl=5.0)
    assert not await lease.renew(sessions, "first", ttl=1.0)  # the first, back, has lost it
    with pytest.raises(lease.LeaseHeld):
        await lease.acquire(sessions, "first", ttl=1.0)
    await lease.release(sessions, "second")  # a clean stop hands it over at once
    await lease.acquire(sessions, "first", ttl=1.0)


async def test_two_schedulings_on_one_database(sessions, sandbox) -> None:  # noqa: ANN001
    def scheduling() -> Scheduling:
        return Scheduling(
            sessions,
            lambda: make_bot(sandbox.token, sandbox.url, max_retry_wait=0),
            outbox.Signal(),
            lease_ttl=1.5,
        )

    first, second = scheduling(), scheduling()
    await first.start()
    try:
        with pytest.raises(lease.LeaseHeld):
            await second.start()
        await asyncio.sleep(1.0)  # renewed every 0.5 s: still refused after its first ttl would be over
        with pytest.raises(lease.LeaseHeld):
            await second.start()
    finally:
        await first.stop()
    await second.start()  # released on stop: taken at once
    await second.stop()


async def _people(sandbox, sessions):  # noqa: ANN001, ANN202
    """Two residents of Pazaryeri (Turkish, English), one of Bostanlı, one who turned announcements off."""
    made = {}
    async with sessions.begin() as session:
        for name, lang, hood in (
            ("Ayşe", "tr", ("konak", "pazaryeri")),
            ("John", "en", ("konak", "pazaryeri")),
            ("Deniz", "tr", ("karsiyaka", "bostanli")),
            ("Quiet", "en", ("konak", "pazaryeri")),
        ):
            person = await sandbox.person(name, language_code=lang)
            viewer = await residents.get_or_create(session, person.id)
            viewer.resident.language = lang
            viewer.resident.neighborhood_id = (await by_keys(session, *hood)).id
            viewer.resident.consent_at = viewer.resident.onboarded_at = utcnow()
            await session.flush()
            if name == "Quiet":
                await residents.set_notification(session, viewer.resident.id, "phases", False)
            made[name] = person
    return made


async def _process(
    sessions, *, created_ago: timedelta, opens_in: timedelta, closes_in: timedelta, hood=None
) -> int:  # noqa: ANN001
    now = utcnow()
    async with sessions.begin() as session:
        hood_id = (await by_keys(session, *hood)).id if hood else None
        process = await processes.create(
            session,
            key=f"p{time.monotonic_ns()}",
            names={"tr": "Birlikte Tasarlayalım", "en": "Design Together"},
            opens_at=now + opens_in,
            closes_at=now + closes_in,
            neighborhood_id=hood_id,
        )
        process.created_at = now - created_ago
        return process.id


def _scheduling(sessions, sandbox, signal=None) -> Scheduling:  # noqa: ANN001
    return Scheduling(
        sessions,
        lambda: make_bot(sandbox.token, sandbox.url, max_retry_wait=0),
        signal or outbox.Signal(),
        pace=Pace(rate=100.0),
        poll=0.1,
    )


async def _phase_jobs(scheduling: Scheduling, within: float = 1.0) -> list[str]:
    """The phase jobs once the first sync (10 ms after the start, behind the start's other jobs on a
    busy loop) has planned some, or after `within` seconds."""
    deadline = time.monotonic() + within
    while True:
        planned = [j.id for j in scheduling.scheduler.get_jobs() if j.id.startswith("phase:")]
        if planned or time.monotonic() > deadline:
            return planned
        await asyncio.sleep(0.02)


async def _announcements(person) -> list[str]:  # noqa: ANN001
    return [
        m.text
        for m in await person.bot_messages()
        if "Idea submission" in m.text or "fikir toplama" in m.text
    ]


async def _quiet(sessions, timeout: float = 10.0) -> None:  # noqa: ANN001
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        async with sessions() as session:
            left = await session.scalar(select(func.count()).where(OutboxDelivery.status == outbox.PENDING))
        if not left:
            return
        await asyncio.sleep(0.1)
    raise AssertionError("the outbox did not drain")


async def test_an_opening_missed_during_downtime_is_announced_once(sessions, sandbox) -> None:  # noqa: ANN001
    import handlers

    handlers.routers()  # as `meydan worker` does: the features register how their buttons open
    people = await _people(sandbox, sessions)
    # submission opened an hour ago, while no scheduler ran (the process was created two days ago)
    process_id = await _process(
        sessions, created_ago=timedelta(days=2), opens_in=timedelta(hours=-1), closes_in=timedelta(days=5)
    )
    async with sessions() as session:
        closes = processes.window(await processes.get(session, process_id)).ends_at
    for restart in range(2):  # the scheduler comes back, then restarts again
        scheduling = _scheduling(sessions, sandbox)
        await scheduling.start()
        try:
            if restart == 0:  # a loaded machine may take a while over the first sync
                await people["John"].wait_for(lambda m: "Idea submission is open" in m.text, timeout=15)
            await asyncio.sleep(0.5)
            await _quiet(sessions)
        finally:
            await scheduling.stop()
    for name in ("Ayşe", "John", "Deniz"):  # a citywide process: every onboarded resident, once
        assert len(await _announcements(people[name])) == 1, name
    assert await _announcements(people["Quiet"]) == []
    john = (await people["John"].bot_messages())[-1]
    assert "Design Together" in john.text and "✍️ Share an idea" in [
        b["text"] for r in john.inline_keyboard for b in r
    ]
    ayse = (await people["Ayşe"].bot_messages())[-1]
    assert (
        "Birlikte Tasarlayalım" in ayse.text and when(closes, ZoneInfo("Europe/Istanbul"), "tr") in ayse.text
    )
    assert when(closes, ZoneInfo("Europe/Istanbul"), "en") in john.text
    async with sessions() as session:
        assert await session.scalar(select(func.count()).select_from(OutboxMessage)) == 1


async def test_a_coming_opening_is_announced_when_due_to_its_neighborhood(sessions, sandbox) -> None:  # noqa: ANN001
    people = await _people(sandbox, sessions)
    process_id = await _process(
        sessions,
        created_ago=timedelta(0),
        opens_in=timedelta(seconds=4),  # still ahead once a loaded machine has started the scheduler
        closes_in=timedelta(days=5),
        hood=("konak", "pazaryeri"),
    )
    async with sessions() as session:
        phase_id = (await processes.get(session, process_id)).phases[0].id
    scheduling = _scheduling(sessions, sandbox)
    await scheduling.start()
    try:
        planned = await _phase_jobs(scheduling, within=3.0)
        assert planned == [f"phase:{phase_id}:open", f"phase:{phase_id}:close"]
        assert await _announcements(people["John"]) == []  # not yet
        message = await people["John"].wait_for(lambda m: "Idea submission is open" in m.text, timeout=10)
        assert "Design Together" in message.text
        await asyncio.sleep(0.5)
    finally:
        await scheduling.stop()
    assert len(await _announcements(people["Ayşe"])) == 1
    assert await _announcements(people["Deniz"]) == []  # another neighborhood
    assert await _announcements(people["Quiet"]) == []


async def test_a_phase_already_closed_is_not_announced(sessions, sandbox) -> None:  # noqa: ANN001
    people = await _people(sandbox, sessions)
    await _process(
        sessions, created_ago=timedelta(days=10), opens_in=timedelta(days=-5), closes_in=timedelta(days=-1)
    )
    async with sessions() as session:
        future, missed = await announcements.upcoming(session)
    assert future == [] and missed == []
    scheduling = _scheduling(sessions, sandbox)
    await scheduling.start()
    try:
        await asyncio.sleep(0.5)
    finally:
        await scheduling.stop()
    for person in people.values():
        assert await person.bot_messages() == []
    async with sessions() as session:
        assert await session.scalar(select(func.count()).select_from(OutboxMessage)) == 0


async def test_meydan_run_refuses_to_start_while_another_scheduler_holds_the_lease(
    sessions, database_url
) -> None:  # noqa: ANN001
    import sys

    from tests.flows import command_env

    await lease.acquire(sessions, "other-host:123", ttl=600)
    env = command_env(
        BOT_TOKEN="123456:ABCDEFGHIJKLMNOP",
        DATABASE_URL=database_url,
        TELEGRAM_API_URL="http://127.0.0.1:9",  # never reached: the refusal comes first
    )
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "run",
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    _out, err = await asyncio.wait_for(proc.communicate(), 45)
    assert proc.returncode == 2
    assert b"refusing to start: another scheduler (other-host:123) holds the lease" in err
    assert b"SCHEDULER=false" in err


async def test_a_closing_missed_within_hours_is_announced_and_its_opening_is_not(sessions, sandbox) -> None:  # noqa: ANN001
    people = await _people(sandbox, sessions)
    await _process(
        sessions, created_ago=timedelta(days=3), opens_in=timedelta(days=-2), closes_in=timedelta(hours=-1)
    )
    scheduling = _scheduling(sessions, sandbox)
    await scheduling.start()
    try:
        await people["John"].wait_for(lambda m: "has closed" in m.text, timeout=15)
        await asyncio.sleep(0.5)
        await _quiet(sessions)
    finally:
        await scheduling.stop()
    texts = [m.text for m in await people["John"].bot_messages()]
    assert texts == [
        "🔒 Idea submission in Design Together has closed. Thank you to everyone who shared an idea!"
    ]


async def test_a_scheduler_that_lost_its_lease_stops(sessions, sandbox) -> None:  # noqa: ANN001
    from sqlalchemy import update

    from storage.models import SchedulerLease

    scheduling = Scheduling(
        sessions,
        lambda: make_bot(sandbox.token, sandbox.url, max_retry_wait=0),
        outbox.Signal(),
        lease_ttl=1.5,
    )
    await scheduling.start()
    try:
        async with sessions.begin() as session:  # it stalled past its expiry and another one took over
            await session.execute(update(SchedulerLease).values(holder="another"))
        await asyncio.wait_for(scheduling.stopped.wait(), 5)
        assert not scheduling.running and not scheduling.scheduler.running
        assert scheduling.worker is not None and not scheduling.signal.worker_running
    finally:
        await scheduling.stop()
    async with sessions() as session:
        assert (await lease.current(session)).holder == "another"  # left to the new holder
