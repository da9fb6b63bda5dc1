"""A hot statement run on the database's own library, in the session's connection and transaction.

A statement through `AsyncSession.execute` passes SQLAlchemy's ORM session, its execution context and
its result around the driver's call: on SQLite about 45 µs of CPU for an UPDATE whose own work in the
library is 4 (`bench/README.md`, "The statements of every press on the database's own library"), and
every press makes two to four. `Direct` compiles a Core statement once for each dialect (its SQL, the
order of its parameters, the type processing of each parameter and each result column, all as
SQLAlchemy would do them) and runs it on the session's own connection through the library: on SQLite
the inline connection's `run` (`storage.sqlite`), on the loop's thread; on PostgreSQL asyncpg's `fetch`
and `execute`.

It runs there only where the session's transaction is known to be the connection's own:

- a session that reads only (`storage.db.reading`): on PostgreSQL its connection is in autocommit and
  each statement stands alone, as SQLAlchemy would run it; on SQLite no transaction is begun;
- on SQLite any session: its transaction begins (`BEGIN IMMEDIATE`) when SQLAlchemy hands the session
  its connection, so a statement on that connection is inside it;
- on PostgreSQL a writing session: SQLAlchemy's asyncpg adapter begins the transaction (BEGIN) before
  the first statement that SQLAlchemy sends on the connection. Where the connection has no transaction
  yet (asyncpg's `is_in_transaction`), `Direct` begins it the same way, with the adapter's own
  `_start_transaction`, so that the adapter commits or rolls it back as one it began; the connection
  is then the session's alone until the transaction ends. An update's first statement, the person's
  read with the claim, so runs on the library as its later ones do.

Changes the session holds are flushed first, as `AsyncSession.execute` would (autoflush). Anywhere
else (another driver, an SQLite engine that is not inline) the statement goes through
`AsyncSession.execute` as any other. After an error of the library the statement runs again through
SQLAlchemy, which raises the error and handles a dead connection as its own, where that is safe; in a
PostgreSQL transaction, which the error has aborted, the error is raised as SQLAlchemy raises it
(`_failed`).

The engine's `before_cursor_execute` listeners hear each statement as they would from SQLAlchemy (the
refusal of writes in a reading session, `storage.db`; the benchmarks' statement count), but on the
event loop, outside SQLAlchemy's greenlet: a listener must not run statements itself. Rows come back
as tuples (asyncpg's records where no column needs processing), in the statement's column order, each
value as SQLAlchemy's result would give it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any
from weakref import ref

from sqlalchemy import Connection, Engine, Executable
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError, MultipleResultsFound
from sqlalchemy.ext.asyncio import AsyncSession

from storage.db import flush_changes, is_reading
from storage.sqlite import InlineDBAPI

_MISSING = object()


@dataclass(frozen=True, slots=True)
class _Compiled:
    sql: str
    # each positional parameter: its key in the values given, its value when not given, its processor
    params: tuple[tuple[str, Any, Callable[[Any], Any] | None], ...]
    # the result columns that need processing, with their processor; None until the types of the
    # columns as the database gives them are known, where a processor depends on them (`_results`)
    results: tuple[tuple[int, Callable[[Any], Any]], ...] | None

    def arguments(self, values: Mapping[str, Any]) -> tuple[Any, ...]:
        bound = []
        for key, default, process in self.params:
            value = values.get(key, default)
            if value is _MISSING:
                raise KeyError(f"no value for the parameter {key!r}")
            bound.append(value if process is None else process(value))
        return tuple(bound)

    def rows(self, found: Sequence[Any]) -> Sequence[Any]:
        if self.results is None:
            raise TypeError("the result's processors wait for the types of its columns")
        if not self.results:
            return found
        processed = []
        for row in found:
            values = list(row)
            for index, process in self.results:
                values[index] = process(values[index])
            processed.append(tuple(values))
        return processed


def _compile(statement: Executable, dialect: Dialect) -> _Compiled:
    compiled = statement.compile(dialect=dialect)
    order = compiled.positiontup
    if order is None:
        raise TypeError(f"the {dialect.name} dialect does not bind parameters by position")
    params = []
    for name in order:
        bind = compiled.binds[name]
        if bind.expanding or bind.literal_execute or bind.callable is not None:
            raise TypeError(f"parameter {name!r}: a Direct statement binds each parameter as one value")
        default = _MISSING if bind.required else bind.value
        params.append((bind.key, default, bind.type.dialect_impl(dialect).bind_processor(dialect)))
    return _Compiled(str(compiled), tuple(params), _results(statement, dialect, None))


def _results(
    statement: Executable, dialect: Dialect, types: Sequence[Any] | None
) -> tuple[tuple[int, Callable[[Any], Any]], ...] | None:
    """The processor of each result column that needs one (a SELECT's columns, a change's RETURNING),
    as SQLAlchemy makes them from the cursor's description: given `types`, the columns' type codes as
    the database describes them (asyncpg: their type OIDs). Without them (None), None if a processor
    depends on them: on PostgreSQL a number's does (a `Float` read from a `numeric` column is made a
    float, from a `float8` one it already is); SQLite describes no types."""
    results = []
    for index, column in enumerate(statement.exported_columns):
        kind = column.type.dialect_impl(dialect)
        try:
            process = kind.result_processor(dialect, None if types is None else types[index])
        except Exception:
            if types is not None:
                raise
            return None
        if process is not None:
            results.append((index, process))
    return tuple(results)


# the databases and drivers a statement runs on directly
_KINDS = {("sqlite", "aiosqlite"): "sqlite", ("postgresql", "asyncpg"): "asyncpg"}

# where a session keeps the connection of its transaction for `Direct` (`session.info`)
_HELD = "meydan_direct_connection"


async def _connection(session: AsyncSession) -> Connection:
    """The connection of the session's transaction, begun if need be. Asked for again in the same
    transaction, it is the one kept in the session's `info` (`AsyncSession.connection` would find the
    same, through an await and SQLAlchemy's bookkeeping, about 14 µs): a transaction keeps its
    connection until it ends, and its next one, a new transaction, asks anew."""
    transaction = session.sync_session.get_transaction()
    held = session.info.get(_HELD)
    if held is not None and transaction is not None and transaction is held[0]() and transaction.is_active:
        return held[1]
    connection = (await session.connection()).sync_connection
    # the transaction by a weak reference: it refers to the session, whose `info` this is, and a cycle
    # would leave every update's session, transaction and connection to the garbage collector
    session.info[_HELD] = (ref(session.sync_session.get_transaction()), connection)
    return connection


def _failed(
    session: AsyncSession, connection: Connection, compiled: _Compiled, arguments: Any, error: Exception
) -> None:
    """After the library refused a statement: in a PostgreSQL transaction that may write, the error is
    raised as SQLAlchemy raises it (an `IntegrityError` for a unique key, and so on, its parameters
    hidden), since the transaction is now aborted and the statement cannot run again in it. Elsewhere
    (a session that reads only, whose statements stand alone; SQLite, where a refused statement leaves
    the transaction as it was) this returns, and the statement runs again through SQLAlchemy, which
    raises the error as its own and handles a connection found dead."""
    if connection.dialect.driver != "asyncpg" or is_reading(session):
        return
    dialect = connection.dialect
    try:
        connection.connection.dbapi_connection._handle_exception(error)  # noqa: SLF001 - the adapter's DBAPI error
    except Exception as translated:  # noqa: BLE001 - the DBAPI error, to wrap as SQLAlchemy does
        raise DBAPIError.instance(
            compiled.sql,
            arguments,
            translated,
            dialect.loaded_dbapi.Error,
            hide_parameters=True,
            dialect=dialect,
        ) from error
    raise error


async def _changed(driver: Any, compiled: _Compiled, arguments: tuple[Any, ...], _dialect: Dialect) -> int:
    """The rows a change made by asyncpg changed, from its status ("UPDATE 1", "INSERT 0 1")."""
    status = await driver.execute(compiled.sql, *arguments)
    return int(status.rpartition(" ")[2])


class Direct:
    """`statement` (Core, every parameter a single bound value), compiled once per dialect and run
    on the library where the session allows it (the module's text): `rows` and the rest for a SELECT,
    `execute` for a change."""

    __slots__ = ("statement", "_compiled")

    def __init__(self, statement: Executable) -> None:
        self.statement = statement
        self._compiled: dict[str, _Compiled] = {}

    def compiled(self, dialect: Dialect) -> _Compiled:
        found = self._compiled.get(dialect.name)
        if found is None:
            found = self._compiled[dialect.name] = _compile(self.statement, dialect)
        return found

    def _described(self, dialect: Dialect, columns: Sequence[Any]) -> _Compiled:
        """The statement compiled with its result processors made from the columns as asyncpg describes
        them (`_results`), once for the process."""
        compiled = self._compiled[dialect.name]
        types = [column.type.oid for column in columns]
        compiled = self._compiled[dialect.name] = replace(
            compiled, results=_results(self.statement, dialect, types)
        )
        return compiled

    @staticmethod
    def _kind(session: AsyncSession) -> str | None:
        """The library a statement of `session` may run on ("sqlite", "asyncpg"), None if SQLAlchemy
        runs it: another driver, or an SQLite engine that is not inline."""
        bind = session.sync_session.bind
        dialect = bind.dialect if isinstance(bind, Engine) else None
        kind = None if dialect is None else _KINDS.get((dialect.name, dialect.driver))
        if kind == "sqlite":
            return kind if isinstance(dialect.loaded_dbapi, InlineDBAPI) else None
        return kind

    async def _library(self, session: AsyncSession) -> tuple[str, Connection] | None:
        """The kind of library and the session's connection, if the statement may run on the library
        now; None if it goes through SQLAlchemy."""
        kind = self._kind(session)
        if kind is None:
            return None
        sync = session.sync_session
        writing = kind == "asyncpg" and not is_reading(session)
        if sync.autoflush:
            await flush_changes(session)
        connection = await _connection(session)
        if writing and not connection.connection.driver_connection.is_in_transaction():
            # the session's transaction, not begun on the connection yet: begun here as SQLAlchemy's
            # adapter begins it before its first statement, so that it commits or rolls it back as its own
            try:
                await connection.connection.dbapi_connection._start_transaction()  # noqa: SLF001
            except Exception:  # noqa: BLE001 - SQLAlchemy runs the statement, begins, and raises as its own
                return None
        return kind, connection

    def _sent(self, connection: Connection, values: Mapping[str, Any]) -> tuple[_Compiled, tuple[Any, ...]]:
        """The compiled statement and its arguments, told to the engine's listeners as SQLAlchemy tells
        them of a statement it sends (a write in a session that reads only is refused there)."""
        compiled = self.compiled(connection.dialect)
        arguments = compiled.arguments(values)
        connection.dispatch.before_cursor_execute(connection, None, compiled.sql, arguments, None, False)
        return compiled, arguments

    async def _on_library(
        self,
        session: AsyncSession,
        values: Mapping[str, Any],
        on_sqlite: Callable[[Any, _Compiled, tuple[Any, ...]], Any],
        on_asyncpg: Callable[[Any, _Compiled, tuple[Any, ...], Dialect], Awaitable[Any]],
    ) -> Any:
        """What the statement gives run on the library: `on_sqlite` with the `sqlite3` connection, the
        compiled statement and its arguments, `on_asyncpg` with the asyncpg connection, those and the
        dialect; `_MISSING` where SQLAlchemy is to run it (`_library`, `_failed`)."""
        found = await self._library(session)
        if found is None:
            return _MISSING
        kind, connection = found
        compiled, arguments = self._sent(connection, values)
        library = connection.connection
        try:
            if kind == "sqlite":
                return await library.dbapi_connection.run(
                    lambda sqlite: on_sqlite(sqlite, compiled, arguments)
                )
            return await on_asyncpg(library.driver_connection, compiled, arguments, connection.dialect)
        except Exception as error:  # noqa: BLE001 - raised or run again as SQLAlchemy's (`_failed`)
            _failed(session, connection, compiled, arguments, error)
            return _MISSING

    async def _fetched(
        self, driver: Any, compiled: _Compiled, arguments: tuple[Any, ...], dialect: Dialect
    ) -> Any:
        """The rows from asyncpg; the first time, its description of the columns makes their processors."""
        if compiled.results is None:
            prepared = await driver.prepare(compiled.sql)
            compiled = self._described(dialect, prepared.get_attributes())
            return compiled.rows(await prepared.fetch(*arguments))
        return compiled.rows(await driver.fetch(compiled.sql, *arguments))

    async def rows(self, session: AsyncSession, values: Mapping[str, Any]) -> Sequence[Any]:
        """Every row of the statement bound with `values`, as the session would read them."""
        found = await self._on_library(
            session,
            values,
            lambda sqlite, compiled, arguments: compiled.rows(
                sqlite.execute(compiled.sql, arguments).fetchall()
            ),
            self._fetched,
        )
        return (await session.execute(self.statement, values)).all() if found is _MISSING else found

    async def execute(self, session: AsyncSession, values: Mapping[str, Any]) -> int:
        """Run the change bound with `values`; the number of rows it changed, as a result's `rowcount`."""
        found = await self._on_library(
            session,
            values,
            lambda sqlite, compiled, arguments: sqlite.execute(compiled.sql, arguments).rowcount,
            _changed,
        )
        return (await session.execute(self.statement, values)).rowcount if found is _MISSING else found

    async def first(self, session: AsyncSession, values: Mapping[str, Any]) -> Sequence[Any] | None:
        """The statement's first row, None if there is none."""
        found = await self.rows(session, values)
        return found[0] if found else None

    async def scalar(self, session: AsyncSession, values: Mapping[str, Any]) -> Any:
        """The first column of the first row, None if there is none."""
        found = await self.rows(session, values)
        return found[0][0] if found else None

    async def one_or_none(self, session: AsyncSession, values: Mapping[str, Any]) -> Sequence[Any] | None:
        """The statement's one row, None if there is none; more than one is an error, as for a result's
        `one_or_none`."""
        found = await self.rows(session, values)
        if len(found) > 1:
            raise MultipleResultsFound("more than one row where one or none was required")
        return found[0] if found else None
