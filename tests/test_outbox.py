"""The outbox and its worker, through the sandbox emulator with its flood limits on where it matters:
429 holds up that chat only, 403 marks the resident unreachable and is not written to again, per-language
rendering, opt-outs and audiences, and a worker killed mid-run (`meydan worker`, SIGKILL) delivers to
everyone once started again, repeating at most what was in flight."""

from __future__ import annotations

import asyncio
import signal
import sys
import time
from collections import Counter
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from bot.services import lease, outbox, residents
from bot.services.geography import by_keys
from bot.telegram import make_bot
from scheduler.outbox import OutboxWorker, Pace
from storage.models import NotificationChoice, OutboxDelivery, Resident, utcnow
from tests.flows import command_env, stop_process

pytestmark = pytest.mark.timeout(120)


async def _resident(
    session, telegram_id: int, lang: str = "en", hood: tuple[str, str] = ("konak", "pazaryeri")
) -> int:  # noqa: ANN001
    place = await by_keys(session, *hood)
    viewer = await residents.get_or_create(session, telegram_id)
    viewer.resident.language = lang
    viewer.resident.neighborhood_id = place.id
    viewer.resident.consent_at = viewer.resident.onboarded_at = utcnow()
    await session.flush()
    return viewer.resident.id


def _worker(sandbox, sessions, **pace) -> OutboxWorker:  # noqa: ANN001
    bot = make_bot(sandbox.token, sandbox.url, max_retry_wait=0)
    return OutboxWorker(bot, sessions, pace=Pace(**pace), poll=0.2, claim_timeout=30)


async def _settled(sessions, timeout: float = 20.0) -> dict[str, int]:  # noqa: ANN001
    deadline = time.monotonic() + timeout
    while True:
        async with sessions() as session:
            rows = dict(
                (
                    await session.execute(
                        select(OutboxDelivery.status, func.count()).group_by(OutboxDelivery.status)
                    )
                ).all()
            )
        if not rows.get(outbox.PENDING) or time.monotonic() > deadline:
            return rows
        await asyncio.sleep(0.1)


async def _texts(person) -> list[str]:  # noqa: ANN001
    return [m.text for m in await person.bot_messages()]


async def test_a_429_holds_up_that_chat_only(sessions) -> None:  # noqa: ANN001
    from bot.sandbox.testing import Limits, Sandbox

    # one message every 3 s per chat, no burst: the second message to a chat is refused with 429
    limits = Limits(per_chat_rate=1 / 3, per_chat_burst=1, global_rate=1000.0, global_burst=1000)
    async with Sandbox(limits=limits) as sandbox:
        busy = await sandbox.person("Busy", language_code="en")
        others = [await sandbox.person(f"P{n}", language_code="en") for n in range(4)]
        async with sessions.begin() as session:
            for n in range(3):
                outbox.add(session, kind=outbox.NOTICE, chat_id=busy.id, lang="en", text=f"busy {n}")
            for person in others:
                outbox.add(session, kind=outbox.NOTICE, chat_id=person.id, lang="en", text="hello")
        # the worker's own pace allows bursts of 3 a chat: it meets the emulator's 429
        worker = _worker(sandbox, sessions, rate=100.0, per_chat_burst=3)
        started = time.monotonic()
        worker.start()
        try:
            deadline = time.monotonic() + 2.0
            for person in others:
                while "hello" not in await _texts(person):
                    assert time.monotonic() < deadline, "a free chat was held up"
                    await asyncio.sleep(0.05)
            others_done = time.monotonic() - started
            assert others_done < 2.0  # not held up by the busy chat's 3 s wait
            rows = await _settled(sessions, timeout=20.0)
        finally:
            await worker.stop()
            await worker.bot.session.close()
        assert rows == {outbox.SENT: 7}
        assert sorted(await _texts(busy)) == ["busy 0", "busy 1", "busy 2"]  # each once, none lost
        assert time.monotonic() - started >= 3.0  # the busy chat waited as told
        assert worker.stats.limited >= 1
        async with sessions() as session:
            ids = (await session.scalars(select(OutboxDelivery.telegram_message_id))).all()
        assert all(ids)  # Telegram's message ids are kept


