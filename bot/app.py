"""Builds the bot in one place: settings → database → city → storage → dispatcher → runners."""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from aiogram import Bot, Dispatcher
from aiogram.fsm.storage.base import BaseEventIsolation, BaseStorage
from aiogram.methods import TelegramMethod
from aiogram.types import BotCommand, BotCommandScopeAllPrivateChats, Update
from aiogram.utils.i18n import I18n
from aiogram.webhook.aiohttp_server import SimpleRequestHandler
from aiohttp import Payload, web
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

import handlers
from bot import metrics
from bot.config import CitySpec, Settings, load_city
from bot.features import Feature, beside, pitches, views
from bot.features import commands as manifest_commands
from bot.i18n import N_, make_i18n, translate
from bot.isolation import PersonLocks, redis_isolation
from bot.middlewares.answer import AnswerMiddleware
from bot.middlewares.database import DatabaseMiddleware
from bot.middlewares.dedup import DedupMiddleware
from bot.middlewares.locale import LocaleMiddleware
from bot.middlewares.metrics import MetricsMiddleware
from bot.middlewares.prompts import PromptMiddleware
from bot.middlewares.reply import ReplyMiddleware
from bot.middlewares.resident import ResidentMiddleware
from bot.middlewares.throttling import ThrottlingMiddleware
from bot.routing import filters_on_the_loop, offered_where_taken, presses_read_once
from bot.services import city as city_service
from bot.services import outbox, residents
from bot.telegram import Session, make_bot
from bot.ui import conversation
from scheduler.outbox import Pace
from scheduler.setup import Scheduling
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
    scheduling: Scheduling
    signal: outbox.Signal
    webhook_secret: str = field(default_factory=lambda: secrets.token_urlsafe(24))

    async def close(self) -> None:
        await self.scheduling.stop()
        await self.storage.close()
        await self.bot.session.close()
        await self.engine.dispose()


async def prepare_database(
    settings: Settings,
) -> tuple[AsyncEngine, async_sessionmaker[AsyncSession], CitySpec]:
    """Migrate to the newest schema and load the city file when the database has no city yet."""
    spec = load_city(settings.city_file)
    residents.configure_identity(settings.identity_key)
    engine = make_engine(
        settings.database_url,
        pool_size=settings.database_pool_size or settings.webhook_max_connections,
        max_overflow=settings.database_max_overflow,
    )
    await migrate.upgrade(engine)
    sessions = make_session_factory(engine)
    async with sessions.begin() as session:
        if await city_service.current_city(session) is None:
            report = await city_service.load(session, spec)
            log.info("city loaded key=%s %s", spec.key, report.summary())
    return engine, sessions, spec


# seconds a per-person lock in Redis outlives a process that died holding it (aiogram's default is 60):
# short, so that a crashed instance holds that person up briefly; a live one renews the locks it holds
# (`bot.isolation.redis_isolation`)
ISOLATION_LOCK_TTL = 20


def make_storage(
    settings: Settings, sessions: async_sessionmaker[AsyncSession]
) -> tuple[BaseStorage, BaseEventIsolation]:
    """Conversation state and per-person locks: in Redis with `REDIS_URL` (shared by every instance);
    else the state in the database and the locks in this process, which suits one process only."""
    if settings.redis_url:
        from storage.fsm import BoxKeys, RedisBoxStorage

        keys = BoxKeys(prefix=settings.redis_prefix)  # conversation boxes beside the state
        storage = RedisBoxStorage.from_url(
            settings.redis_url, key_builder=keys, boxes=conversation.declared()
        )
        isolation = redis_isolation(storage.redis, keys, ISOLATION_LOCK_TTL, storage)
        return storage, isolation
    return SQLStorage(sessions, boxes=conversation.declared()), PersonLocks()


