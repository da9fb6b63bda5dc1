"""SQLAlchemy's aiosqlite adapter, with statements run on the event loop's thread unless they must wait.

aiosqlite runs each call on the SQLite connection's own thread and wakes the event loop with its
result: a queue put, a thread switch and a wake-up of the loop, about 0.1 to 0.2 ms of CPU a call here,
where SQLite itself answers one of the bot's statements on a local file in some tens of microseconds.
SQLAlchemy's adapter makes four such trips a statement (open a cursor, execute, fetch the rows, close
the cursor) and one for a commit.

Here a statement (cursor, execute, fetch, close), a transaction's BEGIN (`begin_immediate`), a commit
and a rollback run at once on the loop's thread, with SQLite told not to wait for locks (`busy_timeout`
0). The only thing one of them can wait for is another process's write lock (the worker, the command
line, a backup on the same file): SQLite then answers SQLITE_BUSY at once, without having done
anything, and the same call is made again on aiosqlite's thread with the engine's busy timeout (the
`timeout` connect argument), so the loop goes on with other people's updates meanwhile. Within a process nothing waits: the engine has one connection
(`storage.db.make_engine`), and a transaction takes the write lock when it begins (`BEGIN IMMEDIATE`),
so once begun nothing in it waits for a lock.

The connection is opened on aiosqlite's thread as before, with `check_same_thread=False`: the SQLite
library is built serialized here (`sqlite3.threadsafety == 3`), and calls never overlap, since a call on
the loop's thread runs to its end before anything else on the loop, and one sent to the thread holds the
adapter's lock, which a call on the loop's thread checks first. Server-side cursors (`stream_results`)
keep SQLAlchemy's own class.
"""

from __future__ import annotations

import collections
import sqlite3
from collections.abc import Callable
from typing import Any, TypeVar

import aiosqlite
from sqlalchemy import exc
from sqlalchemy.dialects.sqlite.aiosqlite import (
    AsyncAdapt_aiosqlite_connection,
    AsyncAdapt_aiosqlite_cursor,
    AsyncAdapt_aiosqlite_dbapi,
)
from sqlalchemy.util.concurrency import await_

T = TypeVar("T")

DEFAULT_BUSY_TIMEOUT_S = 5.0  # sqlite3.connect's own default


def _busy(error: sqlite3.OperationalError) -> bool:
    """SQLITE_BUSY or one of its extended codes: another connection holds a lock this call needs."""
    code = getattr(error, "sqlite_errorcode", None)
    return code is not None and code & 0xFF == sqlite3.SQLITE_BUSY


class InlineCursor(AsyncAdapt_aiosqlite_cursor):
    __slots__ = ("_description", "_rowcount", "_lastrowid")

    _awaitable_cursor_close = False  # nothing is left open once a statement has run

    def __init__(self, adapt_connection: _Connection) -> None:
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

    async def _run(self, call: Callable[[sqlite3.Connection], Any], *, atomic: bool = True) -> None:
        found = await self._adapt_connection.run(call, atomic=atomic)  # type: ignore[attr-defined]
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

        await self._run(run, atomic=False)  # outside a transaction each statement commits as it runs


class _Connection(AsyncAdapt_aiosqlite_connection):
    __slots__ = ("_busy_timeout_ms",)

    _cursor_cls = InlineCursor

    def __init__(self, dbapi: Any, connection: aiosqlite.Connection, busy_timeout_s: float) -> None:
        super().__init__(dbapi, connection)
        self._busy_timeout_ms = round(busy_timeout_s * 1000)

    async def run(self, call: Callable[[sqlite3.Connection], T], *, atomic: bool = True) -> T:
        """`call` on the loop's thread; on aiosqlite's thread, waiting up to the busy timeout, if it
        would have to wait for another process's lock (or a call is already waiting there).

        A call SQLite refused as busy did nothing, so it is made again; `atomic=False` marks one that
        may have done part of its work first (several statements outside a transaction, each committed
        as it runs), which goes to the thread at once instead."""
        connection: aiosqlite.Connection = self._connection  # type: ignore[assignment]
        mutex = self._execute_mutex
        if not mutex.locked() and (atomic or connection._conn.in_transaction):  # noqa: SLF001
            try:
                return call(connection._conn)  # noqa: SLF001
            except sqlite3.OperationalError as error:
                if not _busy(error):
                    raise
        wait = self._busy_timeout_ms

        def waiting(conn: sqlite3.Connection) -> T:
            conn.execute(f"PRAGMA busy_timeout = {wait}")
            try:
                return call(conn)
            finally:
                conn.execute("PRAGMA busy_timeout = 0")

        async with mutex:
            return await connection._execute(waiting, connection._conn)  # noqa: SLF001

    def commit(self) -> None:
        self._end(sqlite3.Connection.commit)

    def rollback(self) -> None:
        self._end(sqlite3.Connection.rollback)

    def _end(self, how: Callable[[sqlite3.Connection], None]) -> None:
        """A commit or a rollback, as SQLAlchemy's adapter ends them (nothing to end once closed)."""
        if self._connection._connection:  # noqa: SLF001
            try:
                await_(self.run(how))
            except Exception as error:
                self._handle_exception(error)


def begin_immediate(dbapi_connection: Any) -> bool:
    """`BEGIN IMMEDIATE` made straight on an inline connection: on the loop's thread, or on aiosqlite's
    if it must wait for another process's lock, as any call (`_Connection.run`). Made as a statement
    through SQLAlchemy it cost every transaction its execution, about 50 µs of CPU more here. A failure
    is raised as SQLAlchemy's error for it ("database is locked" past the busy timeout is its
    `OperationalError`), as the statement's was. False, doing nothing, for a connection that is not
    inline."""
    if not isinstance(dbapi_connection, _Connection):
        return False
    try:
        await_(dbapi_connection.run(_begin_immediate))
    except sqlite3.Error as error:
        raise exc.DBAPIError.instance("BEGIN IMMEDIATE", None, error, sqlite3.Error) from error
    return True


def _begin_immediate(connection: sqlite3.Connection) -> None:
    connection.execute("BEGIN IMMEDIATE")


class InlineDBAPI(AsyncAdapt_aiosqlite_dbapi):
    """The DBAPI module to give `create_async_engine(..., module=...)` for a `sqlite+aiosqlite` URL. The
    `timeout` connect argument is how long a call may wait for another process's lock, on the thread."""

    def connect(self, *arg: Any, **kw: Any) -> _Connection:
        busy_timeout_s = kw.pop("timeout", DEFAULT_BUSY_TIMEOUT_S)
        kw["timeout"] = 0  # on the loop's thread a lock held elsewhere answers at once, never waits
        kw["check_same_thread"] = False
        adapted = super().connect(*arg, **kw)
        return _Connection(self, adapted._connection, busy_timeout_s)


def inline_dbapi() -> InlineDBAPI:
    return InlineDBAPI(aiosqlite, sqlite3)