async def test_a_blocked_recipient_is_marked_and_not_written_to_again(sessions, sandbox) -> None:  # noqa: ANN001
    blocker = await sandbox.person("Blocker", language_code="en")
    friend = await sandbox.person("Friend", language_code="en")
    async with sessions.begin() as session:
        blocker_id = await _resident(session, blocker.id)
        friend_id = await _resident(session, friend.id)
        for n in range(3):
            outbox.add(
                session,
                kind=outbox.NOTICE,
                chat_id=blocker.id,
                lang="en",
                text=f"n{n}",
                resident_id=blocker_id,
            )
        outbox.add(
            session, kind=outbox.NOTICE, chat_id=friend.id, lang="en", text="hi", resident_id=friend_id
        )
    blocker.timeout = 0.5  # no bot is listening for the block's update here: do not wait for it
    await blocker.block()
    worker = _worker(sandbox, sessions, rate=100.0)
    worker.start()
    try:
        rows = await _settled(sessions)
    finally:
        await worker.stop()
        await worker.bot.session.close()
    assert rows[outbox.SENT] == 1 and rows[outbox.UNREACHABLE] == 1 and rows[outbox.SKIPPED] == 2
    async with sessions() as session:
        assert (await session.get(Resident, blocker_id)).reachable is False
        tried = (
            await session.scalars(
                select(OutboxDelivery.attempts).where(OutboxDelivery.resident_id == blocker_id)
            )
        ).all()
    assert sorted(tried) == [0, 0, 1]  # one attempt met the 403; the others were never sent
    assert await _texts(friend) == ["hi"]
    # a later broadcast leaves the unreachable resident out of its audience
    async with sessions.begin() as session:
        _message, count = await outbox.broadcast(
            session, outbox.Audience("city"), kind=outbox.BROADCAST, default_lang="tr", texts={"en": "all"}
        )
    assert count == 1


async def test_each_recipient_reads_it_in_their_language_and_opt_outs_are_respected(
    sessions, sandbox
) -> None:  # noqa: ANN001
    from zoneinfo import ZoneInfo

    from bot.i18n import when

    people = {
        "tr": await sandbox.person("Ayşe", language_code="tr"),
        "en": await sandbox.person("John", language_code="en"),
    }
    off = await sandbox.person("Quiet", language_code="en")
    elsewhere = await sandbox.person("Far", language_code="en")
    at = utcnow() + timedelta(days=3)
    async with sessions.begin() as session:
        for lang, person in people.items():
            await _resident(session, person.id, lang)
        quiet = await _resident(session, off.id)
        session.add(NotificationChoice(resident_id=quiet, category="phases", enabled=False))
        await _resident(session, elsewhere.id, hood=("karsiyaka", "bostanli"))
        hood = await by_keys(session, "konak", "pazaryeri")
        # a message id in both catalogs, with a date shown in the city's timezone in each language
        _message, count = await outbox.broadcast(
            session,
            outbox.Audience("neighborhood", hood.id),
            kind=outbox.ANNOUNCEMENT,
            default_lang="tr",
            text="Decisions on my ideas",
            params={"closes": outbox.moment(at, "Europe/Istanbul")},
            category="phases",
        )
        assert count == 2  # the one who turned announcements off and the other neighborhood are left out
        outbox.add(
            session,
            kind=outbox.NOTICE,
            chat_id=people["tr"].id,
            lang="tr",
            text="{closes}",
            params={"closes": outbox.moment(at, "Europe/Istanbul")},
        )
    worker = _worker(sandbox, sessions, rate=100.0)
    worker.start()
    try:
        assert await _settled(sessions) == {outbox.SENT: 3}
    finally:
        await worker.stop()
        await worker.bot.session.close()
    assert await _texts(people["tr"]) == [
        "Fikirlerimle ilgili kararlar",
        when(at, ZoneInfo("Europe/Istanbul"), "tr"),
    ]
    assert await _texts(people["en"]) == ["Decisions on my ideas"]
    assert await _texts(off) == [] and await _texts(elsewhere) == []


