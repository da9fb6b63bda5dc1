"""Conversation state in the database, so a half-filled form survives a restart; or in Redis, shared by
several instances."""

from __future__ import annotations

import copy
from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import replace
from typing import Any, Literal

from aiogram.exceptions import DataNotDictLikeError
from aiogram.fsm.state import State
from aiogram.fsm.storage.base import (
    DEFAULT_DESTINY,
    BaseStorage,
    DefaultKeyBuilder,
    KeyBuilder,
    StateType,
    StorageKey,
)
from aiogram.fsm.storage.redis import RedisStorage
from redis.asyncio.lock import Lock
from sqlalchemy import bindparam, delete, event, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import Session

from storage.db import current_session, refuse_if_reading
from storage.direct import Direct
from storage.models import FSM_ROW, FsmRecord, utcnow

_KNOWN = "meydan_fsm_records"  # session.info key: the rows this session has read or written
_TABLE = FsmRecord.__table__
# one statement object each (a reused statement keeps its cache key)
_RECORDS = select(*FSM_ROW).where(_TABLE.c.key.in_(bindparam("keys", expanding=True)))
_DELETE = Direct(delete(_TABLE).where(_TABLE.c.key == bindparam("key")))


def _upsert(insert: Any) -> Any:
    statement = insert(_TABLE)
    new = statement.excluded
    return statement.on_conflict_do_update(
        index_elements=[_TABLE.c.key],
        set_={"state": new.state, "data": new.data, "updated_at": new.updated_at},
    )


# A row written whole in one statement, whether or not it exists (it may have been deleted in bulk
# since it was read: an account deletion removes all the person's rows).
_UPSERTS = {"sqlite": Direct(_upsert(sqlite.insert)), "postgresql": Direct(_upsert(postgresql.insert))}

# What a session knows of a row: its state and data, or None where there is no row.
Known = tuple[str | None, dict[str, Any]] | None


@event.listens_for(Session, "after_soft_rollback")
def _forget_on_rollback(session: Session, _previous: Any) -> None:
    """What a session knew of the rows is not true after a rollback: read them again."""
    session.info.pop(_KNOWN, None)


class BoxKeys(DefaultKeyBuilder):
    """aiogram's Redis keys with conversation boxes (`bot.ui.conversation`, other destinies) beside them.

    A box's keys carry its destiny (`<prefix>:<chat>:<user>:<box>:<part>`); the default destiny's keys
    (the state, its data, the per-person lock) keep the shape they had before boxes existed, so instances
    of two releases agree on them during a rolling upgrade and a form in progress is not dropped."""

    def build(self, key: StorageKey, part: Literal["data", "state", "lock"] | None = None) -> str:
        if key.destiny == DEFAULT_DESTINY:
            return super().build(key, part)
        base = super().build(replace(key, destiny=DEFAULT_DESTINY))
        return self.separator.join([base, key.destiny, *([part] if part else [])])