def make_dispatcher(
    settings: Settings,
    city: CitySpec,
    sessions: async_sessionmaker[AsyncSession],
    i18n: I18n,
    storage: BaseStorage,
    isolation: BaseEventIsolation,
    extra_features: Iterable[Feature] = (),
    signal: outbox.Signal | None = None,
) -> Dispatcher:
    feature_routers = handlers.routers(extra_features)  # also makes these the bot's active features
    dp = Dispatcher(storage=storage, events_isolation=isolation)
    dp["settings"] = settings
    dp["city"] = city
    dp["sessions"] = sessions
    # one update: count and time it → open a session → take the person's lock and read their state and
    # the resident (in place of aiogram's FSM middleware, with it; one statement when the state is in
    # the database) → pick the language → skip a duplicate (its id is written in the update's
    # transaction; the person is told it came again). The session is opened before the lock so that
    # the state is read in the update's transaction, which begins at that first statement: inside the
    # person's lock, never before it (on SQLite a transaction holds the process's one connection, and
    # waiting for a lock while holding it would stall everyone).
    dp.update.outer_middleware.unregister(dp.fsm)
    dp.update.outer_middleware(MetricsMiddleware())
    dp.update.outer_middleware(DatabaseMiddleware(sessions, signal))
    dp.update.outer_middleware(ResidentMiddleware(dp.fsm, frozenset(settings.staff_ids), views(), beside()))
    dp.update.outer_middleware(LocaleMiddleware(i18n, settings.default_language or city.default_language))
    dp.update.outer_middleware(DedupMiddleware())  # after the locale: a redelivery is answered in it
    # a typed message's last answer goes in the webhook's reply, the prompt's closing note included
    dp.message.outer_middleware(ReplyMiddleware())
    prompts = PromptMiddleware()  # a prompt reading free text ends when the person leaves it
    dp.message.outer_middleware(prompts)
    dp.callback_query.outer_middleware(prompts)
    throttling = ThrottlingMiddleware(
        redis=getattr(storage, "redis", None), prefix=f"{settings.redis_prefix}:throttle"
    )
    dp.message.middleware(throttling)
    dp.callback_query.middleware(throttling)
    dp.callback_query.middleware(AnswerMiddleware())
    dp.include_routers(*feature_routers)
    offered_where_taken(dp)  # a press or a message is offered only to the routers that can take it
    presses_read_once(dp)  # a press's data read once by each factory, not once by each handler
    filters_on_the_loop(dp)  # no thread hop per filter check
    return dp


async def build(
    settings: Settings, *, api_url: str | None = None, extra_features: Iterable[Feature] = ()
) -> Meydan:
    if not settings.bot_token:
        raise ValueError("BOT_TOKEN is not set")
    engine, sessions, city = await prepare_database(settings)
    default_language = settings.default_language or city.default_language
    i18n = make_i18n(default_language)
    storage, isolation = make_storage(settings, sessions)
    signal = outbox.Signal()
    dp = make_dispatcher(settings, city, sessions, i18n, storage, isolation, extra_features, signal)
    bot = make_bot(settings.bot_token, api_url or settings.telegram_api_url)
    scheduling = make_scheduling(settings, sessions, signal, api_url)
    app = Meydan(
        settings=settings,
        city=city,
        engine=engine,
        sessions=sessions,
        i18n=i18n,
        storage=storage,
        bot=bot,
        dp=dp,
        scheduling=scheduling,
        signal=signal,
    )
    if settings.webhook_secret:
        app.webhook_secret = settings.webhook_secret
    dp.startup.register(_on_startup)
    dp["meydan"] = app
    return app


def make_scheduling(
    settings: Settings,
    sessions: async_sessionmaker[AsyncSession],
    signal: outbox.Signal,
    api_url: str | None = None,
) -> Scheduling:
    """The scheduler, its lease and the outbox worker; the worker has its own Telegram client, which
    leaves flood limits (429) to the worker: it puts off that chat alone instead of waiting."""
    token, url = settings.bot_token or "", api_url or settings.telegram_api_url
    return Scheduling(
        sessions,
        lambda: make_bot(token, url, max_retry_wait=0, client="outbox"),
        signal,
        pace=Pace(rate=settings.outbox_rate),
        lease_ttl=settings.scheduler_lease_ttl,
        claim_timeout=settings.outbox_claim_timeout,
        stop_timeout=settings.worker_stop_timeout,
    )


async def _on_startup(bot: Bot, meydan: Meydan) -> None:
    default_language = meydan.settings.default_language or meydan.city.default_language
    await set_commands(bot, meydan.i18n, default_language)
    await set_descriptions(bot, meydan.i18n, default_language, meydan.city)
    if meydan.settings.scheduler and not meydan.scheduling.running:
        await meydan.scheduling.start()  # raises LeaseHeld when another scheduler runs on this database
    log.info("bot started city=%s", meydan.city.key)


DESCRIPTION = N_("Meydan is {city}'s public square in your pocket. Here you can:")
DESCRIPTION_END = N_("Press Start to choose your language and neighborhood.")
SHORT_DESCRIPTION = N_("{city}'s public square: ideas, votes and your neighborhood, from Telegram.")


