"""One update at a time per person, in one process: aiogram's `SimpleEventIsolation` without its leak.

aiogram's in-memory isolation keeps a lock for every person who ever wrote, for the life of the process
(about 330 bytes each: some 32 MiB after 100,000 different people). `PersonLocks` keeps a lock only while
an update of that person holds it or waits for it, so its size is the number of people being handled at
that moment.

With Redis (several instances) the locks are in Redis (`redis_isolation`): aiogram's Redis isolation,
with a time to live so that a process that died holding a lock holds that person up only briefly. A
live process keeps the locks it holds: each is renewed every half of its time to live while its update
is handled, since an update may rightly take longer (a flood limit asks the bot to wait up to a minute
before it may answer), and another instance must not take the person's next update meanwhile.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Hashable
from contextlib import asynccontextmanager
from typing import Any

from aiogram.fsm.storage.base import BaseEventIsolation, StorageKey

log = logging.getLogger(__name__)


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


def redis_isolation(redis: Any, keys: Any, ttl: float, storage: Any = None) -> BaseEventIsolation:
    """aiogram's Redis event isolation, its locks expiring `ttl` seconds after a process that held them
    died, renewed while held (`_Renewal`); a lock that expired all the same while its update was handled
    (the loop stalled past the time to live) is logged instead of failing that update at its release.
    With `storage` (`storage.fsm.RedisBoxStorage`) a lock is the storage's, which reads the person's
    conversation state as it is taken, in the same round trip."""
    from aiogram.fsm.storage.redis import RedisEventIsolation
    from redis.exceptions import LockNotOwnedError

    class Isolation(RedisEventIsolation):
        @asynccontextmanager
        async def lock(self, key: StorageKey) -> AsyncIterator[None]:
            if storage is not None:
                lock = storage.lock(key, ttl)
            else:
                lock = self.redis.lock(name=self.key_builder.build(key, "lock"), **self.lock_kwargs)
            await lock.acquire()
            renewal = _Renewal(lock, ttl / 2)
            try:
                yield None
            finally:
                renewal.stop()
                try:
                    await lock.release()
                except LockNotOwnedError:
                    log.warning("per-person lock expired before its update was handled ttl=%s", ttl)

    return Isolation(redis, keys, lock_kwargs={"timeout": ttl})


class _Renewal:
    """Gives a held Redis lock its whole time to live again every `every` seconds until `stop`: a timer,
    and a task only when it fires (most updates end long before)."""

    __slots__ = ("_every", "_handle", "_lock", "_task")

    def __init__(self, lock: Any, every: float) -> None:
        self._lock = lock
        self._every = every
        self._task: asyncio.Task[None] | None = None
        self._handle = asyncio.get_running_loop().call_later(every, self._renew)

    def _renew(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._reacquire())

    async def _reacquire(self) -> None:
        from redis.exceptions import RedisError

        try:
            await self._lock.reacquire()
        except RedisError as error:  # no longer this process's, or Redis out of reach: it may expire
            log.warning("per-person lock not renewed: %s", type(error).__name__)
            return
        self._handle = asyncio.get_running_loop().call_later(self._every, self._renew)

    def stop(self) -> None:
        self._handle.cancel()
        if self._task is not None:
            self._task.cancel()
