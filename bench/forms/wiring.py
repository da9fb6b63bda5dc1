"""One way to build a candidate's bot: the project's storage and middlewares around the candidate's handlers.

Every candidate gets the same dispatcher as ``bot.app.make_dispatcher`` gives Meydan, minus the
resident, locale and throttling middlewares: the project's ``SQLStorage`` over a SQLite file (created
here with the two tables it needs) and ``SimpleEventIsolation``, or ``RedisStorage`` with
``RedisEventIsolation``; ``DatabaseMiddleware`` so that the state is written in the update's
transaction; ``DedupMiddleware`` only when asked. A ``/start`` handler answers every candidate's
warm-up. ``Counters`` can count storage calls, SQL statements and Redis commands per update.

The factories at the end (``dialog_sql``, ``inhouse_redis``...) are what ``bench.common`` runs in the
bot process.
"""

from __future__ import annotations

import importlib
import os
import tempfile
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from aiogram import Bot, Dispatcher, Router
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.filters import CommandStart
from aiogram.fsm.storage.base import BaseEventIsolation, BaseStorage, DefaultKeyBuilder, StateType, StorageKey
from aiogram.fsm.storage.memory import SimpleEventIsolation
from aiogram.types import CallbackQuery, Message, TelegramObject
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine

from bench.common import BENCH_TOKEN
from bench.forms.service import HELLO, STALE
from bot.middlewares.database import DatabaseMiddleware
from bot.middlewares.dedup import DedupMiddleware
from storage.db import make_engine, make_session_factory
from storage.fsm import SQLStorage
from storage.models import Base, FsmRecord, ProcessedUpdate

StorageKind = Literal["sql", "redis"]
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")
CANDIDATES: dict[str, str] = {
    "aiogram-dialog": "bench.forms.dialog_impl:install",
    "aiogram-dialog (ScrollingGroup)": "bench.forms.dialog_impl:install_scrolling",
    "scenes": "bench.forms.scene_impl:install",
    "in-house": "bench.forms.inhouse_impl:install",
}


@dataclass
class Counters:
    """Counts since the last ``reset()``: updates, storage reads and writes, SQL statements, Redis commands."""

    updates: int = 0
    reads: int = 0
    writes: int = 0
    sql: int = 0
    redis: int = 0
    keys: set[str] = field(default_factory=set)

    def reset(self) -> None:
        self.updates = self.reads = self.writes = self.sql = self.redis = 0
        self.keys = set()


class CountingStorage(BaseStorage):
    """Wraps a storage and counts its calls (``update_data`` counts as the read and write it makes)."""

    def __init__(self, inner: BaseStorage, counters: Counters) -> None:
        self.inner = inner
        self.counters = counters

    def _note(self, key: StorageKey, write: bool) -> None:
        if write:
            self.counters.writes += 1
        else:
            self.counters.reads += 1
        self.counters.keys.add(key.destiny)

    async def set_state(self, key: StorageKey, state: StateType = None) -> None:
        self._note(key, True)
        await self.inner.set_state(key, state)

    async def get_state(self, key: StorageKey) -> str | None:
        self._note(key, False)
        return await self.inner.get_state(key)

    async def set_data(self, key: StorageKey, data: Mapping[str, Any]) -> None:
        self._note(key, True)
        await self.inner.set_data(key, data)

    async def get_data(self, key: StorageKey) -> dict[str, Any]:
        self._note(key, False)
        return await self.inner.get_data(key)

    async def close(self) -> None:
        await self.inner.close()


@dataclass
class FormBot:
    """A candidate's bot, ready for ``bench.common`` (``.bot``, ``.dp``, ``close()``)."""

    bot: Bot
    dp: Dispatcher
    engine: AsyncEngine
    storage: BaseStorage
    counters: Counters
    cleanup: list[Callable[[], Any]] = field(default_factory=list)

    async def close(self) -> None:
        await self.storage.close()
        await self.bot.session.close()
        await self.engine.dispose()
        for step in self.cleanup:
            result = step()
            if hasattr(result, "__await__"):
                await result


def load_install(candidate: str) -> Callable[[Dispatcher, BaseEventIsolation], None]:
    module, _, name = CANDIDATES[candidate].partition(":")
    return getattr(importlib.import_module(module), name)


