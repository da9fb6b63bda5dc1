"""The engine: on SQLite a process's transactions queue for its one connection instead of racing for
the file's write lock, so many people at once never meet "database is locked"."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import text

import storage.db
from storage.db import make_engine, make_session_factory
from tests.conftest import TEST_DATABASE_URL

pytestmark = pytest.mark.skipif(bool(TEST_DATABASE_URL), reason="SQLite's locking")


async def test_many_transactions_at_once_queue_instead_of_timing_out(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # a busy timeout far shorter than the queue: any transaction that met SQLite's busy handler fails
    monkeypatch.setattr(storage.db, "SQLITE_BUSY_TIMEOUT_MS", 50)
    engine = make_engine(database_url)
    sessions = make_session_factory(engine)
    async with sessions.begin() as session:
        await session.execute(text("CREATE TABLE hits (n INTEGER)"))

    async def one(n: int) -> None:
        async with sessions.begin() as session:
            await session.execute(text("INSERT INTO hits VALUES (:n)"), {"n": n})
            await asyncio.sleep(0.01)  # the transaction holds the write lock a while, as a handler does

    try:
        await asyncio.gather(*(one(n) for n in range(40)))  # 40 × 10 ms: far past the busy timeout
        async with sessions() as session:
            assert await session.scalar(text("SELECT count(*) FROM hits")) == 40
    finally:
        await engine.dispose()


async def test_a_second_process_still_waits_in_the_busy_handler(database_url: str) -> None:
    """Another engine (another process: the worker, the command line) waits for the lock, up to the
    busy timeout, and then gets it."""
    first, second = make_engine(database_url), make_engine(database_url)
    try:
        async with first.begin() as conn:
            await conn.execute(text("CREATE TABLE t (n INTEGER)"))
        async with first.begin() as conn:
            await conn.execute(text("INSERT INTO t VALUES (1)"))
            waiting = asyncio.create_task(_insert(second, 2))
            await asyncio.sleep(0.2)
            assert not waiting.done()
        await waiting
        async with first.connect() as conn:
            assert (await conn.execute(text("SELECT count(*) FROM t"))).scalar() == 2
    finally:
        await first.dispose()
        await second.dispose()


async def _insert(engine, n: int) -> None:  # noqa: ANN001
    async with engine.begin() as conn:
        await conn.execute(text("INSERT INTO t VALUES (:n)"), {"n": n})