async def test_a_worker_killed_mid_run_delivers_to_everyone_when_started_again(
    settings, database_url
) -> None:  # noqa: ANN001
    """`meydan worker` sends 150 messages at 10/s; it is killed (SIGKILL) mid-run; a second one
    started before its lease has expired is refused, and after the lease expires a new one takes over
    and delivers the rest: every person gets the message, and repeats stay within the in-flight batch.
    The kill comes first, so a slow start of the second process (a loaded machine) cannot let the
    first finish before it is killed."""
    from bot.sandbox.testing import Limits, Sandbox
    from storage.db import make_engine, make_session_factory

    people_count = 150
    limits = Limits(global_rate=10.0, global_burst=10)
    engine = make_engine(database_url)
    sessions = make_session_factory(engine)
    try:
        async with Sandbox(limits=limits) as sandbox:
            people = [await sandbox.person(f"P{n}", language_code="en") for n in range(people_count)]
            async with sessions.begin() as session:
                for person in people:
                    await _resident(session, person.id)
                _message, count = await outbox.broadcast(
                    session,
                    outbox.Audience("city"),
                    kind=outbox.BROADCAST,
                    default_lang="tr",
                    texts={"en": "news"},
                )
            assert count == people_count
            env = command_env(
                BOT_TOKEN=sandbox.token,
                TELEGRAM_API_URL=sandbox.url,
                DATABASE_URL=database_url,
                OUTBOX_RATE="10",
                SCHEDULER_LEASE_TTL="20",
                OUTBOX_CLAIM_TIMEOUT="3",
                LOG_LEVEL="WARNING",
            )

            async def start() -> asyncio.subprocess.Process:
                return await asyncio.create_subprocess_exec(
                    sys.executable,
                    "-m",
                    "bot",
                    "worker",
                    env=env,
                    stdout=asyncio.subprocess.PIPE,
                    stderr=asyncio.subprocess.PIPE,
                )

            async def sent() -> int:
                async with sessions() as session:
                    return await session.scalar(
                        select(func.count()).where(OutboxDelivery.status == outbox.SENT)
                    )

            async def received() -> Counter:
                got: Counter = Counter()
                for p in people:
                    got[p.id] += sum(m.text == "news" for m in await p.bot_messages())
                return +got

            first = await start()
            deadline = time.monotonic() + 30
            while sum((await received()).values()) < 5:
                assert time.monotonic() < deadline and first.returncode is None
                await asyncio.sleep(0.05)
            first.send_signal(signal.SIGKILL)
            await first.wait()
            before = sum((await received()).values())
            assert before < people_count  # killed mid-run
            recorded = await sent()
            # while its lease is still valid, a second scheduler is refused with a clear message
            second = await start()
            _out, err = await asyncio.wait_for(second.communicate(), 30)
            assert second.returncode == 2 and b"refusing to start" in err and b"holds the lease" in err
            # once the lease has expired, a new worker takes over and finishes
            async with sessions() as session:
                held = await lease.current(session)
            assert held is not None
            await asyncio.sleep(max(0.0, (held.expires_at - utcnow()).total_seconds()) + 0.5)
            third = await start()
            try:
                deadline = time.monotonic() + 40
                while len(await received()) < people_count:
                    assert time.monotonic() < deadline, (
                        third.returncode,
                        await third.stderr.read(2000) if third.returncode else b"",
                    )
                    await asyncio.sleep(0.2)
                rows = await _settled(sessions)
            finally:
                await stop_process(third)
            got = await received()
            assert set(got) == {p.id for p in people}  # nobody lost
            repeats = sum(got.values()) - people_count
            # only what the killed worker had sent but not yet recorded can go out twice
            assert repeats <= before - recorded
            assert rows == {outbox.SENT: people_count}
    finally:
        await engine.dispose()


