"""Migration 0009 (verification): a database at 0006 with a process upgrades (the process is at level
"none"), the database itself keeps one verification per person and per phone or code in a process, and
0009 goes down and up again keeping the rest."""

from __future__ import annotations

import pytest
from sqlalchemy import inspect, text
from sqlalchemy.exc import IntegrityError

from bot.config import DEFAULT_CITY_FILE, load_city
from bot.services import city as city_service
from storage import migrate
from storage.db import make_engine, make_session_factory

TABLES = {"verifications", "verification_codes", "verification_failures"}


async def _tables(engine) -> set[str]:  # noqa: ANN001
    async with engine.connect() as conn:
        return await conn.run_sync(lambda c: set(inspect(c).get_table_names()))


async def test_0006_upgrades_keeps_its_data_and_goes_down_and_up(empty_database_url: str) -> None:
    engine = make_engine(empty_database_url)
    sessions = make_session_factory(engine)
    try:
        await migrate.upgrade(engine, "0008")
        assert not TABLES & await _tables(engine)
        async with sessions.begin() as session:
            await city_service.load(session, load_city(DEFAULT_CITY_FILE))
            await session.execute(
                text(
                    "INSERT INTO processes (key, names, scope, idea_limit, created_at) "
                    "VALUES ('old', '{\"en\": \"Old\"}', 'city', 3, CURRENT_TIMESTAMP)"
                )
            )
        await migrate.upgrade(engine, "0009")
        assert await _tables(engine) >= TABLES
        insert = text(
            "INSERT INTO verifications (process_id, identity, method, key, verified_at) "
            "VALUES (:p, :identity, 'phone', :key, CURRENT_TIMESTAMP)"
        )
        async with sessions.begin() as session:
            row = (await session.execute(text("SELECT id, verification FROM processes"))).one()
            assert row[1] == "none"
            process = row[0]
            await session.execute(insert, {"p": process, "identity": "a", "key": "k1"})
        for clash in ({"identity": "b", "key": "k1"}, {"identity": "a", "key": "k2"}):
            with pytest.raises(IntegrityError):  # UNIQUE(process_id, key), UNIQUE(process_id, identity)
                async with sessions.begin() as session:
                    await session.execute(insert, {"p": process, **clash})
        await migrate.downgrade(engine, "0008")
        assert not TABLES & await _tables(engine)
        await migrate.upgrade(engine, "0009")
        async with sessions() as session:
            assert (await session.execute(text("SELECT key, verification FROM processes"))).one() == (
                "old",
                "none",
            )
    finally:
        await engine.dispose()