class SQLStorage(BaseStorage):
    """aiogram FSM storage backed by the `fsm_state` table (SQLite or PostgreSQL)."""

    def __init__(
        self,
        session_factory: async_sessionmaker[AsyncSession],
        key_builder: KeyBuilder | None = None,
        boxes: Sequence[str] = (),
    ) -> None:
        """`boxes`: the other destinies a person's updates read beside their state (the conversation
        boxes, `bot.ui.conversation`); their rows are read with the state's, in one statement. The
        sequence is read when used, so boxes declared after the storage is made are included."""
        self._sessions = session_factory
        self._keys = key_builder or DefaultKeyBuilder(with_destiny=True)
        self._boxes = boxes

    @asynccontextmanager
    async def _session(self, *, write: bool) -> AsyncIterator[AsyncSession]:
        """The update's session when called while handling one, else a short session of our own."""
        joined = current_session.get()
        if joined is not None:
            # written in the update's transaction, committed or rolled back with its other changes
            yield joined
            return
        async with self._sessions.begin() if write else self._sessions() as session:
            yield session

    def read_with(self, key: StorageKey) -> list[str]:
        """The names of the rows one read of `key` fetches: the person's state and their boxes, all in
        one statement (a ballot press reads its draft's box too), or a destiny of its own alone."""
        family = [DEFAULT_DESTINY, *self._boxes]
        if key.destiny not in family:
            return [self._keys.build(key)]
        return [self._keys.build(replace(key, destiny=destiny)) for destiny in family]

    def remember(
        self, session: AsyncSession, names: Sequence[str], rows: Iterable[tuple[str, str | None, Any]]
    ) -> None:
        """Keep the rows read for `names` (`rows`: key, state and data of those that exist, `FSM_ROW`)
        for the rest of `session`, as if this storage had read them: the update's session reads them
        with the resident (`bot.services.residents.load_with_state`)."""
        known: dict[str, Known] = session.info.setdefault(_KNOWN, {})
        found = {key: (state, data or {}) for key, state, data in rows}
        for each in names:
            known.setdefault(each, found.get(each))  # a row written meanwhile stays as written

    async def _known(self, session: AsyncSession, key: StorageKey) -> Known:
        """The person's row, read once per session: an update reads and writes its state several times
        (the dispatcher reads the state, a handler reads the data, sets both), and one SELECT serves all,
        the rows of the person's boxes included. The update's events are isolated per person
        (`events_isolation`), so no other update of theirs changes the rows meanwhile."""
        known: dict[str, Known] = session.info.setdefault(_KNOWN, {})
        name = self._keys.build(key)
        if name not in known:
            names = self.read_with(key)
            self.remember(session, names, await session.execute(_RECORDS, {"keys": names}))
        return known[name]

    async def _write(self, key: StorageKey, **values: Any) -> None:
        """Write the row at once, as plain values: a row with neither state nor data is deleted, and a
        write that changes nothing writes nothing."""
        name = self._keys.build(key)
        async with self._session(write=True) as session:
            before = await self._known(session, key)
            state, data = before or (None, {})
            after = (values.get("state", state), values.get("data", data))
            if after == (state, data):
                return
            if after[0] is None and not after[1]:
                # by key: the row may be gone already (deleted in bulk), which is fine here
                await _DELETE.execute(session, {"key": name})
                session.info[_KNOWN][name] = None
                return
            upsert = _UPSERTS[session.get_bind().dialect.name]
            await upsert.execute(
                session, {"key": name, "state": after[0], "data": after[1], "updated_at": utcnow()}
            )
            session.info[_KNOWN][name] = after

    async def set_state(self, key: StorageKey, state: StateType = None) -> None:
        value = state.state if isinstance(state, State) else state
        await self._write(key, state=value)

    async def get_state(self, key: StorageKey) -> str | None:
        async with self._session(write=False) as session:
            known = await self._known(session, key)
            return None if known is None else known[0]

    async def set_data(self, key: StorageKey, data: Mapping[str, Any]) -> None:
        if not isinstance(data, dict):
            raise DataNotDictLikeError(f"Data must be a dict or dict-like object, got {type(data).__name__}")
        await self._write(key, data=copy.deepcopy(dict(data)))

    async def get_data(self, key: StorageKey) -> dict[str, Any]:
        async with self._session(write=False) as session:
            known = await self._known(session, key)
            # a copy all the way down: a handler that changes what it got in place must not change
            # what the session knows of the row (a write of the changed data would then change nothing)
            return copy.deepcopy(known[1]) if known is not None else {}

    async def clear_all(self) -> None:
        async with self._session(write=True) as session:
            await session.execute(delete(FsmRecord))
            session.info.pop(_KNOWN, None)

    async def close(self) -> None:
        return None


_REDIS_KNOWN = "meydan_redis_known"  # session.info key: the Redis values this update has read or written
_PARTS: tuple[Literal["state", "data"], ...] = ("state", "data")
# takes a person's lock (KEYS[1]) if it is free and then reads their values (the other keys), atomically
_TAKE_AND_READ = """
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then
  return {1, redis.call('MGET', unpack(KEYS, 2))}
end
return {0, {}}
"""