async def test_a_worker_stopped_by_sigterm_releases_its_lease_and_the_next_takes_over_at_once(
    settings, database_url
) -> None:  # noqa: ANN001
    """`meydan worker` sends 100 messages at 10/s and gets SIGTERM mid-run: it exits 0 within its stop
    timeout, having written back every delivery it claimed (none left claimed) and released its lease,
    so a second worker starts at once (the lease would otherwise be held 60 s) and sends the rest:
    everyone gets the message exactly once."""
    from bot.sandbox.testing import Limits, Sandbox
    from storage.db import make_engine, make_session_factory

    people_count = 100
    engine = make_engine(database_url)
    sessions = make_session_factory(engine)
    try:
        async with Sandbox(limits=Limits(global_rate=100.0, global_burst=100)) as sandbox:
            people = [await sandbox.person(f"P{n}", language_code="en") for n in range(people_count)]
            async with sessions.begin() as session:
                for person in people:
                    await _resident(session, person.id)
                await outbox.broadcast(
                    session,
                    outbox.Audience("city"),
                    kind=outbox.BROADCAST,
                    default_lang="tr",
                    texts={"en": "news"},
                )
            env = command_env(
                BOT_TOKEN=sandbox.token,
                TELEGRAM_API_URL=sandbox.url,
                DATABASE_URL=database_url,
                OUTBOX_RATE="10",
                SCHEDULER_LEASE_TTL="60",
                WORKER_STOP_TIMEOUT="5",
            )

            async def start() -> asyncio.subprocess.Process:
                return await asyncio.create_subprocess_exec(
                    sys.executable, "-m", "bot", "worker", env=env,
                    stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
                )  # fmt: skip

            async def received() -> Counter:
                got: Counter = Counter()
                for p in people:
                    got[p.id] += sum(m.text == "news" for m in await p.bot_messages())
                return +got

            first = await start()
            try:
                deadline = time.monotonic() + 30
                while sum((await received()).values()) < 5:
                    assert time.monotonic() < deadline and first.returncode is None
                    await asyncio.sleep(0.05)
                stopped_at = time.monotonic()
                first.send_signal(signal.SIGTERM)
                assert await asyncio.wait_for(first.wait(), 20) == 0
                assert time.monotonic() - stopped_at < 8
            finally:
                await stop_process(first)
            err = (await first.stderr.read()).decode()
            assert "Traceback" not in err, err
            assert "stop requested" in err and "worker stopped" in err, err
            assert sum((await received()).values()) < people_count  # stopped mid-run
            async with sessions() as session:
                held = await lease.current(session)
                claimed = await session.scalar(
                    select(func.count()).where(OutboxDelivery.claimed_by.is_not(None))
                )
            assert held is not None and held.expires_at <= utcnow()  # released, not left to expire
            assert claimed == 0  # sent and recorded, or back in the table
            second = await start()
            try:
                deadline = time.monotonic() + 40
                while len(await received()) < people_count:
                    assert second.returncode is None, await second.stderr.read()
                    assert time.monotonic() < deadline
                    await asyncio.sleep(0.2)
                rows = await _settled(sessions)
                async with sessions() as session:
                    assert (await lease.current(session)).holder != held.holder
            finally:
                second.send_signal(signal.SIGINT)  # Ctrl+C: the same clean stop
                assert await asyncio.wait_for(second.wait(), 20) == 0
            got = await received()
            assert set(got) == {p.id for p in people} and set(got.values()) == {1}  # no repeats
            assert rows == {outbox.SENT: people_count}
    finally:
        await engine.dispose()


