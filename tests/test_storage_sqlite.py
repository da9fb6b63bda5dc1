"""On SQLite a statement, a commit and a rollback run on the event loop's thread and answer as
SQLAlchemy's adapter does; a call that must wait for another process's lock waits on aiosqlite's thread,
with the loop free meanwhile, and fails as before once the busy timeout has passed."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from pathlib import Path

import aiosqlite
import pytest
from sqlalchemy import exc, text

from storage.db import make_engine
from storage.sqlite import InlineCursor


@pytest.fixture
def trips(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The calls sent to aiosqlite's thread, by name."""
    sent: list[str] = []
    execute = aiosqlite.Connection._execute  # noqa: SLF001 - what is counted is this private call

    async def counted(self, fn, *args, **kwargs):  # noqa: ANN001, ANN202
        sent.append(getattr(fn, "__name__", "?"))
        return await execute(self, fn, *args, **kwargs)

    monkeypatch.setattr(aiosqlite.Connection, "_execute", counted)
    return sent


async def test_statements_commits_and_rollbacks_make_no_trip(tmp_path: Path, trips: list[str]) -> None:
    engine = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'one.db'}")
    try:
        async with engine.begin() as connection:
            raw = await connection.get_raw_connection()
            assert isinstance(raw.driver_connection, aiosqlite.Connection)
            assert isinstance(raw.dbapi_connection.cursor(), InlineCursor)
            await connection.execute(text("CREATE TABLE ideas (id INTEGER PRIMARY KEY, title TEXT UNIQUE)"))
            trips.clear()
            added = await connection.execute(
                text("INSERT INTO ideas (title) VALUES (:t)"), {"t": "Çınaraltı"}
            )
            assert added.rowcount == 1 and added.lastrowid == 1
            many = await connection.execute(
                text("INSERT INTO ideas (title) VALUES (:t)"), [{"t": "Gölge"}, {"t": "Şadırvan"}]
            )
            assert many.rowcount == 2
            rows = (await connection.execute(text("SELECT id, title FROM ideas ORDER BY id"))).all()
            assert rows == [(1, "Çınaraltı"), (2, "Gölge"), (3, "Şadırvan")]
            returned = await connection.execute(
                text("UPDATE ideas SET title = title || '!' WHERE id > :n RETURNING id"), {"n": 1}
            )
            assert sorted(returned.scalars()) == [2, 3]
            empty = await connection.execute(text("SELECT id FROM ideas WHERE id > 99"))
            assert empty.first() is None
            with pytest.raises(exc.IntegrityError):  # the driver's error, wrapped as SQLAlchemy wraps it
                await connection.execute(text("INSERT INTO ideas (title) VALUES ('Gölge!')"))
        async with engine.connect() as connection:
            await connection.execute(text("DELETE FROM ideas"))
            await connection.rollback()
            assert (await connection.execute(text("SELECT count(*) FROM ideas"))).scalar() == 3
        assert trips == []  # the commit and the rollback included
    finally:
        await engine.dispose()


async def test_a_lock_held_elsewhere_is_waited_for_on_the_thread(tmp_path: Path, trips: list[str]) -> None:
    path = tmp_path / "busy.db"
    engine = make_engine(f"sqlite+aiosqlite:///{path}")
    try:
        async with engine.begin() as connection:
            await connection.execute(text("CREATE TABLE votes (id INTEGER PRIMARY KEY)"))
        other = sqlite3.connect(path, isolation_level=None)  # another process's connection, say the worker
        other.execute("BEGIN IMMEDIATE")
        trips.clear()
        ticks = 0

        async def loop_goes_on() -> None:
            nonlocal ticks
            while True:
                ticks += 1
                await asyncio.sleep(0.01)

        async def release_soon() -> None:
            await asyncio.sleep(0.3)
            other.execute("INSERT INTO votes (id) VALUES (1)")
            other.execute("COMMIT")

        ticking = asyncio.create_task(loop_goes_on())
        releasing = asyncio.create_task(release_soon())
        started = time.monotonic()
        async with engine.begin() as connection:  # BEGIN IMMEDIATE waits for the other's commit
            assert (await connection.execute(text("SELECT count(*) FROM votes"))).scalar() == 1
            await connection.execute(text("INSERT INTO votes (id) VALUES (2)"))
        waited = time.monotonic() - started
        ticking.cancel()
        await releasing
        assert waited >= 0.25 and ticks >= 10  # it waited, and the loop ran other work meanwhile
        assert trips == ["waiting"]  # only the BEGIN that met the lock went to the thread
        trips.clear()
        async with engine.begin() as connection:  # the lock is free: inline again, waiting for nothing
            assert (await connection.execute(text("SELECT count(*) FROM votes"))).scalar() == 2
        assert trips == []
        other.close()
    finally:
        await engine.dispose()


async def test_a_lock_held_past_the_busy_timeout_fails_as_before(tmp_path: Path) -> None:
    path = tmp_path / "held.db"
    engine = make_engine(f"sqlite+aiosqlite:///{path}", connect_args={"timeout": 0.2})
    try:
        async with engine.begin() as connection:
            await connection.execute(text("CREATE TABLE votes (id INTEGER PRIMARY KEY)"))
        other = sqlite3.connect(path, isolation_level=None)
        other.execute("BEGIN IMMEDIATE")
        started = time.monotonic()
        with pytest.raises(exc.OperationalError, match="database is locked"):
            async with engine.begin() as connection:
                await connection.execute(text("INSERT INTO votes (id) VALUES (1)"))
        assert 0.15 <= time.monotonic() - started < 5
        other.execute("ROLLBACK")
        other.close()
        async with engine.begin() as connection:  # the connection is usable, and waits for nothing again
            await connection.execute(text("INSERT INTO votes (id) VALUES (1)"))
            assert (await connection.execute(text("PRAGMA busy_timeout"))).scalar() == 0
    finally:
        await engine.dispose()


async def test_a_call_that_may_be_cut_half_way_outside_a_transaction_runs_on_the_thread(
    tmp_path: Path, trips: list[str]
) -> None:
    """Several statements outside a transaction commit one by one: if SQLite refused one as busy, the
    ones before it would be done, so such a call is not tried on the loop's thread first."""
    engine = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'many.db'}")
    try:
        async with engine.connect() as connection:
            raw = await connection.get_raw_connection()
            adapted = raw.dbapi_connection
            await connection.rollback()  # no transaction open on the driver's connection
            trips.clear()

            def create(conn: sqlite3.Connection) -> bool:
                conn.execute("CREATE TABLE t (n INTEGER)")
                return conn.in_transaction

            assert await adapted.run(create, atomic=False) is False
            assert trips == ["waiting"]
            trips.clear()
            assert await adapted.run(lambda conn: conn.execute("SELECT count(*) FROM t").fetchone()) == (0,)
            assert trips == []
    finally:
        await engine.dispose()
