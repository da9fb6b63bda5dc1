"""Conversation state survives a restart: the SQL storage (SQLite/PostgreSQL) and Redis behave alike."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from aiogram.exceptions import DataNotDictLikeError
from aiogram.fsm.state import State, StatesGroup
from aiogram.fsm.storage.base import BaseStorage, StorageKey

from storage.db import make_engine, make_session_factory
from storage.fsm import SQLStorage
from tests.conftest import TEST_REDIS_URL, selects_run, statements_run


class Form(StatesGroup):
    title = State()


KEY = StorageKey(bot_id=1, chat_id=2, user_id=2)


@pytest.fixture(params=["sql", "redis", "redis-boxes"])
async def storage_factory(request: pytest.FixtureRequest, database_url: str) -> AsyncIterator:
    made: list[BaseStorage] = []
    engines = []
    if request.param.startswith("redis"):
        if not TEST_REDIS_URL:
            pytest.skip("TEST_REDIS_URL is not set")
        from aiogram.fsm.storage.redis import DefaultKeyBuilder, RedisStorage

        from storage.fsm import BoxKeys, RedisBoxStorage

        prefix = f"meydan-test-{id(request)}"

        def make() -> BaseStorage:
            if request.param == "redis":  # aiogram's own, the behaviour the others are held to
                storage = RedisStorage.from_url(TEST_REDIS_URL, key_builder=DefaultKeyBuilder(prefix=prefix))
            else:
                storage = RedisBoxStorage.from_url(TEST_REDIS_URL, key_builder=BoxKeys(prefix=prefix))
            made.append(storage)
            return storage
    else:

        def make() -> BaseStorage:
            engine = make_engine(database_url)
            engines.append(engine)
            storage = SQLStorage(make_session_factory(engine))
            made.append(storage)
            return storage

    yield make
    await made[0].set_state(KEY, None)
    await made[0].set_data(KEY, {})
    for storage in made:
        await storage.close()
    for engine in engines:
        await engine.dispose()


async def test_state_and_data_survive_a_new_storage(storage_factory) -> None:  # noqa: ANN001
    first = storage_factory()
    assert await first.get_state(KEY) is None
    assert await first.get_data(KEY) == {}
    await first.set_state(KEY, Form.title)
    await first.update_data(KEY, {"title": "Bank in the park", "n": 2})
    await first.update_data(KEY, {"theme": "green"})
    second = storage_factory()  # as after a restart
    assert await second.get_state(KEY) == Form.title.state
    assert await second.get_data(KEY) == {"title": "Bank in the park", "n": 2, "theme": "green"}
    await second.set_state(KEY, None)
    await second.set_data(KEY, {})
    assert await first.get_state(KEY) is None
    assert await first.get_data(KEY) == {}


async def test_keys_are_separate(storage_factory) -> None:  # noqa: ANN001
    storage = storage_factory()
    other = StorageKey(bot_id=1, chat_id=3, user_id=3)
    await storage.set_state(KEY, "a:b")
    assert await storage.get_state(other) is None
    await storage.set_state(other, None)


async def test_data_must_be_a_dict(storage_factory) -> None:  # noqa: ANN001
    storage = storage_factory()
    with pytest.raises(DataNotDictLikeError):
        await storage.set_data(KEY, ["not", "a", "dict"])  # type: ignore[arg-type]


async def test_within_an_update_the_row_is_read_once_and_written_whole(database_url: str) -> None:
    """In the update's session the row is read by the first call and written, whole, by each call that
    changes it, in the update's transaction; a call that changes nothing writes nothing; nested data a
    handler changes in place after reading it is still written, and a rollback forgets what was read."""
    from sqlalchemy import select

    from storage.db import current_session
    from storage.models import FsmRecord

    engine = make_engine(database_url)
    sessions = make_session_factory(engine)
    storage = SQLStorage(sessions)
    selects = selects_run(engine)
    writes = statements_run(engine, lambda statement: not statement.startswith(("SELECT", "BEGIN")))
    try:
        await storage.set_data(KEY, {"values": {"a": 1}})
        async with sessions() as session:
            token = current_session.set(session)
            try:
                selects.clear()
                writes.clear()
                assert await storage.get_state(KEY) is None
                data = await storage.get_data(KEY)
                data["values"]["b"] = 2  # changed in place, as a form does
                await storage.set_state(KEY, Form.title)
                await storage.set_data(KEY, data)
                assert await storage.get_data(KEY) == {"values": {"a": 1, "b": 2}}
                assert len(selects) == 1
                assert len(writes) == 2
                await storage.set_state(KEY, Form.title)  # no change
                await storage.set_data(KEY, {"values": {"a": 1, "b": 2}})
                assert len(writes) == 2
                # written already: a query in the same transaction sees it
                row = (await session.execute(select(FsmRecord.state, FsmRecord.data))).one()
                assert tuple(row) == (Form.title.state, {"values": {"a": 1, "b": 2}})
                await session.commit()
                await storage.set_state(KEY, "form:other")
                await session.rollback()
                assert await storage.get_state(KEY) == Form.title.state  # read again after the rollback
            finally:
                current_session.reset(token)
        assert await storage.get_state(KEY) == Form.title.state
        assert await storage.get_data(KEY) == {"values": {"a": 1, "b": 2}}
        await storage.set_state(KEY, None)
        await storage.set_data(KEY, {})
    finally:
        await engine.dispose()


async def test_clearing_a_row_already_deleted_in_bulk_is_quiet(database_url: str) -> None:
    """An account deletion removes the person's rows in bulk in the update's transaction; the update's
    storage, which read the row earlier, then clears the state: no error, no "0 rows matched" warning."""
    import warnings

    from sqlalchemy import delete

    from storage.db import current_session
    from storage.models import FsmRecord

    engine = make_engine(database_url)
    sessions = make_session_factory(engine)
    storage = SQLStorage(sessions)
    try:
        await storage.set_state(KEY, Form.title)
        async with sessions() as session:
            token = current_session.set(session)
            try:
                assert await storage.get_state(KEY) == Form.title.state
                await session.execute(delete(FsmRecord).where(FsmRecord.key.contains(f":{KEY.user_id}:")))
                with warnings.catch_warnings():
                    warnings.simplefilter("error")
                    await storage.set_state(KEY, None)
                    await storage.set_data(KEY, {})
                    await session.commit()
            finally:
                current_session.reset(token)
        assert await storage.get_state(KEY) is None
    finally:
        await engine.dispose()


def test_box_keys_leave_the_default_keys_as_they_were() -> None:
    from aiogram.fsm.storage.base import DefaultKeyBuilder

    from storage.fsm import BoxKeys

    plain, boxes = DefaultKeyBuilder(prefix="meydan"), BoxKeys(prefix="meydan")
    for part in ("state", "data", "lock", None):
        assert boxes.build(KEY, part) == plain.build(KEY, part)  # a rolling upgrade agrees on these
    box = StorageKey(bot_id=1, chat_id=2, user_id=2, destiny="ballot_drafts")
    assert boxes.build(box, "data") == "meydan:2:2:ballot_drafts:data"
    assert boxes.build(box, "data") == DefaultKeyBuilder(prefix="meydan", with_destiny=True).build(
        box, "data"
    )


async def test_the_state_and_the_boxes_are_read_in_one_statement(database_url: str) -> None:
    """Within an update the person's state and their boxes' rows come in one SELECT (a ballot press
    reads the state and its draft's box), each row as its own; a destiny not declared is read alone."""
    from dataclasses import replace

    from storage.db import current_session

    engine = make_engine(database_url)
    sessions = make_session_factory(engine)
    storage = SQLStorage(sessions, boxes=["drafts", "notes"])
    drafts, notes, stray = (replace(KEY, destiny=name) for name in ("drafts", "notes", "stray"))
    selects = selects_run(engine)
    try:
        await storage.set_state(KEY, Form.title)
        await storage.set_data(drafts, {"pot": [3, 5]})
        await storage.set_data(stray, {"x": 1})
        async with sessions() as session:
            token = current_session.set(session)
            try:
                selects.clear()
                assert await storage.get_state(KEY) == Form.title.state
                assert await storage.get_data(drafts) == {"pot": [3, 5]}
                assert await storage.get_data(notes) == {}
                assert await storage.get_data(KEY) == {}
                assert len(selects) == 1
                await storage.set_data(notes, {"seen": True})  # a box with no row yet
                assert await storage.get_data(notes) == {"seen": True}
                assert await storage.get_data(stray) == {"x": 1}
                assert len(selects) == 2
                await session.commit()
            finally:
                current_session.reset(token)
        assert await storage.get_data(notes) == {"seen": True}
        assert await storage.get_state(drafts) is None
    finally:
        await engine.dispose()


async def test_in_redis_an_update_reads_the_state_data_and_boxes_in_one_mget(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With Redis, an update's first read fetches the person's state, data and boxes in one MGET; later
    reads in the update use it, a write goes out at once, and a write that changes nothing is not sent.
    The next update reads anew, and outside an update each read is a GET of its own."""
    if not TEST_REDIS_URL:
        pytest.skip("TEST_REDIS_URL is not set")
    from dataclasses import replace

    from storage.db import current_session
    from storage.fsm import BoxKeys, RedisBoxStorage

    engine = make_engine(database_url)
    sessions = make_session_factory(engine)
    storage = RedisBoxStorage.from_url(
        TEST_REDIS_URL, key_builder=BoxKeys(prefix="meydan-test-mget"), boxes=["drafts"]
    )
    other = RedisBoxStorage.from_url(TEST_REDIS_URL, key_builder=BoxKeys(prefix="meydan-test-mget"))
    drafts, stray = replace(KEY, destiny="drafts"), replace(KEY, destiny="stray")
    calls: list[str] = []
    for command in ("get", "mget", "set", "delete"):
        sent = getattr(storage.redis, command)

        async def counted(*args, _sent=sent, _command=command, **kwargs):  # noqa: ANN002, ANN003, ANN202
            calls.append(_command)
            return await _sent(*args, **kwargs)

        monkeypatch.setattr(storage.redis, command, counted)
    try:
        await storage.set_state(KEY, Form.title)
        await storage.set_data(drafts, {"pot": [3, 5]})
        await storage.set_data(stray, {"x": 1})
        calls.clear()
        async with sessions() as session:
            token = current_session.set(session)
            try:
                assert await storage.get_state(KEY) == Form.title.state
                data = await storage.get_data(KEY)
                assert data == {}
                found = await storage.get_data(drafts)
                found["pot"].append(8)  # changed in place: what the update knows is not
                assert await storage.get_data(drafts) == {"pot": [3, 5]}
                assert calls == ["mget"]
                await storage.set_state(KEY, Form.title)  # no change: not sent
                await storage.set_data(KEY, {})
                await storage.set_data(drafts, found)
                assert calls == ["mget", "set"]
                assert await other.get_data(drafts) == {"pot": [3, 5, 8]}  # written at once
                assert await storage.get_data(drafts) == {"pot": [3, 5, 8]}
                await storage.set_state(KEY, None)
                assert await storage.get_state(KEY) is None
                assert await storage.get_data(stray) == {"x": 1}  # a destiny not declared: read alone
                assert calls == ["mget", "set", "delete", "mget"]
                await session.rollback()  # Redis keeps what was written: so does what the update knows
                assert await storage.get_state(KEY) is None
                assert calls == ["mget", "set", "delete", "mget"]
            finally:
                current_session.reset(token)
        await other.set_state(KEY, "form:other")  # another instance, between two updates
        async with sessions() as session:
            token = current_session.set(session)
            try:
                assert await storage.get_state(KEY) == "form:other"
            finally:
                current_session.reset(token)
        calls.clear()
        assert await storage.get_state(KEY) == "form:other"
        assert await storage.get_data(drafts) == {"pot": [3, 5, 8]}
        assert calls == ["get", "get"]
    finally:
        for each in (KEY, drafts, stray):
            await other.set_state(each, None)
            await other.set_data(each, {})
        await storage.close()
        await other.close()
        await engine.dispose()


async def test_in_redis_the_persons_lock_reads_their_state_as_it_is_taken(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The lock an update is handled under is taken with the person's state, data and boxes read in the
    same round trip: the update reads nothing more before it writes. An update waiting for the lock
    reads what the one before it wrote under it."""
    if not TEST_REDIS_URL:
        pytest.skip("TEST_REDIS_URL is not set")
    import asyncio
    from dataclasses import replace

    from bot.isolation import redis_isolation
    from storage.db import current_session
    from storage.fsm import BoxKeys, RedisBoxStorage

    engine = make_engine(database_url)
    sessions = make_session_factory(engine)
    keys = BoxKeys(prefix="meydan-test-lock")
    storage = RedisBoxStorage.from_url(TEST_REDIS_URL, key_builder=keys, boxes=["drafts"])
    isolation = redis_isolation(storage.redis, keys, 5, storage)
    drafts = replace(KEY, destiny="drafts")
    calls: list[str] = []
    for command in ("get", "mget", "set", "delete", "evalsha"):
        sent = getattr(storage.redis, command)

        async def counted(*args, _sent=sent, _command=command, **kwargs):  # noqa: ANN002, ANN003, ANN202
            calls.append(_command)
            return await _sent(*args, **kwargs)

        monkeypatch.setattr(storage.redis, command, counted)

    async def update(wait: float, then: str | None) -> str | None:
        await asyncio.sleep(wait)
        async with sessions() as session:
            token = current_session.set(session)
            try:
                async with isolation.lock(KEY):
                    seen = await storage.get_state(KEY)
                    if then is not None:
                        await asyncio.sleep(0.3)  # the next update waits for the lock meanwhile
                        await storage.set_state(KEY, then)
                    return seen
            finally:
                current_session.reset(token)

    try:
        await storage.set_state(KEY, Form.title)
        await storage.set_data(drafts, {"pot": [3, 5]})
        async with isolation.lock(KEY):  # outside an update: the lock alone (and the script loaded)
            assert await storage.get_state(KEY) == Form.title.state
        calls.clear()
        async with sessions() as session:
            token = current_session.set(session)
            try:
                async with isolation.lock(KEY):
                    assert await storage.get_state(KEY) == Form.title.state
                    assert await storage.get_data(KEY) == {}
                    assert await storage.get_data(drafts) == {"pot": [3, 5]}
                    assert calls == ["evalsha"]  # the lock taken and the values read
            finally:
                current_session.reset(token)
        assert calls == ["evalsha", "evalsha"]  # and given back
        first, second = await asyncio.gather(update(0, "form:next"), update(0.1, None))
        assert (first, second) == (Form.title.state, "form:next")
    finally:
        await storage.set_state(KEY, None)
        await storage.set_data(drafts, {})
        await storage.close()
        await engine.dispose()
