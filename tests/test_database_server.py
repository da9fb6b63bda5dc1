"""PostgreSQL: a pooled connection left idle is pinged before it is used, and a dead one replaced unseen;
one in steady use is not pinged, and if the server dropped it, one statement fails and the pool heals.
The connections of forty updates at once (Telegram's calls at once) are kept for the next, not made
again; the settings size the pool."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import exc, text

import storage.db
from bot.app import prepare_database
from bot.config import Settings
from storage.db import make_engine
from tests.conftest import TEST_DATABASE_URL

pytestmark = pytest.mark.skipif(not TEST_DATABASE_URL, reason="a database server's connections")


async def _backend(engine) -> int:  # noqa: ANN001
    async with engine.connect() as connection:
        return (await connection.execute(text("SELECT pg_backend_pid()"))).scalar_one()


async def _drop(database_url: str, pid: int) -> None:
    """What a server restart or a proxy does to a pooled connection."""
    admin = make_engine(database_url, isolation_level="AUTOCOMMIT")
    try:
        async with admin.connect() as connection:
            await connection.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
    finally:
        await admin.dispose()


async def test_an_idle_connection_is_pinged_and_a_dead_one_replaced(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = make_engine(database_url, pool_size=1, max_overflow=0)
    try:
        first = await _backend(engine)
        await _drop(database_url, first)
        monkeypatch.setattr(storage.db, "PING_AFTER_IDLE_S", 0.0)  # every checkout counts as after idling
        assert await _backend(engine) != first  # no error: the ping found it dead, a new one was made
    finally:
        await engine.dispose()


async def test_a_connection_in_use_is_not_pinged_and_the_pool_heals_after_one_failure(
    database_url: str,
) -> None:
    engine = make_engine(database_url, pool_size=1, max_overflow=0)
    try:
        pings = 0
        ping = engine.dialect.do_ping

        def counted(dbapi_connection):  # noqa: ANN001, ANN202
            nonlocal pings
            pings += 1
            return ping(dbapi_connection)

        engine.dialect.do_ping = counted  # type: ignore[method-assign]
        first = await _backend(engine)
        for _ in range(3):
            assert await _backend(engine) == first
        assert pings == 0
        await _drop(database_url, first)
        with pytest.raises(exc.DBAPIError) as failed:
            await _backend(engine)
        assert failed.value.connection_invalidated
        assert await _backend(engine) != first
    finally:
        await engine.dispose()


async def _burst(engine, people: int) -> set[int]:  # noqa: ANN001
    """The server backends of `people` connections held at once."""
    everyone_in = asyncio.Barrier(people)

    async def one() -> int:
        async with engine.connect() as connection:
            pid = (await connection.execute(text("SELECT pg_backend_pid()"))).scalar_one()
            await everyone_in.wait()
            return pid

    return set(await asyncio.gather(*(one() for _ in range(people))))


async def test_the_connections_of_forty_updates_at_once_are_kept_for_the_next(database_url: str) -> None:
    engine = make_engine(database_url)
    try:
        first = await _burst(engine, 40)  # Telegram's calls at once, by default
        assert len(first) == 40
        assert await _burst(engine, 40) == first  # none closed, none made again
        assert len(await _burst(engine, 50)) == 50  # ten more beside them, none waiting
    finally:
        await engine.dispose()
    small = make_engine(database_url, pool_size=2, max_overflow=18)
    try:
        first = await _burst(small, 20)
        assert len(first & await _burst(small, 20)) == 2  # the burst's others were closed after it
    finally:
        await small.dispose()


async def test_the_settings_size_the_pool(settings: Settings) -> None:
    engine, _sessions, _city = await prepare_database(
        settings.model_copy(update={"webhook_max_connections": 25})
    )
    try:
        assert engine.pool.size() == 25  # as many as Telegram's calls at once
        assert engine.pool._max_overflow == 10  # noqa: SLF001 - QueuePool says it nowhere else
    finally:
        await engine.dispose()
    engine, _sessions, _city = await prepare_database(
        settings.model_copy(update={"database_pool_size": 3, "database_max_overflow": 4})
    )
    try:
        assert engine.pool.size() == 3
        assert engine.pool._max_overflow == 4  # noqa: SLF001 - QueuePool says it nowhere else
    finally:
        await engine.dispose()
