"""Conversation state in the database, so a half-filled form survives a restart."""

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
from sqlalchemy import bindparam, delete, event, inspect, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import Session

from storage.db import current_session
from storage.models import FsmRecord, utcnow

_KNOWN = "meydan_fsm_records"  # session.info key: the rows this session has read or written
# one statement object for the read of every update (a reused statement keeps its cache key)
_RECORDS = select(FsmRecord).where(FsmRecord.key.in_(bindparam("keys", expanding=True)))


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
            # written with the update's other changes when it flushes or commits: a state and data set
            # one after the other are one UPDATE
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

    def remember(self, session: AsyncSession, names: Sequence[str], records: Iterable[FsmRecord]) -> None:
        """Keep the rows read for `names` (`records`, those that exist) for the rest of `session`, as
        if this storage had read them: the update's session reads them with the resident
        (`bot.services.residents.load_with_state`)."""
        known: dict[str, FsmRecord | None] = session.info.setdefault(_KNOWN, {})
        found = {record.key: record for record in records}
        for each in names:
            known.setdefault(each, found.get(each))  # a row written meanwhile stays as written

    async def _record(self, session: AsyncSession, key: StorageKey) -> FsmRecord | None:
        """The person's row, read once per session: an update reads and writes its state several times
        (the dispatcher reads the state, a handler reads the data, sets both), and one SELECT serves all,
        the rows of the person's boxes included. The update's events are isolated per person
        (`events_isolation`), so no other update of theirs changes the rows meanwhile."""
        known: dict[str, FsmRecord | None] = session.info.setdefault(_KNOWN, {})
        name = self._keys.build(key)
        if name not in known:
            names = self.read_with(key)
            self.remember(session, names, await session.scalars(_RECORDS, {"keys": names}))
        return known[name]

    async def _upsert(self, key: StorageKey, **values: Any) -> None:
        name = self._keys.build(key)
        async with self._session(write=True) as session:
            record = await self._record(session, key)
            if record is None:
                record = FsmRecord(key=name, state=None, data={})
                session.add(record)
            for field, value in values.items():
                setattr(record, field, value)
            record.updated_at = utcnow()
            if record.state is None and not record.data:
                persistent = not inspect(record).pending
                session.expunge(record)
                if persistent:
                    # by key, not as an ORM delete: the row may be gone already (an account deletion
                    # removes all the person's rows in bulk), which is fine here, not a stale object
                    await session.execute(delete(FsmRecord).where(FsmRecord.key == name))
                record = None
            session.info[_KNOWN][name] = record

    async def set_state(self, key: StorageKey, state: StateType = None) -> None:
        value = state.state if isinstance(state, State) else state
        await self._upsert(key, state=value)

    async def get_state(self, key: StorageKey) -> str | None:
        async with self._session(write=False) as session:
            record = await self._record(session, key)
            return None if record is None else record.state

    async def set_data(self, key: StorageKey, data: Mapping[str, Any]) -> None:
        if not isinstance(data, dict):
            raise DataNotDictLikeError(f"Data must be a dict or dict-like object, got {type(data).__name__}")
        await self._upsert(key, data=copy.deepcopy(dict(data)))

    async def get_data(self, key: StorageKey) -> dict[str, Any]:
        async with self._session(write=False) as session:
            record = await self._record(session, key)
            # a copy all the way down: a handler that changes what it got in place must not change the
            # row's value behind the session's back (the session would see no change to write)
            return copy.deepcopy(record.data or {}) if record is not None else {}

    async def clear_all(self) -> None:
        async with self._session(write=True) as session:
            await session.execute(delete(FsmRecord))
            session.info.pop(_KNOWN, None)

    async def close(self) -> None:
        return None
