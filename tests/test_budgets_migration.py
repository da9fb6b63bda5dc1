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


async def test_0013_keeps_on_each_ballot_where_its_voter_lives_and_goes_down_and_up(
    empty_database_url: str,
) -> None:
    """Ballots confirmed before 0013 take their voter's neighborhood; an imported one (no resident) none;
    the choices (ON DELETE CASCADE to the ballots) are untouched: no batch copy of the table."""
    engine = make_engine(empty_database_url)
    sessions = make_session_factory(engine)
    try:
        await migrate.upgrade(engine, "0012")
        async with sessions.begin() as session:
            await city_service.load(session, load_city(DEFAULT_CITY_FILE))
            run = session.execute
            hood = (await run(text("SELECT id FROM neighborhoods ORDER BY id LIMIT 1"))).scalar_one()
            await run(text("INSERT INTO residents (telegram_id, language, neighborhood_id, reachable, created_at) "
                           "VALUES (888, 'tr', :h, true, CURRENT_TIMESTAMP)"), {"h": hood})  # fmt: skip
            voter = (await run(text("SELECT id FROM residents WHERE telegram_id = 888"))).scalar_one()
            await run(text("INSERT INTO processes (key, names, scope, idea_limit, created_at) "
                           "VALUES ('p', '{}', 'city', 3, CURRENT_TIMESTAMP)"))  # fmt: skip
            process = (await run(text("SELECT id FROM processes"))).scalar_one()
            await run(text("INSERT INTO budget_pots (process_id, names, scope, budget, ballot_kind, rule, meta, "
                           "position, created_at) VALUES (:p, '{}', 'city', 100, 'knapsack', 'greedy', '{}', 0, "
                           "CURRENT_TIMESTAMP)"), {"p": process})  # fmt: skip
            pot = (await run(text("SELECT id FROM budget_pots"))).scalar_one()
            await run(text("INSERT INTO budget_projects (pot_id, code, titles, summaries, cost, status, fields, "
                           "position) VALUES (:pot, '1', '{}', '{}', 10, 'proposed', '{}', 0)"), {"pot": pot})  # fmt: skip
            project = (await run(text("SELECT id FROM budget_projects"))).scalar_one()
            ballot = text("INSERT INTO budget_ballots (pot_id, identity, resident_id, receipt, voter_label, "
                          "confirmed_at) VALUES (:pot, :who, :voter, :receipt, :label, CURRENT_TIMESTAMP)")  # fmt: skip
            await run(ballot, {"pot": pot, "who": "x", "voter": voter, "receipt": "AAAA2222", "label": None})
            await run(ballot, {"pot": pot, "who": "pb:1", "voter": None, "receipt": "I0000001", "label": "1"})
            await run(text("INSERT INTO budget_choices (ballot_id, project_id, position) "
                           "SELECT id, :pj, 0 FROM budget_ballots"), {"pj": project})  # fmt: skip
        for _cycle in range(2):
            await migrate.upgrade(engine)
            async with sessions() as session:
                rows = await session.execute(
                    text("SELECT receipt, neighborhood_id FROM budget_ballots ORDER BY receipt")
                )
                assert rows.all() == [("AAAA2222", hood), ("I0000001", None)]
                assert (await session.execute(text("SELECT count(*) FROM budget_choices"))).scalar_one() == 2
            await migrate.downgrade(engine, "0012")
            async with engine.connect() as conn:
                columns = await conn.run_sync(
                    lambda c: {col["name"] for col in inspect(c).get_columns("budget_ballots")}
                )
            assert "neighborhood_id" not in columns
            async with sessions() as session:
                assert (await session.execute(text("SELECT count(*) FROM budget_choices"))).scalar_one() == 2
    finally:
        await engine.dispose()
