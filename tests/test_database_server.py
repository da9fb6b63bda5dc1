"""PostgreSQL: a pooled connection left idle is pinged before it is used, and a dead one replaced unseen;
one in steady use is not pinged, and if the server dropped it, one statement fails and the pool heals."""

from __future__ import annotations

import pytest
from sqlalchemy import exc, text

import storage.db
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