async def test_a_notice_is_written_with_its_decision_and_overtakes_a_broadcast(sessions) -> None:  # noqa: ANN001
    from bot.services import notices

    async with sessions.begin() as session:
        for n in range(5):
            await _resident(session, 900_000 + n)
        await outbox.broadcast(
            session, outbox.Audience("city"), kind=outbox.BROADCAST, default_lang="tr", texts={"en": "all"}
        )
    with pytest.raises(RuntimeError):  # a decision rolled back takes its notice with it
        async with sessions.begin() as session:
            notices.queue(session, notices.Notice(None, 900_001, "en", "rolled back"))
            raise RuntimeError
    async with sessions.begin() as session:
        notices.queue(session, notices.Notice(None, 900_002, "en", "urgent"))
    async with sessions() as session:
        texts = (await session.scalars(select(outbox.OutboxMessage.text))).all()
    assert "rolled back" not in texts and "urgent" in texts
    async with sessions.begin() as session:
        [first] = await outbox.claim(session, "w", limit=1, claim_timeout=30)
        message = await session.get(outbox.OutboxMessage, first.message_id)
    assert message.text == "urgent"  # the notice goes before the 5 broadcast deliveries queued earlier


async def test_two_workers_share_the_outbox_without_sending_twice(sessions, sandbox) -> None:  # noqa: ANN001
    people = [await sandbox.person(f"P{n}", language_code="en") for n in range(60)]
    async with sessions.begin() as session:
        for person in people:
            await _resident(session, person.id)
        await outbox.broadcast(
            session, outbox.Audience("city"), kind=outbox.BROADCAST, default_lang="tr", texts={"en": "once"}
        )
    workers = [_worker(sandbox, sessions, rate=200.0) for _ in range(2)]
    for worker in workers:
        worker.batch = 10  # small claims, so the two interleave
        worker.start()
    try:
        assert await _settled(sessions) == {outbox.SENT: 60}
    finally:
        for worker in workers:
            await worker.stop()
            await worker.bot.session.close()
    for person in people:
        assert await _texts(person) == ["once"]
    assert all(worker.stats.sent > 0 for worker in workers)  # both took part


async def test_a_transient_failure_is_retried_with_backoff(sessions) -> None:  # noqa: ANN001
    """A network error: the delivery waits 2 s (then 4, 8 … s) and is sent on the next attempt."""
    from types import SimpleNamespace

    from aiogram.exceptions import TelegramNetworkError
    from aiogram.methods import SendMessage

    class FlakyBot:
        def __init__(self) -> None:
            self.calls = 0

        async def send_message(self, chat_id: int, text: str, **kwargs: object) -> SimpleNamespace:
            self.calls += 1
            if self.calls == 1:
                raise TelegramNetworkError(SendMessage(chat_id=chat_id, text=text), "connection reset")
            return SimpleNamespace(message_id=42)

    async with sessions.begin() as session:
        outbox.add(session, kind=outbox.STAFF, chat_id=-100123, lang="en", text="post")
    bot = FlakyBot()
    worker = OutboxWorker(bot, sessions, pace=Pace(rate=100.0), poll=0.1)  # type: ignore[arg-type]
    started = time.monotonic()
    worker.start()
    try:
        deadline = time.monotonic() + 2.0
        while True:  # the first attempt failed and is put off
            async with sessions() as session:
                row = await session.scalar(select(OutboxDelivery))
            if row.attempts == 1 or time.monotonic() > deadline:
                break
            await asyncio.sleep(0.05)
        assert row.status == outbox.PENDING and row.error == "TelegramNetworkError"
        assert (row.not_before - utcnow()).total_seconds() > 1.0
        assert await _settled(sessions) == {outbox.SENT: 1}
    finally:
        await worker.stop()
    assert bot.calls == 2 and time.monotonic() - started >= 2.0
    async with sessions() as session:
        row = await session.scalar(select(OutboxDelivery))
    assert row.telegram_message_id == 42 and row.attempts == 2 and row.error is None
