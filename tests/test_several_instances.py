"""What several bot instances and workers share: the outbox drained by the lease holder alone (so the
overall rate holds however many `meydan worker` or `meydan run` processes start), every delivery sent
once, throttling kept in Redis across instances, and a person's lock held by the instance handling
their update for as long as it takes."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

import pytest

from bot.services import lease, outbox
from bot.telegram import make_bot
from scheduler.outbox import Pace
from scheduler.setup import Scheduling
from tests.conftest import TEST_DATABASE_URL, TEST_REDIS_URL, needs_redis
from tests.test_outbox import _resident, _settled

pytestmark = pytest.mark.timeout(120)


@pytest.mark.skipif(
    not TEST_DATABASE_URL,
    reason="several processes are for PostgreSQL: on SQLite a stopping worker's last write can wait out "
    "the busy timeout under load, and what it sent then goes out again",
)
async def test_two_workers_send_each_message_once_at_the_overall_rate(sessions, sandbox) -> None:  # noqa: ANN001
    """Two workers start at once on one database: one holds the lease and drains at RATE, the other is
    refused and takes over once the first stops; each recipient gets the message once and the messages
    never go out faster than RATE overall."""
    rate, count = 20.0, 60
    people = [await sandbox.person(f"P{n}", language_code="en") for n in range(count)]
    async with sessions.begin() as session:
        for person in people:
            await _resident(session, person.id)
        await outbox.broadcast(
            session, outbox.Audience("city"), kind=outbox.BROADCAST, default_lang="tr", texts={"en": "once"}
        )

    def worker() -> Scheduling:
        return Scheduling(
            sessions,
            lambda: make_bot(sandbox.token, sandbox.url, max_retry_wait=0, client="outbox"),
            outbox.Signal(),
            pace=Pace(rate=rate),
            lease_ttl=1.5,
            claim_timeout=5.0,
            poll=0.2,
        )

    first, second = worker(), worker()
    started = await asyncio.gather(first.start(), second.start(), return_exceptions=True)
    refused = [r for r in started if isinstance(r, lease.LeaseHeld)]
    assert len(refused) == 1  # one drainer
    holder, waiting = (first, second) if first.running else (second, first)
    await asyncio.sleep(1.2)  # part of the broadcast, then the holder stops and the other takes over
    await holder.stop()
    await waiting.start()
    try:
        settled = await _settled(sessions, timeout=30)
        assert settled == {outbox.SENT: count}, (holder.worker.stats, waiting.worker.stats)
    finally:
        await waiting.stop()
    for person in people:
        assert [m.text for m in await person.bot_messages()] == ["once"]
    sent = holder.worker.stats.sent + waiting.worker.stats.sent
    assert sent == count and holder.worker.stats.sent > 0 and waiting.worker.stats.sent > 0
    # the overall rate, by the emulator's own timestamps: over any window of 20 messages, well under what
    # two drainers at RATE each would reach (the emulator's clock jitters on a loaded machine, hence 1.5)
    stamps = sorted(await _sent_times(sandbox, people))
    window = 20
    for i in range(len(stamps) - window):
        span = stamps[i + window] - stamps[i]
        assert window / span <= rate * 1.5, f"{window} messages in {span:.3f} s"
    assert (len(stamps) - 1) / (stamps[-1] - stamps[0]) <= rate * 1.05


async def _sent_times(sandbox, people) -> list[float]:  # noqa: ANN001
    import aiohttp

    found = []
    async with aiohttp.ClientSession() as http:
        for person in people:
            async with http.get(f"{sandbox.url}/sandbox/api/people/{person.id}/chat") as response:
                chat = await response.json()
            found += [m["sent_at"] for m in chat["messages"] if m["from"] == "bot"]
    return found


@needs_redis
async def test_throttling_holds_across_instances_with_redis() -> None:
    import uuid

    from aiogram.types import CallbackQuery, User
    from redis.asyncio import Redis

    from bot.i18n import make_i18n
    from bot.middlewares.throttling import ThrottlingMiddleware

    redis = Redis.from_url(TEST_REDIS_URL)
    prefix = f"test-{uuid.uuid4().hex[:8]}:throttle"
    try:
        # two instances, each its own middleware, one Redis
        one, two = (ThrottlingMiddleware({"x": 0.5}, redis=redis, prefix=prefix) for _ in range(2))
        user = User(id=42, is_bot=False, first_name="A")
        answered = []

        class Press(CallbackQuery):
            async def answer(self, *args, **kwargs):  # noqa: ANN002, ANN003, ANN201
                answered.append(args)

        press = Press(id="1", from_user=user, chat_instance="c", data="menu:x")
        handled = []

        async def handler(event, data):  # noqa: ANN001, ANN202
            handled.append(event)
            return True

        data = {"event_from_user": user, "handler": SimpleNamespace(flags={"throttling_key": "x"})}
        assert await one(handler, press, dict(data)) is True
        i18n = make_i18n("en")
        with i18n.context(), i18n.use_locale("en"):  # the refusal's toast is translated
            refused = await two(handler, press, dict(data))
        assert refused is None  # the double press reached the other one, and was refused there
        assert len(handled) == 1 and len(answered) == 1
        await asyncio.sleep(0.6)
        assert await two(handler, press, dict(data)) is True  # after the rate, taken again
    finally:
        keys = [k async for k in redis.scan_iter(f"{prefix}:*")]
        if keys:
            await redis.delete(*keys)
        await redis.aclose()


@needs_redis
@pytest.mark.parametrize("reading", [False, True], ids=["lock", "lock that reads the state"])
async def test_a_persons_lock_in_redis_outlives_its_ttl_while_held_and_not_after(
    caplog: pytest.LogCaptureFixture, reading: bool
) -> None:
    """A flood limit can hold an update for a minute, past the lock's time to live: the instance
    handling it keeps the person's lock (renewed), so another instance takes their next update only once
    it is released; a lock whose process died expires as before. The same with the lock that reads the
    person's state as it is taken (`RedisBoxStorage.lock`)."""
    import time
    import uuid

    from aiogram.fsm.storage.base import StorageKey
    from aiogram.fsm.storage.redis import DefaultKeyBuilder
    from redis.asyncio import Redis

    from bot.isolation import redis_isolation
    from storage.fsm import RedisBoxStorage

    ttl = 0.4
    clients = [Redis.from_url(TEST_REDIS_URL) for _ in range(2)]
    keys = DefaultKeyBuilder(prefix=f"test-{uuid.uuid4().hex[:8]}")
    one, two = (
        redis_isolation(client, keys, ttl, RedisBoxStorage(client, keys) if reading else None)
        for client in clients
    )
    key = StorageKey(bot_id=1, chat_id=7, user_id=7)
    taken: list[str] = []
    try:

        async def long_update() -> None:
            async with one.lock(key):
                taken.append("first")
                await asyncio.sleep(3 * ttl)  # a wait Telegram asked for
                taken.append("first done")

        async def next_update() -> None:
            await asyncio.sleep(ttl / 4)
            async with two.lock(key):
                taken.append("second")

        await asyncio.gather(long_update(), next_update())
        assert taken == ["first", "first done", "second"]
        assert "expired before its update was handled" not in caplog.text

        dead = clients[0].lock(keys.build(key, "lock"), timeout=ttl)  # taken by a process that then died
        await dead.acquire()
        started = time.monotonic()
        async with two.lock(key):
            waited = time.monotonic() - started
        assert ttl / 2 < waited < 3 * ttl  # it expired, with no renewal
    finally:
        for client in clients:
            await client.aclose()
