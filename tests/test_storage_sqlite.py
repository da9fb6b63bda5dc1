"""A statement on SQLite makes one trip to aiosqlite's thread, and answers as SQLAlchemy's adapter does."""

from __future__ import annotations

from pathlib import Path

import aiosqlite
import pytest
from sqlalchemy import exc, text

from storage.db import make_engine
from storage.sqlite import OneTripCursor


async def test_one_trip_a_statement(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    trips: list[str] = []
    execute = aiosqlite.Connection._execute  # noqa: SLF001 - what is counted is this private call

    async def counted(self, fn, *args, **kwargs):  # noqa: ANN001, ANN202
        trips.append(getattr(fn, "__name__", "?"))
        return await execute(self, fn, *args, **kwargs)

    monkeypatch.setattr(aiosqlite.Connection, "_execute", counted)
    engine = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'one.db'}")
    try:
        async with engine.begin() as connection:
            raw = await connection.get_raw_connection()
            assert isinstance(raw.driver_connection, aiosqlite.Connection)
            assert isinstance(raw.dbapi_connection.cursor(), OneTripCursor)
            await connection.execute(text("CREATE TABLE ideas (id INTEGER PRIMARY KEY, title TEXT UNIQUE)"))
            trips.clear()
            added = await connection.execute(
                text("INSERT INTO ideas (title) VALUES (:t)"), {"t": "Çınaraltı"}
            )
            assert trips == ["run"] and added.rowcount == 1 and added.lastrowid == 1
            many = await connection.execute(
                text("INSERT INTO ideas (title) VALUES (:t)"), [{"t": "Gölge"}, {"t": "Şadırvan"}]
            )
            assert many.rowcount == 2
            trips.clear()
            rows = (await connection.execute(text("SELECT id, title FROM ideas ORDER BY id"))).all()
            assert trips == ["run"] and rows == [(1, "Çınaraltı"), (2, "Gölge"), (3, "Şadırvan")]
            returned = await connection.execute(
                text("UPDATE ideas SET title = title || '!' WHERE id > :n RETURNING id"), {"n": 1}
            )
            assert sorted(returned.scalars()) == [2, 3]
            empty = await connection.execute(text("SELECT id FROM ideas WHERE id > 99"))
            assert empty.first() is None
            with pytest.raises(exc.IntegrityError):  # the driver's error, wrapped as SQLAlchemy wraps it
                await connection.execute(text("INSERT INTO ideas (title) VALUES ('Gölge!')"))
    finally:
        await engine.dispose()
