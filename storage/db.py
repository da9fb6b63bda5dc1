"""Engine and session factory: one code path for SQLite (aiosqlite) and PostgreSQL (asyncpg)."""

from __future__ import annotations

import time
from contextvars import ContextVar
from typing import Any

from sqlalchemy import Engine, event, exc
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

from storage.sqlite import begin_immediate, inline_dbapi

SQLITE_BUSY_TIMEOUT_MS = 10_000
# how long a transaction may wait for the process's one SQLite connection
SQLITE_POOL_TIMEOUT_S = 60
# a pooled server connection unused for longer than this is pinged before it is handed out
PING_AFTER_IDLE_S = 10.0
# server connections a process keeps once it has opened them (as many as Telegram's calls at once, by
# default), and how many more it opens beyond those, each closed when handed back
SERVER_POOL_SIZE = 40
SERVER_MAX_OVERFLOW = 10

# The session of the update being handled, so that the conversation state is written in the same
# transaction as the update's data: both are committed together or rolled back together.
current_session: ContextVar[AsyncSession | None] = ContextVar("meydan_current_session", default=None)


def make_engine(
    url: str, *, pool_size: int | None = None, max_overflow: int | None = None, **kwargs: Any
) -> AsyncEngine:
    """Create the engine; SQLite gets WAL mode, a busy timeout, enforced foreign keys, transactions
    that take the write lock when they begin (`BEGIN IMMEDIATE`) and one connection per engine (the bot
    makes one engine per process). Statement parameters (what people typed) never appear in logs or in
    error messages, at any log level.

    SQLite runs one writing transaction at a time, and every transaction here may write (a session that
    only reads, `reading`, begins none). With several connections in one process, the transactions
    waiting for the lock would retry in SQLite's busy handler, which sleeps and polls: under tens of
    people at once the unlucky ones wait past the busy timeout and fail with "database is locked". With
    one connection the process's transactions queue for it in order (the pool's queue, first come first
    served) and never meet the busy handler; it remains for other processes on the same file (a separate
    `meydan worker`, the command line).

    A server database (PostgreSQL) keeps up to `pool_size` connections open once it has needed them
    (`SERVER_POOL_SIZE`), and opens up to `max_overflow` more, each closed when it is handed back. A
    connection made costs the process about 2.6 ms of CPU and the server a new backend, and its
    statements are prepared again on first use, so connections opened for a burst and closed after it
    are paid again at every burst: with SQLAlchemy's default of five kept and ten more, twenty people
    voting at once made 233 connections in 3,152 updates; with twenty kept and twenty more, forty calls
    at once made 97 in 1,560. Telegram makes at most WEBHOOK_MAX_CONNECTIONS calls at once (40 by
    default) over all instances, so a process that keeps that many never opens one again in steady
    use (`bench/README.md`); the ten more are for the scheduler and the outbox worker of `meydan run`.
    `pool_size` and `max_overflow` do not apply to SQLite, which keeps its one connection."""
    kwargs.setdefault("hide_parameters", True)
    if url.startswith("sqlite"):
        if ":memory:" not in url:
            kwargs.setdefault("pool_size", 1)
            kwargs.setdefault("max_overflow", 0)
            kwargs.setdefault("pool_timeout", SQLITE_POOL_TIMEOUT_S)
        inline = url.startswith("sqlite+aiosqlite") and "module" not in kwargs
        if inline:
            kwargs["module"] = inline_dbapi()  # statements on the loop's thread unless they must wait
        connect_args = {"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000, **kwargs.pop("connect_args", {})}
        engine = create_async_engine(url, connect_args=connect_args, **kwargs)

        @event.listens_for(engine.sync_engine, "connect")
        def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            if ":memory:" not in url:
                cursor.execute("PRAGMA journal_mode=WAL")
            if not inline:  # inline, the connection never waits; a call that must is sent to the thread
                cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.close()
            # SQLAlchemy, not the driver, begins transactions (the driver would begin only at the first
            # write, so a check read before it would not be part of the transaction)
            dbapi_connection.isolation_level = None

        @event.listens_for(engine.sync_engine, "begin")
        def _begin_immediate(connection: Any) -> None:
            # every transaction takes SQLite's write lock when it begins: what a transaction reads and
            # then writes is never changed by another in between (SQLite runs one writer at a time anyway);
            # a session that only reads (`reading`) begins none, and each of its statements runs alone
            if connection.get_execution_options().get(READS_ONLY):
                return
            if not begin_immediate(connection.connection.dbapi_connection):
                connection.exec_driver_sql("BEGIN IMMEDIATE")

        _refuse_writes_when_reading(engine)
        return engine
    if "poolclass" not in kwargs:  # another pool (NullPool) takes no size
        kwargs["pool_size"] = SERVER_POOL_SIZE if pool_size is None else pool_size
        kwargs["max_overflow"] = SERVER_MAX_OVERFLOW if max_overflow is None else max_overflow
    engine = create_async_engine(url, **kwargs)
    if not kwargs.get("pool_pre_ping"):
        _ping_when_idle(engine)
    _refuse_writes_when_reading(engine)
    return engine


# the execution option of a connection that only reads (`reading`)
READS_ONLY = "meydan_reads_only"
_READING = {
    "postgresql": {READS_ONLY: True, "isolation_level": "AUTOCOMMIT"},
    "sqlite": {READS_ONLY: True},
}


class WriteWhileReading(RuntimeError):
    """A statement other than a SELECT in a session that was to read only (`reading`)."""


# where a reading session's writer is kept (`session.info`), for `writing`
_WRITER = "meydan_writer"
# set in `session.info` once the update has said something to Telegram (`bot/middlewares/database.py`)
SPOKEN = "meydan_spoken"


# where a session of `make_session_factory` finds its engine and that engine's reading twin
_READER = "meydan_reader"


def _reader(engine: Engine) -> Engine:
    """`engine`'s reading twin: the same pool, dialect and events, with the options of a connection
    that reads. Made in 5 to 15 µs, so once for a session factory's sessions; a session made otherwise
    (a test's, a bench's) gets one made when it begins to read."""
    return engine.execution_options(**_READING[engine.dialect.name])


def reading(session: AsyncSession) -> None:
    """Have `session` read without a transaction from now on, for the rest of its life: each statement
    runs on its own, with no BEGIN and no COMMIT. On PostgreSQL that is two round trips fewer
    (`AUTOCOMMIT`); on SQLite no `BEGIN IMMEDIATE`, so the write lock is not taken and another process
    (the worker, the command line) writes meanwhile. For what only shows something: what it reads is not
    one snapshot, and nothing it reads is written back. Anything but a SELECT in such a session is
    refused (`WriteWhileReading`) before it reaches the database, also after a commit (an update's
    first message to Telegram commits, and the next statement begins anew). A connection is handed back
    to the pool as it was when its transaction ends."""
    if _WRITER in session.info:
        return
    engine = session.sync_session.bind
    if not isinstance(engine, Engine):
        raise TypeError("only a session bound to one engine can read")
    session.info[_WRITER] = engine
    writer, reader = session.info.get(_READER, (None, None))
    if writer is not engine:
        reader = _reader(engine)
    session.sync_session.bind = reader


async def flush_changes(session: AsyncSession) -> None:
    """Flush the session's changes, if it holds any: a flush with none still costs an await into
    SQLAlchemy's greenlet and its check, about 10 µs."""
    sync = session.sync_session
    if sync.new or sync.dirty or sync.deleted:
        await session.flush()


def is_reading(session: AsyncSession) -> bool:
    """Whether `session` reads only (`reading`)."""
    return _WRITER in session.info


async def writing(session: AsyncSession) -> None:
    """The session that was `reading` may write again: what it began is rolled back, and its next
    transaction is one like any other. Nothing for a session that was not reading."""
    engine = session.info.pop(_WRITER, None)
    if engine is None:
        return
    await session.rollback()
    session.sync_session.bind = engine


class ChangeNeeded(Exception):  # noqa: N818 - a signal, not an error
    """Raised by `will_write` in a session that reads only: the update is to be handled again, from its
    start, as one that writes (`bot/middlewares/resident.py`)."""


def will_write(session: AsyncSession) -> None:
    """Said by a view's handler before its first write and before it sends anything, when what it found
    asks for a write after all (a pot whose process asks for verification first: its prompt sets the
    conversation's state). In a session that reads only (`reading`) it raises `ChangeNeeded`, and the
    update is handled again as a change; in any other session it does nothing. Once the update has said
    something (`SPOKEN`) it cannot be handled again without saying it twice: the write is refused
    (`WriteWhileReading`), as a write would be."""
    if _WRITER in session.info:
        if session.info.get(SPOKEN):
            raise WriteWhileReading("a view that has answered cannot become a change")
        raise ChangeNeeded


def refuse_if_reading(session: AsyncSession) -> None:
    """A write to a store beside the database (the conversation state in Redis) in a session that reads
    only (`reading`) is refused as a statement that writes would be (`WriteWhileReading`): a view
    writes nowhere, whichever store holds what it would change."""
    if _WRITER in session.info:
        raise WriteWhileReading("a write to the conversation state in a session that reads only")


def _refuse_writes_when_reading(engine: AsyncEngine) -> None:
    @event.listens_for(engine.sync_engine, "before_cursor_execute")
    def _only_reads(
        connection: Any, _cursor: Any, statement: str, _parameters: Any, _context: Any, _many: bool
    ) -> None:
        reads_only = connection.get_execution_options().get(READS_ONLY)
        if reads_only and statement.lstrip()[:6].upper() != "SELECT":
            raise WriteWhileReading("a statement that writes in a session that reads only")


def _ping_when_idle(engine: AsyncEngine) -> None:
    """A pooled connection that has been idle is pinged before it is used; a dead one (the server was
    restarted, a proxy dropped it) is replaced at once, and the update never sees it.

    SQLAlchemy's `pool_pre_ping` pings at every checkout: with asyncpg that is a BEGIN, a `;` and a
    ROLLBACK, three round trips, once per update, about as much CPU as two of the update's own
    statements. A connection in steady use was alive a moment ago, so only one left unused longer than
    `PING_AFTER_IDLE_S` is pinged. Under load a server restart can still reach one update through a
    connection used just before it: that update fails and the person is asked to try again in a moment
    (`handlers/core/errors.py`), SQLAlchemy discards every connection of the pool on that error, and the
    next update is served by a fresh one."""

    @event.listens_for(engine.sync_engine, "checkin")
    def _idle_since(_dbapi_connection: Any, record: Any) -> None:
        record.info["meydan_idle_since"] = time.monotonic()

    @event.listens_for(engine.sync_engine, "checkout")
    def _ping_if_idle(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        since = record.info.pop("meydan_idle_since", None)
        if since is None or time.monotonic() - since <= PING_AFTER_IDLE_S:
            return  # new, or used a moment ago
        try:
            engine.dialect.do_ping(dbapi_connection)
        except Exception as error:  # the pool retries with a new connection
            raise exc.DisconnectionError("an idle connection did not answer its ping") from error


def make_session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Sessions on `engine`, each given the engine's reading twin (`reading`), made once here."""
    writer = engine.sync_engine
    return async_sessionmaker(engine, expire_on_commit=False, info={_READER: (writer, _reader(writer))})
