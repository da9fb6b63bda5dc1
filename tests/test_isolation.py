"""One update at a time per person in one process, with no lock kept for people not being handled, and
each update committed before the person's next one may begin."""

from __future__ import annotations

import asyncio
from contextlib import asynccontextmanager

from aiogram.fsm.storage.base import StorageKey
from sqlalchemy import inspect, text

from bot.isolation import PersonLocks
from bot.middlewares.database import close_session
from bot.services import residents
from storage.db import current_session
from storage.models import Resident
from tests.flows import onboard


def _key(person: int) -> StorageKey:
    return StorageKey(bot_id=1, chat_id=person, user_id=person)


async def test_one_person_waits_others_do_not_and_nothing_is_kept() -> None:
    locks = PersonLocks()
    order: list[str] = []
    first_in = asyncio.Event()
    release = asyncio.Event()

    async def update(person: int, name: str, hold: bool = False) -> None:
        async with locks.lock(_key(person)):
            order.append(f"{name} in")
            if hold:
                first_in.set()
                await release.wait()
            order.append(f"{name} out")

    first = asyncio.create_task(update(1, "a", hold=True))
    await first_in.wait()
    same = asyncio.create_task(update(1, "b"))
    await update(2, "c")  # another person is not held up
    await asyncio.sleep(0.01)
    assert order == ["a in", "c in", "c out"] and locks.held() == 1
    release.set()
    await asyncio.gather(first, same)
    assert order[3:] == ["a out", "b in", "b out"]
    assert locks.held() == 0


async def test_a_cancelled_waiter_leaves_nothing_behind() -> None:
    locks = PersonLocks()
    release = asyncio.Event()

    async def hold() -> None:
        async with locks.lock(_key(1)):
            await release.wait()

    holder = asyncio.create_task(hold())
    await asyncio.sleep(0)
    waiter = asyncio.create_task(hold())
    await asyncio.sleep(0)
    waiter.cancel()
    await asyncio.gather(waiter, return_exceptions=True)
    release.set()
    await holder
    assert locks.held() == 0


async def test_the_bot_keeps_no_lock_for_people_it_is_not_handling(meydan, sandbox) -> None:  # noqa: ANN001
    isolation = meydan.dp.fsm.events_isolation
    assert isinstance(isolation, PersonLocks)
    people = await asyncio.gather(*(onboard(sandbox, name=f"P{n}", lang="en") for n in range(5)))
    await asyncio.gather(*(p.say("/menu") for p in people))
    assert isolation.held() == 0


async def test_an_update_is_committed_before_the_persons_lock_is_released(
    meydan,  # noqa: ANN001
    sandbox,  # noqa: ANN001
    monkeypatch,  # noqa: ANN001
) -> None:
    """The person's next update waits for the lock and begins its own transaction then: were this one
    still uncommitted (a typed answer goes out in the webhook reply, after the handler), that update
    would read, on PostgreSQL, the state and the rows as they were before it; were a failed one not yet
    rolled back, it would wait for the rows that one holds."""
    isolation = meydan.dp.fsm.events_isolation
    held = isolation.lock
    open_at_release: list[bool] = []

    @asynccontextmanager
    async def lock(key: StorageKey):  # noqa: ANN202
        async with held(key):
            try:
                yield
            finally:
                open_at_release.append(current_session.get().in_transaction())

    isolation.lock = lock
    person = await onboard(sandbox, name="Selin", lang="en")  # typed answers, presses, a district search
    await person.say("/menu")
    assert len(open_at_release) >= 5 and not any(open_at_release)

    def broken(_resident: object) -> bool:
        raise RuntimeError("a fault while handling")

    monkeypatch.setattr(residents, "is_onboarded", broken)  # an update that fails once its reads began
    failed = len(open_at_release)
    await person.say("/menu", check=False)
    assert len(open_at_release) == failed + 1 and not open_at_release[-1]  # rolled back, then released


async def test_an_update_s_session_hands_its_connection_back_however_it_ended(sessions) -> None:  # noqa: ANN001
    """`close_session`, as every update's session is closed: after its transaction ended (committed),
    in place, its objects let go; with its transaction still open (an error on the way out), as
    `async with` closes it. Either way the connection is back in the pool."""
    pool = sessions.kw["bind"].sync_engine.pool
    session = sessions()
    await session.execute(text("SELECT 1"))
    held = Resident(telegram_id=5150, identity="c" * 64)
    session.add(held)
    await session.commit()
    await close_session(session)
    assert pool.checkedout() == 0 and inspect(held).detached and not session.in_transaction()
    session = sessions()
    await session.execute(text("SELECT 1"))
    assert session.in_transaction() and pool.checkedout() == 1
    await close_session(session)
    assert not session.in_transaction() and pool.checkedout() == 0
