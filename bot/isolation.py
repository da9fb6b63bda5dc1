"""One update at a time per person, in one process: aiogram's `SimpleEventIsolation` without its leak.

aiogram's in-memory isolation keeps a lock for every person who ever wrote, for the life of the process
(about 330 bytes each: some 32 MiB after 100,000 different people). `PersonLocks` keeps a lock only while
an update of that person holds it or waits for it, so its size is the number of people being handled at
that moment. With Redis (several instances) the locks are in Redis (`bot.app._redis_isolation`).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Hashable
from contextlib import asynccontextmanager

from aiogram.fsm.storage.base import BaseEventIsolation, StorageKey


class PersonLocks(BaseEventIsolation):
    def __init__(self) -> None:
        self._locks: dict[Hashable, tuple[asyncio.Lock, int]] = {}  # key → (lock, holders and waiters)

    @asynccontextmanager
    async def lock(self, key: StorageKey) -> AsyncIterator[None]:
        lock, users = self._locks.get(key, (None, 0))
        lock = lock or asyncio.Lock()
        self._locks[key] = (lock, users + 1)  # no await between the read and the write: one event loop
        try:
            async with lock:
                yield
        finally:
            lock, users = self._locks[key]
            if users == 1:
                del self._locks[key]
            else:
                self._locks[key] = (lock, users - 1)

    def held(self) -> int:
        """People with an update being handled or waiting. (Not `__len__`: aiogram takes an isolation
        that is false, as an empty container would be, for none at all.)"""
        return len(self._locks)

    async def close(self) -> None:
        self._locks.clear()
