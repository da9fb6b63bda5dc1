"""SQLAlchemy's aiosqlite adapter with one trip to the connection's thread per statement.

aiosqlite runs each call on the SQLite connection's own thread and wakes the event loop with its
result. SQLAlchemy's adapter makes four such trips for a statement (open a cursor, execute, fetch the
rows, close the cursor), each a queue put, a thread switch and a wake-up of the loop: a fifth of the
bot's CPU on an update's handful of statements on a local file, more than SQLite's own work. Here the
cursor is opened, the statement run, its rows fetched and the cursor closed in one call on that thread.
Server-side cursors (`stream_results`) keep SQLAlchemy's own class.
"""

from __future__ import annotations

import collections
import sqlite3
from typing import Any

import aiosqlite
from sqlalchemy.dialects.sqlite.aiosqlite import (
    AsyncAdapt_aiosqlite_connection,
    AsyncAdapt_aiosqlite_cursor,
    AsyncAdapt_aiosqlite_dbapi,
)


class OneTripCursor(AsyncAdapt_aiosqlite_cursor):
    __slots__ = ("_description", "_rowcount", "_lastrowid")

    _awaitable_cursor_close = False  # nothing is left open on the thread once a statement has run

    def __init__(self, adapt_connection: AsyncAdapt_aiosqlite_connection) -> None:
        self._adapt_connection = adapt_connection
        self._connection = adapt_connection._connection
        self._cursor = None  # type: ignore[assignment]
        self._soft_closed_memoized = {}  # type: ignore[assignment]
        self._rows = collections.deque()
        self._description: Any = None
        self._rowcount = -1
        self._lastrowid: int | None = None

    @property
    def description(self) -> Any:
        return self._description

    @property
    def rowcount(self) -> int:
        return self._rowcount

    @property
    def lastrowid(self) -> int:
        return self._lastrowid  # type: ignore[return-value]

    @property
    def arraysize(self) -> int:
        return 1

    async def _run(self, run_on_thread: Any) -> Any:
        async with self._adapt_connection._execute_mutex:
            connection: aiosqlite.Connection = self._connection  # type: ignore[assignment]
            found = await connection._execute(run_on_thread, connection._conn)  # noqa: SLF001
        self._description, self._rowcount, self._lastrowid, rows = found
        self._rows = collections.deque(rows) if rows is not None else collections.deque()

    async def _execute_async(self, operation: Any, parameters: Any) -> Any:
        def run(conn: sqlite3.Connection) -> tuple[Any, int, int | None, list[Any] | None]:
            cursor = conn.cursor()
            try:
                cursor.execute(operation) if parameters is None else cursor.execute(operation, parameters)
                rows = cursor.fetchall() if cursor.description else None
                return cursor.description, cursor.rowcount, cursor.lastrowid, rows
            finally:
                cursor.close()

        await self._run(run)

    async def _executemany_async(self, operation: Any, seq_of_parameters: Any) -> Any:
        def run(conn: sqlite3.Connection) -> tuple[Any, int, int | None, list[Any] | None]:
            cursor = conn.cursor()
            try:
                cursor.executemany(operation, seq_of_parameters)
                return cursor.description, cursor.rowcount, cursor.lastrowid, None
            finally:
                cursor.close()

        await self._run(run)


class _Connection(AsyncAdapt_aiosqlite_connection):
    __slots__ = ()
    _cursor_cls = OneTripCursor


class OneTripDBAPI(AsyncAdapt_aiosqlite_dbapi):
    """The DBAPI module to give `create_async_engine(..., module=...)` for a `sqlite+aiosqlite` URL."""

    def connect(self, *arg: Any, **kw: Any) -> _Connection:
        adapted = super().connect(*arg, **kw)
        return _Connection(self, adapted._connection)


def one_trip_dbapi() -> OneTripDBAPI:
    return OneTripDBAPI(aiosqlite, sqlite3)
