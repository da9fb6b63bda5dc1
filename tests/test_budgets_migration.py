"""Migration 0006 (budgets): a database at 0005 with a process upgrades and takes pots and ballots;
0006 goes down and up again; the database itself refuses a second ballot of one person in one pot."""

from __future__ import annotations

import pytest
from sqlalchemy import inspect, text
from sqlalchemy.exc import IntegrityError

from bot.config import DEFAULT_CITY_FILE, load_city
from bot.services import city as city_service
from storage import migrate
from storage.db import make_engine, make_session_factory

TABLES = {"budget_pots", "budget_projects", "budget_ballots", "budget_choices"}


async def _tables(engine) -> set[str]:  # noqa: ANN001
    async with engine.connect() as conn:
        return await conn.run_sync(lambda c: set(inspect(c).get_table_names()))


async def test_0005_upgrades_keeps_its_data_and_goes_down_and_up(empty_database_url: str) -> None:
    engine = make_engine(empty_database_url)
    sessions = make_session_factory(engine)
    try:
        await migrate.upgrade(engine, "0005")
        assert not TABLES & await _tables(engine)
        async with sessions.begin() as session:
            await city_service.load(session, load_city(DEFAULT_CITY_FILE))
            await session.execute(
                text(
                    "INSERT INTO processes (key, names, scope, idea_limit, created_at) "
                    "VALUES ('old', '{\"en\": \"Old\"}', 'city', 3, CURRENT_TIMESTAMP)"
                )
            )
        await migrate.upgrade(engine)
        assert await _tables(engine) >= TABLES
        insert_ballot = text(
            "INSERT INTO budget_ballots (pot_id, identity, receipt, confirmed_at) "
            "VALUES (:pot, 'same-person', :receipt, CURRENT_TIMESTAMP)"
        )
        async with sessions.begin() as session:
            process_id = (
                await session.execute(text("SELECT id FROM processes WHERE key = 'old'"))
            ).scalar_one()
            await session.execute(
                text(
                    "INSERT INTO budget_pots (process_id, names, scope, budget, ballot_kind, rule, meta, position, "
                    "created_at) VALUES (:p, '{}', 'city', 100, 'knapsack', 'greedy', '{}', 0, CURRENT_TIMESTAMP)"
                ),
                {"p": process_id},
            )
            pot = (await session.execute(text("SELECT id FROM budget_pots"))).scalar_one()
            await session.execute(insert_ballot, {"pot": pot, "receipt": "AAAA2222"})
        with pytest.raises(IntegrityError):  # UNIQUE(pot_id, identity)
            async with sessions.begin() as session:
                await session.execute(insert_ballot, {"pot": pot, "receipt": "BBBB3333"})
        await migrate.downgrade(engine, "0005")
        assert not TABLES & await _tables(engine)
        await migrate.upgrade(engine)
        assert await _tables(engine) >= TABLES
        async with sessions() as session:  # the rest of the data is still there
            assert (await session.execute(text("SELECT key FROM processes"))).scalar_one() == "old"
    finally:
        await engine.dispose()