class RedisBoxStorage(RedisStorage):
    """aiogram's Redis storage, reading a person's state, data and boxes in one MGET per update.

    aiogram's reads each value with a GET of its own: an update of a person reads the state (the
    dispatcher), then the data (a screen that only shows something checks there is no conversation
    underway; a form reads what was typed so far), then a box (a ballot's draft), each a round trip
    costing the bot 0.1 to 0.2 ms of CPU (`bench/redis_state.py`). Here the first read of an update
    fetches the state and data of the person's default destiny and of each of `boxes` together, and the
    update's later reads and writes use what it knows, as `SQLStorage` does with the database: a write
    goes to Redis at once, one that changes nothing is not sent, and one in an update that only reads
    (a view) is refused, as the database refuses it. What is known lasts for the update's session
    (`storage.db.current_session`), not beyond; the person's updates are isolated (`events_isolation`),
    so no other update of theirs writes meanwhile. Outside an update every read is a GET, as aiogram's.
    A rollback of the update's transaction leaves what is known as it is: Redis has no transaction
    with the database, and what was written there stays written.

    The per-person lock an update is handled under (`bot.isolation.redis_isolation`) is taken with
    `lock`, which reads those values in the same round trip as it takes the lock: an update of a person
    then costs Redis one round trip before its handler (the lock and the values) and one after (the
    lock given back), where aiogram's storage and isolation made four to six."""

    def __init__(
        self, redis: Any, key_builder: KeyBuilder | None = None, boxes: Sequence[str] = (), **kwargs: Any
    ):
        super().__init__(redis, key_builder or BoxKeys(), **kwargs)
        self._boxes = boxes
        self._take_and_read = redis.register_script(_TAKE_AND_READ)

    def lock(self, key: StorageKey, timeout: float) -> Lock:
        """The lock of `key`'s person, expiring `timeout` seconds after it is taken (or renewed), that
        reads the values an update of theirs reads (`_names`) as it is taken."""
        return _ReadingLock(self, key, timeout)

    async def take_and_read(self, lock: str, token: bytes, timeout_ms: int, key: StorageKey) -> bool:
        """Take the lock named `lock` for `token` if it is free, and then know `key`'s values for the
        rest of the update; whether it was taken."""
        names = self._names(key)
        taken, values = await self._take_and_read(keys=[lock, *names], args=[token, timeout_ms])
        if taken:
            known = self._known()
            if known is not None:
                for each, value in zip(names, values, strict=True):
                    known.setdefault(each, value)
        return bool(taken)

    @staticmethod
    def _known() -> dict[str, Any] | None:
        """What the update being handled knows of Redis's values, or None outside an update."""
        session = current_session.get()
        return None if session is None else session.info.setdefault(_REDIS_KNOWN, {})

    def _names(self, key: StorageKey) -> list[str]:
        """The Redis keys one read of `key` fetches: the state and data of the person's default destiny
        and their boxes, or those of a destiny of its own alone."""
        family = [DEFAULT_DESTINY, *self._boxes]
        keys = [replace(key, destiny=destiny) for destiny in family] if key.destiny in family else [key]
        return [self.key_builder.build(each, part) for each in keys for part in _PARTS]

    async def _read(self, key: StorageKey, part: Literal["state", "data"]) -> Any:
        name = self.key_builder.build(key, part)
        known = self._known()
        if known is None:
            return await self.redis.get(name)
        if name not in known:
            names = self._names(key)
            for each, value in zip(names, await self.redis.mget(names), strict=True):
                known.setdefault(each, value)  # a value written meanwhile stays as written
        return known[name]

    async def _write(
        self, key: StorageKey, part: Literal["state", "data"], value: str | None, ttl: Any
    ) -> None:
        """Set the value (None: delete the key), unless the update knows it holds that value already. In
        an update that only reads (a view) the write is refused, as the database refuses one there."""
        name = self.key_builder.build(key, part)
        known = self._known()
        if known is not None and name in known and _text(known[name]) == value:
            return
        session = current_session.get()
        if session is not None:
            refuse_if_reading(session)  # as the database refuses a view's write of the state it holds
        if value is None:
            await self.redis.delete(name)
        else:
            await self.redis.set(name, value, ex=ttl)
        if known is not None:
            known[name] = value

    async def get_state(self, key: StorageKey) -> str | None:
        return _text(await self._read(key, "state"))

    async def set_state(self, key: StorageKey, state: StateType = None) -> None:
        await self._write(key, "state", state.state if isinstance(state, State) else state, self.state_ttl)

    async def get_data(self, key: StorageKey) -> dict[str, Any]:
        value = _text(await self._read(key, "data"))
        return {} if value is None else self.json_loads(value)  # made anew at every read

    async def set_data(self, key: StorageKey, data: Mapping[str, Any]) -> None:
        if not isinstance(data, dict):
            raise DataNotDictLikeError(f"Data must be a dict or dict-like object, got {type(data).__name__}")
        await self._write(key, "data", self.json_dumps(data) if data else None, self.data_ttl)


def _text(value: Any) -> str | None:
    return value.decode("utf-8") if isinstance(value, bytes) else value


class _ReadingLock(Lock):
    """redis-py's lock (waiting, renewal and release as its own) whose every try to take it is the
    storage's `take_and_read`: the lock and the person's values in one round trip."""

    def __init__(self, storage: RedisBoxStorage, key: StorageKey, timeout: float) -> None:
        super().__init__(storage.redis, storage.key_builder.build(key, "lock"), timeout=timeout)
        self._storage = storage
        self._key = key

    async def do_acquire(self, token: str | bytes) -> bool:
        token = token if isinstance(token, bytes) else token.encode()
        return await self._storage.take_and_read(self.name, token, int(self.timeout * 1000), self._key)
