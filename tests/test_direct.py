"""A hot statement run on the database's own library (`storage.direct`): the rows SQLAlchemy would
read and the rows a change changes, inside the session's transaction, the session's own changes seen,
and SQLAlchemy's errors."""

from __future__ import annotations

from dataclasses import replace

import pytest
from aiogram.fsm.storage.base import StorageKey
from sqlalchemy import bindparam, column, event, func, insert, inspect, select, table
from sqlalchemy.exc import DBAPIError, IntegrityError, MultipleResultsFound
from sqlalchemy.orm.util import identity_key

from bot.services import residents
from storage.db import WriteWhileReading, current_session, reading
from storage.direct import Direct
from storage.fsm import SQLStorage
from storage.models import Park, ProcessedUpdate, Resident, utcnow

KEY = StorageKey(bot_id=1, chat_id=4321, user_id=4321)
_RESIDENTS = Resident.__table__
# an update's row, as the claim writes it: a change on the library
_CLAIM = Direct(
    insert(ProcessedUpdate.__table__).values(
        bot_id=bindparam("bot_id"), update_id=bindparam("update_id"), at=bindparam("at")
    )
)


def by_library(engine) -> list[bool]:  # noqa: ANN001
    """For each statement the engine runs from now on: whether the library ran it (`Direct`: no
    SQLAlchemy cursor) rather than SQLAlchemy."""
    seen: list[bool] = []
    event.listen(
        engine.sync_engine, "before_cursor_execute", lambda _c, cursor, *_a: seen.append(cursor is None)
    )
    return seen


async def test_the_rows_are_those_sqlalchemy_reads_where_the_library_runs_them(sessions) -> None:  # noqa: ANN001
    """The person's read with their state: dates, a boolean, JSON and text, a row of state and a box.
    It runs on the library in a session that reads only and in one that writes, on either database (on
    PostgreSQL the writing session's transaction begun for it); the rows are the same each way."""
    storage = SQLStorage(sessions, boxes=["ballot"])
    async with sessions.begin() as session:
        resident = (await residents.get_or_create(session, 4321)).resident
        resident.language, resident.consent_at, resident.reachable = "tr", utcnow(), False
    await storage.set_state(KEY, "Form:title")
    await storage.set_data(replace(KEY, destiny="ballot"), {"pot": [3, 5], "note": "ağaç"})
    names = storage.read_with(KEY)
    read = residents.PersonRead().direct(len(names)).statement
    values = residents.PersonRead.params(4321, names)
    engine = sessions.kw["bind"]
    for reads_only in (True, False):
        seen = by_library(engine)
        async with sessions() as session:
            if reads_only:
                reading(session)
            direct = await Direct(read).rows(session, values)
            plain = (await session.execute(read, values)).all()
            await session.rollback()
        assert sorted(map(tuple, direct), key=repr) == sorted(map(tuple, plain), key=repr)
        assert len(direct) == 2 and all(row[0] == resident.id for row in direct)
        assert seen == [True, False]


async def test_a_writing_session_reads_its_own_changes_and_none_stays_after_a_rollback(sessions) -> None:  # noqa: ANN001
    """The session's changes not yet flushed are flushed first, as SQLAlchemy's autoflush does, and the
    read, on the library (on PostgreSQL the flush has begun the transaction), is inside the session's
    transaction: it sees the row not committed, and rolled back the row is gone."""
    named = Direct(select(_RESIDENTS.c.telegram_id).where(_RESIDENTS.c.language == bindparam("language")))
    seen = by_library(sessions.kw["bind"])
    async with sessions() as session:
        session.add(Resident(telegram_id=999, language="en", identity="x" * 64))
        assert [tuple(row) for row in await named.rows(session, {"language": "en"})] == [(999,)]
        assert seen[-1] is True
        await session.rollback()
    async with sessions() as session:
        reading(session)
        assert list(await named.rows(session, {"language": "en"})) == []


