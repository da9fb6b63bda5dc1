"""An empty database upgrades to head; a database with data survives upgrade and a down/up cycle."""

from __future__ import annotations

from sqlalchemy import inspect

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
        await migrate.upgrade(engine, "0001")
        async with sessions.begin() as session:
            await city_service.load(session, load_city(DEFAULT_CITY_FILE))
            known = await residents.get_or_create(session, 777)
            residents.set_language(known.resident, "en")
        await migrate.upgrade(engine)
        await migrate.upgrade(engine)  # running it again is harmless
        async with sessions() as session:
            resident = await residents.by_telegram_id(session, 777)
            assert resident is not None and resident.language == "en"
            assert await geography.count_neighborhoods(session) == 1308
    finally:
        await engine.dispose()
