"""Fixtures shared by the suite.

Databases: SQLite files by default; PostgreSQL when TEST_DATABASE_URL is set (a fresh database per
test, copied from a migrated template). Redis-backed tests run when TEST_REDIS_URL is set.
Flow tests run the real bot as a webhook server against the sandbox emulator and talk to it as people.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from aiohttp import web
from sqlalchemy import event, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import make_url

from bot.app import WEBHOOK_PATH, Meydan, build, prepare_database, webhook_app
from bot.config import DEFAULT_CITY_FILE, Settings
from bot.middlewares import reply

TEST_TOKEN = "123456789:TEST-token-for-the-sandbox"
STAFF_ID = 100_000_900
TEST_DATABASE_URL = os.environ.get("TEST_DATABASE_URL") or None
TEST_REDIS_URL = os.environ.get("TEST_REDIS_URL") or None

needs_redis = pytest.mark.skipif(not TEST_REDIS_URL, reason="TEST_REDIS_URL is not set")


def statements_run(engine, keep: Callable[[str], bool] = lambda _statement: True) -> list[str]:  # noqa: ANN001
    """The statements an engine (sync or async) runs from now on, those `keep` holds for, as sent."""
    seen: list[str] = []
    event.listen(
        getattr(engine, "sync_engine", engine),
        "before_cursor_execute",
        lambda _c, _cur, statement, *_a: seen.append(statement) if keep(statement) else None,
    )
    return seen


def compiled_once(statement, dialect: str):  # noqa: ANN001, ANN201
    """`statement` compiled for `dialect`, checked to hold nothing that SQLAlchemy renders into the SQL
    again at every execution (an expanding parameter, a `literal_execute` one)."""
    compiled = statement.compile(dialect={"postgresql": postgresql, "sqlite": sqlite}[dialect].dialect())
    assert "POSTCOMPILE" not in str(compiled) and not compiled.literal_execute_params
    return compiled


def selects_run(engine) -> list[str]:  # noqa: ANN001
    """The SELECT statements an engine runs from now on."""
    return statements_run(engine, lambda statement: statement.startswith("SELECT"))


def pytest_report_header(config: pytest.Config) -> list[str]:
    db = (
        make_url(TEST_DATABASE_URL).render_as_string(hide_password=True)
        if TEST_DATABASE_URL
        else "SQLite files"
    )
    return [f"meydan database: {db}; redis: {TEST_REDIS_URL or 'not set'}"]


class Databases:
    """Hands out clean databases, each a copy of one migrated template with the default city loaded."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.template: str | None = None
        self.made: list[str] = []
        self.prefix = f"meydan_{os.getpid()}_{uuid.uuid4().hex[:6]}"

    def _pg_url(self, name: str) -> str:
        return make_url(TEST_DATABASE_URL).set(database=name).render_as_string(hide_password=False)

    async def _admin(self, *statements: str) -> None:
        from storage.db import make_engine

        engine = make_engine(TEST_DATABASE_URL, isolation_level="AUTOCOMMIT")
        try:
            async with engine.connect() as conn:
                for stmt in statements:
                    await conn.execute(text(stmt))
        finally:
            await engine.dispose()

    async def empty(self) -> str:
        """A database with nothing in it (for migration tests)."""
        if TEST_DATABASE_URL:
            name = f"{self.prefix}_{len(self.made)}"
            await self._admin(f'CREATE DATABASE "{name}"')
            self.made.append(name)
            return self._pg_url(name)
        path = self.root / f"empty-{uuid.uuid4().hex[:8]}.db"
        return f"sqlite+aiosqlite:///{path}"

    async def clean(self) -> str:
        """A migrated database with the default city loaded."""
        if self.template is None:
            url = await self.empty()
            engine, _sessions, _spec = await prepare_database(Settings(database_url=url, bot_token=None))
            await engine.dispose()
            self.template = url
        if TEST_DATABASE_URL:
            name = f"{self.prefix}_{len(self.made)}"
            template = make_url(self.template).database
            await self._admin(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
            self.made.append(name)
            return self._pg_url(name)
        source = Path(make_url(self.template).database)
        target = self.root / f"db-{uuid.uuid4().hex[:8]}.db"
        shutil.copyfile(source, target)
        return f"sqlite+aiosqlite:///{target}"

    async def drop_all(self) -> None:
        if TEST_DATABASE_URL and self.made:
            await self._admin(*(f'DROP DATABASE IF EXISTS "{n}" WITH (FORCE)' for n in reversed(self.made)))


@pytest.fixture(scope="session")
def databases(tmp_path_factory: pytest.TempPathFactory) -> Databases:
    dbs = Databases(tmp_path_factory.mktemp("databases"))
    yield dbs
    asyncio.run(dbs.drop_all())


@pytest.fixture
async def database_url(databases: Databases) -> str:
    return await databases.clean()


@pytest.fixture
async def empty_database_url(databases: Databases) -> str:
    return await databases.empty()


@pytest.fixture(autouse=True)
def _no_flood_seen(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test starts as a process that has met no 429: one that did (`reply.flood_seen`) sends its
    answers as calls, not in the webhook's reply, for a while after, which the next test would see."""
    monkeypatch.setattr(reply._Flood, "calls_until", 0.0)  # noqa: SLF001


@pytest.fixture
def settings(database_url: str) -> Settings:
    return Settings(
        _env_file=None,
        bot_token=TEST_TOKEN,
        database_url=database_url,
        city_file=DEFAULT_CITY_FILE,
        staff_ids=[STAFF_ID],
        default_language=None,
    )


@pytest.fixture(params=["database", "redis"])
def state_settings(request: pytest.FixtureRequest, settings: Settings) -> Settings:
    """`settings` with the conversation state in the database, then in Redis (skipped without
    TEST_REDIS_URL): for the flows that must hold with either store."""
    if request.param == "database":
        return settings
    if not TEST_REDIS_URL:
        pytest.skip("TEST_REDIS_URL is not set")
    return settings.model_copy(update={"redis_url": TEST_REDIS_URL})


@pytest.fixture
async def sessions(database_url: str) -> AsyncIterator:
    from storage.db import make_engine, make_session_factory

    engine = make_engine(database_url)
    yield make_session_factory(engine)
    await engine.dispose()


@pytest.fixture
async def sandbox() -> AsyncIterator:
    from bot.sandbox.emulator import Limits
    from bot.sandbox.testing import Sandbox

    async with Sandbox(limits=Limits.for_tests()) as sb:
        yield sb


async def start_bot(meydan: Meydan, sandbox_url: str) -> web.AppRunner:
    """Serve the bot's webhook on a free loopback port and point the emulator at it."""
    runner = web.AppRunner(webhook_app(meydan, background=False))
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # noqa: SLF001 - aiohttp exposes no public accessor
    await meydan.bot.set_webhook(f"http://127.0.0.1:{port}{WEBHOOK_PATH}", secret_token=meydan.webhook_secret)
    await meydan.dp.emit_startup(bot=meydan.bot, **meydan.dp.workflow_data)
    return runner


@asynccontextmanager
async def running_bot(settings: Settings, sandbox, extra_features=()) -> AsyncIterator[Meydan]:  # noqa: ANN001
    """The whole bot, built as production builds it, serving the sandbox's webhook until the block ends
    (a second one on the same database is a restart); `extra_features` adds features to the manifest."""
    app = await build(
        settings.model_copy(update={"bot_token": sandbox.token}),
        api_url=sandbox.url,
        extra_features=extra_features,
    )
    runner = await start_bot(app, sandbox.url)
    try:
        yield app
    finally:
        await app.dp.emit_shutdown(bot=app.bot, **app.dp.workflow_data)
        await runner.cleanup()
        await app.close()


@pytest.fixture
async def meydan(settings: Settings, sandbox) -> AsyncIterator[Meydan]:  # noqa: ANN001
    async with running_bot(settings, sandbox) as app:
        yield app