async def set_commands(bot: Bot, i18n: I18n, default_language: str) -> None:
    """The "/" menu in each language (and the city's language for everyone else), from the manifest."""
    for lang in (*i18n.available_locales, None):
        shown = lang or default_language
        listed = [
            BotCommand(command=c.name, description=translate(c.description, shown))
            for c in manifest_commands()
            if not c.staff_only
        ]
        await bot.set_my_commands(listed, scope=BotCommandScopeAllPrivateChats(), language_code=lang)


async def set_descriptions(bot: Bot, i18n: I18n, default_language: str, city: CitySpec) -> None:
    """What Telegram shows in an empty chat with the bot, and on its profile, in each language."""
    for lang in (*i18n.available_locales, None):
        shown = lang or default_language
        name = city.names.get(shown)
        lines = [translate(DESCRIPTION, shown, city=name)]
        lines += [f"• {translate(pitch, shown)}" for pitch in pitches()]
        lines += ["", translate(DESCRIPTION_END, shown)]
        await bot.set_my_description("\n".join(lines)[:512], language_code=lang)
        await bot.set_my_short_description(translate(SHORT_DESCRIPTION, shown, city=name), language_code=lang)


def webhook_app(meydan: Meydan, *, background: bool = False) -> web.Application:
    """An aiohttp app that takes Telegram's webhook calls (a wrong secret token gets 403), with
    `/healthz` and `/metrics`. Each call is answered once its update has been handled (`background`
    False): a process that dies meanwhile has answered nothing, so Telegram delivers the update again
    (to another instance behind the load balancer) and the dedup, whose row was rolled back, lets it
    through once. With `background` True it answers 200 at once and handles the update afterwards."""
    app = web.Application()
    handler = _WebhookHandler(
        dispatcher=meydan.dp,
        bot=meydan.bot,
        secret_token=meydan.webhook_secret,
        handle_in_background=background,
    )
    handler.register(app, path=WEBHOOK_PATH)
    app.router.add_get("/healthz", _health)
    metrics.add_route(app, meydan.sessions)
    return app


class _WebhookHandler(SimpleRequestHandler):
    """aiogram's handler, answering 403 Forbidden (not 401) to a call without the right secret token
    (whatever bytes the header holds), and 400 to a body that is not an update. The body is parsed and
    validated once (aiogram's own handler would do it again) and a method in the reply goes as JSON."""

    def verify_secret(self, telegram_secret_token: str, bot: Bot) -> bool:
        if not self.secret_token:
            return True
        given, wanted = telegram_secret_token.encode("utf-8", "replace"), self.secret_token.encode()
        return secrets.compare_digest(given, wanted)

    async def handle(self, request: web.Request) -> web.Response:
        if not self.verify_secret(request.headers.get("X-Telegram-Bot-Api-Secret-Token", ""), self.bot):
            return web.Response(status=403, text="Forbidden")
        try:
            body = await request.json(loads=self.bot.session.json_loads)
            update = Update.model_validate(body, context={"bot": self.bot})
        except (ValueError, TypeError):  # not JSON, or not an update (pydantic's error is a ValueError)
            return web.Response(status=400, text="Bad Request")
        if self.handle_in_background:
            task = asyncio.create_task(self._in_background(update))
            self._background_feed_update_tasks.add(task)
            task.add_done_callback(self._background_feed_update_tasks.discard)
            return web.json_response({})
        result = await self.dispatcher.feed_webhook_update(self.bot, update, **self.data)
        return web.Response(body=self._build_response_writer(bot=self.bot, result=result))

    async def close(self) -> None:
        """Nothing: aiogram's handler closes the bot's session when the app shuts down, which aiohttp
        signals before it waits for the calls in hand, so an update being handled would lose its
        requests to Telegram. `Meydan.close` closes the session once the server has stopped."""

    async def _in_background(self, update: Update) -> None:
        result = await self.dispatcher.feed_update(self.bot, update, **self.data)
        if isinstance(result, TelegramMethod):
            await self.dispatcher.silent_call_request(bot=self.bot, result=result)

    def _build_response_writer(self, bot: Bot, result: TelegramMethod[Any] | None) -> Payload:
        session = bot.session
        if result and isinstance(session, Session):
            body = session.json_body(bot, result, method=result.__api_method__)
            if body is not None:
                return body
        return super()._build_response_writer(bot, result)


async def _health(_request: web.Request) -> web.Response:
    return web.json_response({"ok": True})
