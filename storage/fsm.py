"""Conversation state in the database, so a half-filled form survives a restart."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Any

from aiogram.exceptions import DataNotDictLikeError
from aiogram.fsm.state import State
from aiogram.fsm.storage.base import BaseStorage, DefaultKeyBuilder, KeyBuilder, StateType, StorageKey
from sqlalchemy import delete, inspect, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage.db import current_session
from storage.models import FsmRecord, utcnow


class SQLStorage(BaseStorage):
    """aiogram FSM storage backed by the `fsm_state` table (SQLite or PostgreSQL)."""

    def __init__(
        self, session_factory: async_sessionmaker[AsyncSession], key_builder: KeyBuilder | None = None
    ) -> None:
        self._sessions = session_factory
        self._keys = key_builder or DefaultKeyBuilder(with_destiny=True)

    @asynccontextmanager
    async def _session(self, *, write: bool) -> AsyncIterator[AsyncSession]:
        """The update's session when called while handling one, else a short session of our own."""
        joined = current_session.get()
        if joined is not None:
            yield joined
            if write:
                await joined.flush()
            return
        async with self._sessions.begin() if write else self._sessions() as session:
            yield session

    async def _upsert(self, key: StorageKey, **values: Any) -> None:
        name = self._keys.build(key)
        async with self._session(write=True) as session:
            record = await session.get(FsmRecord, name, with_for_update=True)
            if record is None:
                record = FsmRecord(key=name, state=None, data={})
                session.add(record)
            for field, value in values.items():
                setattr(record, field, value)
            record.updated_at = utcnow()
            if record.state is None and not record.data:
                if inspect(record).pending:
                    session.expunge(record)
                else:
                    await session.delete(record)

    async def set_state(self, key: StorageKey, state: StateType = None) -> None:
        value = state.state if isinstance(state, State) else state
        await self._upsert(key, state=value)

    async def get_state(self, key: StorageKey) -> str | None:
        async with self._session(write=False) as session:
            return await session.scalar(select(FsmRecord.state).where(FsmRecord.key == self._keys.build(key)))

    async def set_data(self, key: StorageKey, data: Mapping[str, Any]) -> None:
        if not isinstance(data, dict):
            raise DataNotDictLikeError(f"Data must be a dict or dict-like object, got {type(data).__name__}")
        await self._upsert(key, data=dict(data))

    async def get_data(self, key: StorageKey) -> dict[str, Any]:
        async with self._session(write=False) as session:
            data = await session.scalar(select(FsmRecord.data).where(FsmRecord.key == self._keys.build(key)))
            return dict(data or {})

    async def clear_all(self) -> None:
        async with self._session(write=True) as session:
            await session.execute(delete(FsmRecord))

    async def close(self) -> None:
        return None