async def test_an_error_of_the_library_is_raised_as_sqlalchemy_raises_it(sessions) -> None:  # noqa: ANN001
    """A statement the database refuses is run again by SQLAlchemy, which raises its own error (with no
    parameter in its text); the session reads on after it."""
    absent = Direct(
        select(column("x")).select_from(table("absent")).where(column("x") == bindparam("secret"))
    )
    async with sessions() as session:
        reading(session)
        with pytest.raises(DBAPIError) as raised:
            await absent.rows(session, {"secret": "a person's words"})
        assert "a person's words" not in str(raised.value)
        await session.rollback()
        one = Direct(select(_RESIDENTS.c.id).where(_RESIDENTS.c.telegram_id == bindparam("telegram_id")))
        assert list(await one.rows(session, {"telegram_id": 1})) == []


async def test_one_or_none_and_what_a_direct_statement_cannot_bind(sessions) -> None:  # noqa: ANN001
    async with sessions.begin() as session:
        for telegram_id in (11, 12):
            await residents.get_or_create(session, telegram_id)
    ids = Direct(select(_RESIDENTS.c.telegram_id).where(_RESIDENTS.c.telegram_id >= bindparam("least")))
    async with sessions() as session:
        reading(session)
        assert tuple(await ids.one_or_none(session, {"least": 12})) == (12,)
        assert await ids.one_or_none(session, {"least": 13}) is None
        with pytest.raises(MultipleResultsFound):
            await ids.one_or_none(session, {"least": 11})
        with pytest.raises(KeyError):
            await ids.rows(session, {})
        listed = Direct(select(_RESIDENTS.c.id).where(_RESIDENTS.c.telegram_id.in_([11, 12])))
        with pytest.raises(TypeError, match="one value"):  # an expanding list is rendered at each run
            await listed.rows(session, {})


async def test_the_resident_read_is_the_sessions_own_as_a_query_would_give_it(sessions) -> None:  # noqa: ANN001
    """The resident made from the plain values of the person's read: persistent and unchanged, one
    object however often it is read in a session, a change to it written by the session, and after a
    rollback it takes the values stored."""
    async with sessions.begin() as session:
        await residents.get_or_create(session, 4321)
    async with sessions() as session:
        token = current_session.set(session)
        try:
            first = (await residents.load(session, 4321)).resident
            assert first in session and not session.dirty and not session.new
            state = inspect(first)
            assert state.persistent and not state.modified and state.key == identity_key(Resident, first.id)
            assert await session.get(Resident, first.id) is first  # from the identity map
            assert (await residents.load(session, 4321)).resident is first
            first.language = "en"
            assert session.dirty
            await session.commit()
            await residents.load(session, 4321)
            first.language = "tr"
            await session.rollback()
            again = (await residents.load(session, 4321)).resident
            assert again.language == "en"
        finally:
            current_session.reset(token)
    assert inspect(again).detached  # the session closed lets it go, as any entity it loaded


async def test_a_change_runs_in_the_transaction_and_one_refused_raises_sqlalchemys_error(sessions) -> None:  # noqa: ANN001
    """A change on the library: its row count, inside the session's transaction (rolled back with it), a
    duplicate key raised as SQLAlchemy's `IntegrityError` (on PostgreSQL the transaction is then aborted,
    so it is not run again), and in a session that reads only refused before it reaches the database."""
    rows = ProcessedUpdate.__table__.c
    count = Direct(select(func.count()).where(rows.bot_id == bindparam("bot_id")))
    values = {"bot_id": 77, "update_id": 1, "at": utcnow()}
    seen = by_library(sessions.kw["bind"])
    async with sessions() as session:
        await session.execute(select(1))  # the transaction begun (on PostgreSQL at this statement)
        assert await _CLAIM.execute(session, values) == 1
        assert seen[-1] is True and await count.scalar(session, {"bot_id": 77}) == 1
        with pytest.raises(IntegrityError) as raised:
            await _CLAIM.execute(session, values)
        assert "77" not in str(raised.value)
        await session.rollback()
    async with sessions() as session:
        reading(session)
        assert await count.scalar(session, {"bot_id": 77}) == 0
        with pytest.raises(WriteWhileReading):
            await _CLAIM.execute(session, values)


