"""Builds the bot in one place: settings → database → city → storage → dispatcher → runners."""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass, field

from aiogram import Bot, Dispatcher
from aiogram.fsm.storage.base import BaseEventIsolation, BaseStorage
from aiogram.fsm.storage.memory import SimpleEventIsolation
from aiogram.types import BotCommand, BotCommandScopeAllPrivateChats
from aiogram.utils.i18n import I18n
from aiogram.webhook.aiohttp_server import SimpleRequestHandler
from aiohttp import web
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

import handlers
from bot.config import CitySpec, Settings, load_city
from bot.i18n import N_, make_i18n, translate
from bot.middlewares.database import DatabaseMiddleware
from bot.middlewares.dedup import DedupMiddleware
from bot.middlewares.locale import LocaleMiddleware
from bot.middlewares.resident import ResidentMiddleware
from bot.middlewares.throttling import ThrottlingMiddleware
from bot.services import city as city_service
from bot.telegram import make_bot
from scheduler.setup import make_scheduler
from storage import migrate
from storage.db import make_engine, make_session_factory
from storage.fsm import SQLStorage

log = logging.getLogger("meydan")
WEBHOOK_PATH = "/telegram/webhook"


@dataclass
class Meydan:
    """Everything a running bot holds; built by `build()`, released by `close()`."""

    settings: Settings
    city: CitySpec
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    i18n: I18n
    storage: BaseStorage
    bot: Bot
    dp: Dispatcher
    scheduler: AsyncIOScheduler
    webhook_secret: str = field(default_factory=lambda: secrets.token_urlsafe(24))

    async def close(self) -> None:
        if self.scheduler.running:
            self.scheduler.shutdown(wait=False)
        await self.storage.close()
        await self.bot.session.close()
        await self.engine.dispose()


async def prepare_database(
    settings: Settings,
) -> tuple[AsyncEngine, async_sessionmaker[AsyncSession], CitySpec]:
    """Migrate to the newest schema and load the city file when the database has no city yet."""
    spec = load_city(settings.city_file)
    engine = make_engine(settings.database_url)
    await migrate.upgrade(engine)
    sessions = make_session_factory(engine)
    async with sessions.begin() as session:
        if await city_service.current_city(session) is None:
            report = await city_service.load(session, spec)
            log.info("city loaded key=%s %s", spec.key, report.summary())
    return engine, sessions, spec


def make_storage(
    settings: Settings, sessions: async_sessionmaker[AsyncSession]
) -> tuple[BaseStorage, BaseEventIsolation]:
    if settings.redis_url:
        from aiogram.fsm.storage.redis import RedisEventIsolation, RedisStorage

        storage = RedisStorage.from_url(settings.redis_url)
        return storage, RedisEventIsolation(storage.redis)
    return SQLStorage(sessions), SimpleEventIsolation()


def make_dispatcher(
    settings: Settings,
    city: CitySpec,
    sessions: async_sessionmaker[AsyncSession],
    i18n: I18n,
    storage: BaseStorage,
    isolation: BaseEventIsolation,
) -> Dispatcher:
    dp = Dispatcher(storage=storage, events_isolation=isolation)
    dp["settings"] = settings
    dp["city"] = city
    dp["sessions"] = sessions
    # one update: skip a duplicate → open a transaction → load the resident → pick the language
    dp.update.outer_middleware(DedupMiddleware(sessions))
    dp.update.outer_middleware(DatabaseMiddleware(sessions))
    dp.update.outer_middleware(ResidentMiddleware(frozenset(settings.staff_ids)))
    dp.update.outer_middleware(LocaleMiddleware(i18n, settings.default_language or city.default_language))
    throttling = ThrottlingMiddleware()
    dp.message.middleware(throttling)
    dp.callback_query.middleware(throttling)
    dp.include_routers(*handlers.routers())
    return dp


async def build(settings: Settings, *, api_url: str | None = None) -> Meydan:
    if not settings.bot_token:
        raise ValueError("BOT_TOKEN is not set")
    engine, sessions, city = await prepare_database(settings)
    default_language = settings.default_language or city.default_language
    i18n = make_i18n(default_language)
    storage, isolation = make_storage(settings, sessions)
    dp = make_dispatcher(settings, city, sessions, i18n, storage, isolation)
    bot = make_bot(settings.bot_token, api_url or settings.telegram_api_url)
    scheduler = make_scheduler(sessions)
    app = Meydan(
        settings=settings,
        city=city,
        engine=engine,
        sessions=sessions,
        i18n=i18n,
        storage=storage,
        bot=bot,
        dp=dp,
        scheduler=scheduler,
    )
    if settings.webhook_secret:
        app.webhook_secret = settings.webhook_secret
    dp.startup.register(_on_startup)
    dp["meydan"] = app
    return app


async def _on_startup(bot: Bot, meydan: Meydan) -> None:
    await set_commands(bot, meydan.i18n, meydan.settings.default_language or meydan.city.default_language)
    if not meydan.scheduler.running:
        meydan.scheduler.start()
    log.info("bot started city=%s", meydan.city.key)


COMMANDS = (
    ("start", N_("Start, or open the main menu")),
    ("menu", N_("The main menu")),
    ("settings", N_("Language, neighborhood, notifications")),
    ("help", N_("How Meydan works")),
    ("cancel", N_("Stop what you are doing")),
)


async def set_commands(bot: Bot, i18n: I18n, default_language: str) -> None:
    """The command list in each language (and the city's language for everyone else)."""
    for lang in (*i18n.available_locales, None):
        shown = lang or default_language
        commands = [BotCommand(command=c, description=translate(d, shown)) for c, d in COMMANDS]
        await bot.set_my_commands(commands, scope=BotCommandScopeAllPrivateChats(), language_code=lang)


def webhook_app(meydan: Meydan, *, background: bool = True) -> web.Application:
    """An aiohttp app that takes Telegram's webhook calls; a wrong secret token gets 403."""
    app = web.Application()
    handler = _WebhookHandler(
        dispatcher=meydan.dp,
        bot=meydan.bot,
        secret_token=meydan.webhook_secret,
        handle_in_background=background,
    )
    handler.register(app, path=WEBHOOK_PATH)
    app.router.add_get("/healthz", _health)
    return app


class _WebhookHandler(SimpleRequestHandler):
    """aiogram's handler, answering 403 Forbidden (not 401) to a call without the right secret token."""

    async def handle(self, request: web.Request) -> web.Response:
        if not self.verify_secret(request.headers.get("X-Telegram-Bot-Api-Secret-Token", ""), self.bot):
            return web.Response(status=403, text="Forbidden")
        return await super().handle(request)


async def _health(_request: web.Request) -> web.Response:
    return web.json_response({"ok": True})