async def build(
    candidate: str,
    api_url: str,
    token: str,
    database: Path,
    *,
    storage: StorageKind = "sql",
    redis_prefix: str | None = None,
    dedup: bool = False,
    count: bool = False,
    bot: Bot | None = None,
) -> FormBot:
    """The candidate's dispatcher over the SQLite file ``database`` (created if missing)."""
    engine = make_engine(f"sqlite+aiosqlite:///{database}")
    async with engine.begin() as connection:
        await connection.run_sync(
            Base.metadata.create_all, tables=[FsmRecord.__table__, ProcessedUpdate.__table__]
        )
    sessions = make_session_factory(engine)
    counters = Counters()
    inner: BaseStorage
    if storage == "redis":
        from aiogram.fsm.storage.redis import RedisEventIsolation, RedisStorage

        # with_destiny: aiogram-dialog and Scenes keep more than one key per chat
        keys = DefaultKeyBuilder(
            prefix=redis_prefix or f"formbench-{uuid.uuid4().hex[:8]}", with_destiny=True
        )
        inner = RedisStorage.from_url(REDIS_URL, key_builder=keys)
        isolation: Any = RedisEventIsolation(inner.redis, key_builder=keys)
        if count:
            original = inner.redis.execute_command

            async def counted(*args: Any, **kwargs: Any) -> Any:
                counters.redis += 1
                return await original(*args, **kwargs)

            inner.redis.execute_command = counted  # type: ignore[method-assign]
    else:
        inner = SQLStorage(sessions)
        isolation = SimpleEventIsolation()
    if count:

        @event.listens_for(engine.sync_engine, "before_cursor_execute")
        def _count_sql(*_args: Any) -> None:
            counters.sql += 1

    fsm: BaseStorage = CountingStorage(inner, counters) if count else inner
    dp = Dispatcher(storage=fsm, events_isolation=isolation)
    if count:

        async def count_update(
            handler: Callable[..., Any], update: TelegramObject, data: dict[str, Any]
        ) -> Any:
            counters.updates += 1
            return await handler(update, data)

        dp.update.outer_middleware(count_update)
    dp.update.outer_middleware(DatabaseMiddleware(sessions))
    if dedup:
        dp.update.outer_middleware(DedupMiddleware())
    hello = Router(name="hello")

    @hello.message(CommandStart())
    async def start(message: Message) -> None:
        await message.answer(HELLO)

    dp.include_router(hello)
    load_install(candidate)(dp, isolation)
    stale = Router(name="stale")

    @stale.callback_query()
    async def out_of_date(query: CallbackQuery) -> None:
        """Any button no handler took (the same for every candidate)."""
        await query.answer(STALE, show_alert=True)

    dp.include_router(stale)
    if bot is None:
        bot = Bot(
            token,
            session=AiohttpSession(api=TelegramAPIServer.from_base(api_url)),
            default=DefaultBotProperties(parse_mode="HTML"),
        )
    return FormBot(bot, dp, engine, fsm, counters)


async def _temporary(candidate: str, api_url: str, token: str, storage: StorageKind) -> FormBot:
    directory = tempfile.TemporaryDirectory(prefix="formbench-")
    built = await build(candidate, api_url, token, Path(directory.name) / "forms.db", storage=storage)
    built.cleanup.append(directory.cleanup)
    if storage == "redis":
        redis = built.storage.redis  # type: ignore[attr-defined]
        prefix = built.storage.key_builder.prefix  # type: ignore[attr-defined]

        async def forget() -> None:
            keys = [key async for key in redis.scan_iter(f"{prefix}:*")]
            if keys:
                await redis.delete(*keys)

        built.cleanup.insert(0, forget)
    return built


async def dialog_sql(api_url: str, token: str = BENCH_TOKEN) -> FormBot:
    return await _temporary("aiogram-dialog", api_url, token, "sql")


async def dialog_redis(api_url: str, token: str = BENCH_TOKEN) -> FormBot:
    return await _temporary("aiogram-dialog", api_url, token, "redis")


async def dialog_scrolling_sql(api_url: str, token: str = BENCH_TOKEN) -> FormBot:
    return await _temporary("aiogram-dialog (ScrollingGroup)", api_url, token, "sql")


async def dialog_scrolling_redis(api_url: str, token: str = BENCH_TOKEN) -> FormBot:
    return await _temporary("aiogram-dialog (ScrollingGroup)", api_url, token, "redis")


async def scenes_sql(api_url: str, token: str = BENCH_TOKEN) -> FormBot:
    return await _temporary("scenes", api_url, token, "sql")


async def scenes_redis(api_url: str, token: str = BENCH_TOKEN) -> FormBot:
    return await _temporary("scenes", api_url, token, "redis")


async def inhouse_sql(api_url: str, token: str = BENCH_TOKEN) -> FormBot:
    return await _temporary("in-house", api_url, token, "sql")


async def inhouse_redis(api_url: str, token: str = BENCH_TOKEN) -> FormBot:
    return await _temporary("in-house", api_url, token, "redis")


FACTORIES: dict[tuple[str, StorageKind], str] = {
    ("aiogram-dialog", "sql"): "bench.forms.wiring:dialog_sql",
    ("aiogram-dialog", "redis"): "bench.forms.wiring:dialog_redis",
    ("aiogram-dialog (ScrollingGroup)", "sql"): "bench.forms.wiring:dialog_scrolling_sql",
    ("aiogram-dialog (ScrollingGroup)", "redis"): "bench.forms.wiring:dialog_scrolling_redis",
    ("scenes", "sql"): "bench.forms.wiring:scenes_sql",
    ("scenes", "redis"): "bench.forms.wiring:scenes_redis",
    ("in-house", "sql"): "bench.forms.wiring:inhouse_sql",
    ("in-house", "redis"): "bench.forms.wiring:inhouse_redis",
}
