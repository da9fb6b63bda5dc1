"""An empty database upgrades to head; a database with data survives upgrade and a down/up cycle."""

from __future__ import annotations

from sqlalchemy import inspect, text

from bot.config import DEFAULT_CITY_FILE, load_city
from bot.services import city as city_service
from bot.services import geography, residents
from storage import migrate
from storage.db import make_engine, make_session_factory
from storage.models import Base


async def test_empty_database_upgrades_to_head_matching_models(empty_database_url: str) -> None:
    engine = make_engine(empty_database_url)
    try:
        await migrate.upgrade(engine)
        head = await migrate.current(engine)
        assert head is not None

        def tables(conn) -> set[str]:  # noqa: ANN001
            return set(inspect(conn).get_table_names())

        async with engine.connect() as conn:
            found = await conn.run_sync(tables)
        assert set(Base.metadata.tables) <= found

        def diff(conn) -> list:  # noqa: ANN001
            from alembic.autogenerate import compare_metadata
            from alembic.migration import MigrationContext

            return compare_metadata(MigrationContext.configure(conn), Base.metadata)

        async with engine.connect() as conn:
            assert await conn.run_sync(diff) == []
    finally:
        await engine.dispose()


async def test_data_survives_upgrade(empty_database_url: str) -> None:
    engine = make_engine(empty_database_url)
    sessions = make_session_factory(engine)
    try:
        await migrate.upgrade(engine, "0002")
        async with sessions.begin() as session:
            await city_service.load(session, load_city(DEFAULT_CITY_FILE))
            # written as the 0002 schema had it: one column per notification kind
            await session.execute(
                text(
                    "INSERT INTO residents (telegram_id, language, notify_phases, notify_events, notify_council, "
                    "reachable, created_at) VALUES (777, 'en', true, false, true, true, CURRENT_TIMESTAMP)"
                )
            )
        await migrate.upgrade(engine)
        await migrate.upgrade(engine)  # running it again is harmless
        async with sessions() as session:
            resident = await residents.by_telegram_id(session, 777)
            assert resident is not None and resident.language == "en"
            assert await geography.count_neighborhoods(session) == 1308
            choices = (
                await session.execute(text("SELECT category, enabled FROM notification_choices"))
            ).all()
            assert [(c, bool(e)) for c, e in choices] == [("events", False)]  # the "off" survived
            assert (await residents.notifications(session, resident.id))[
                "ideas"
            ] is True  # a new category's default
    finally:
        await engine.dispose()