async def test_a_change_that_begins_the_session_is_in_its_transaction(sessions) -> None:  # noqa: ANN001
    """A writing session's first statement on the library (on PostgreSQL the transaction begun for it,
    as SQLAlchemy's adapter begins one) is the session's own: rolled back with it, committed with it,
    and SQLAlchemy's statements after it are in the same transaction."""
    rows = ProcessedUpdate.__table__.c
    count = select(func.count()).where(rows.bot_id == 78)
    seen = by_library(sessions.kw["bind"])
    async with sessions() as session:
        assert await _CLAIM.execute(session, {"bot_id": 78, "update_id": 1, "at": utcnow()}) == 1
        assert seen == [True] and await session.scalar(count) == 1
        await session.rollback()
        assert await session.scalar(count) == 0
    async with sessions() as session:
        await _CLAIM.execute(session, {"bot_id": 78, "update_id": 2, "at": utcnow()})
        await session.commit()
    async with sessions() as session:
        assert await session.scalar(count) == 1


async def test_a_begin_refused_leaves_the_statement_to_sqlalchemy(sessions, monkeypatch) -> None:  # noqa: ANN001
    """On PostgreSQL, when the BEGIN `Direct` sends for a writing session fails (a connection that
    dropped, say), the statement goes to SQLAlchemy, which begins the transaction itself and raises
    as its own if that fails too; here it succeeds the second time, and the change is committed."""
    from sqlalchemy.dialects.postgresql.asyncpg import AsyncAdapt_asyncpg_connection

    if sessions.kw["bind"].dialect.name != "postgresql":
        pytest.skip("SQLite's transaction begins when the session takes its connection")
    begin = AsyncAdapt_asyncpg_connection._start_transaction  # noqa: SLF001
    armed: list[bool] = []  # once the session has its connection (a new one runs statements of its own)
    refused: list[bool] = []

    async def refused_once(adapter: AsyncAdapt_asyncpg_connection) -> None:
        if armed and not refused:
            refused.append(True)
            raise ConnectionError("the server went away")
        await begin(adapter)

    monkeypatch.setattr(AsyncAdapt_asyncpg_connection, "_start_transaction", refused_once)
    rows = ProcessedUpdate.__table__.c
    async with sessions() as session:
        await session.connection()
        armed.append(True)
        seen = by_library(sessions.kw["bind"])
        assert await _CLAIM.execute(session, {"bot_id": 79, "update_id": 1, "at": utcnow()}) == 1
        assert refused == [True] and seen == [False]  # SQLAlchemy ran it, in the transaction it began
        await session.commit()
    async with sessions() as session:
        assert await session.scalar(select(func.count()).where(rows.bot_id == 79)) == 1


async def test_numbers_come_as_sqlalchemy_gives_them_the_first_time_and_after(sessions) -> None:  # noqa: ANN001
    """A `Float` column (a park's place): on PostgreSQL its processing depends on the column's type as
    the database describes it, which asyncpg gives at the first run; the rows are SQLAlchemy's then and
    after."""
    parks = Park.__table__.c
    places = Direct(
        select(parks.key, parks.latitude, parks.longitude).order_by(parks.id).limit(bindparam("n"))
    )
    async with sessions() as session:
        reading(session)
        plain = [tuple(row) for row in (await session.execute(places.statement, {"n": 3})).all()]
        assert plain, "the city has parks"
        for _ in range(2):
            found = [tuple(row) for row in await places.rows(session, {"n": 3})]
            assert found == plain
            assert all(type(value) is float for row in found for value in row[1:])


async def test_a_session_that_ran_statements_on_the_library_is_freed_by_its_references(sessions) -> None:  # noqa: ANN001
    """The connection kept for the next statement (`session.info`) holds no cycle through the session:
    once closed and dropped, the session, its transaction and its connection are freed at once, not left
    for the garbage collector, which every update's leftovers made run once a thousand updates."""
    import gc
    import weakref

    from bot.middlewares.database import close_session

    read = Direct(select(_RESIDENTS.c.id).where(_RESIDENTS.c.telegram_id == bindparam("telegram_id")))
    gc.collect()
    gc.disable()
    try:
        for reads_only in (True, False):
            session = sessions()
            if reads_only:
                reading(session)
            await read.rows(session, {"telegram_id": 4321})
            await read.rows(session, {"telegram_id": 4321})  # the kept connection
            await session.commit()
            await close_session(session)
            gone = weakref.ref(session.sync_session)
            del session
            assert gone() is None
    finally:
        gc.enable()
