"""`meydan run` against a Bot API server (the sandbox), by long polling and as a webhook server,
and the administrative commands."""

from __future__ import annotations

import asyncio
import signal
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from aiogram.types import BotCommandScopeAllPrivateChats

from bot.config import PROJECT_ROOT
from bot.sandbox.emulator import Limits
from bot.sandbox.testing import Sandbox
from bot.telegram import make_bot
from tests.flows import ACCEPT, DISTRICT, LANGUAGE, command_env, pick_place, stop_process


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    return command_env(DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path / 'run.db'}", **extra)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.parametrize("mode", ["polling", "webhook"])
async def test_run_answers_through_a_custom_bot_api_server(tmp_path: Path, mode: str) -> None:
    async with Sandbox(limits=Limits.for_tests()) as sb:
        extra = {"BOT_TOKEN": sb.token, "TELEGRAM_API_URL": sb.url, "STAFF_IDS": "42"}
        if mode == "webhook":
            port = _free_port()
            extra |= {
                "WEBHOOK_URL": f"http://127.0.0.1:{port}",
                "WEBHOOK_PORT": str(port),
                "WEBHOOK_SECRET": "s3cret-token",
            }
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            "run",
            cwd=tmp_path,
            env=_env(tmp_path, **extra),
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE,
        )
        try:
            for _ in range(300):  # the bot is up once it has registered its commands
                if (await sb.client.bot()).get("delivery") == ("webhook" if mode == "webhook" else "polling"):
                    break
                await asyncio.sleep(0.1)
            person = await sb.person("Ayşe", language_code="tr")
            person.timeout = 20
            reply = await person.say("/start")
            assert reply is not None and "Dilinizi seçin" in reply.text
            bot = make_bot(sb.token, sb.url)
            try:
                scope = BotCommandScopeAllPrivateChats()
                turkish = await bot.get_my_commands(scope=scope, language_code="tr")
                english = await bot.get_my_commands(scope=scope, language_code="en")
            finally:
                await bot.session.close()
            assert {c.command for c in turkish} >= {"start", "settings", "help", "cancel"}
            assert next(c for c in turkish if c.command == "menu").description == "Ana menü"
            assert next(c for c in english if c.command == "menu").description == "The main menu"
        finally:
            await stop_process(proc)
        stderr = (await proc.stderr.read()).decode()
        assert "Traceback" not in stderr, stderr
        assert "Ayşe" not in stderr  # no personal data in the logs


def _meydan(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        cwd=tmp_path,
        env=_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_admin_city_and_db_commands(tmp_path: Path) -> None:
    done = _meydan(tmp_path, "db", "upgrade")
    assert done.returncode == 0 and "database at revision" in done.stdout
    done = _meydan(tmp_path, "city", "load", str(PROJECT_ROOT / "cities" / "izmir.toml"))
    assert done.returncode == 0 and "created 1 city" in done.stdout and "1308 neighborhoods" in done.stdout, (
        done
    )
    again = _meydan(tmp_path, "city", "load", str(PROJECT_ROOT / "cities" / "izmir.toml"))
    assert "created nothing; updated nothing; deactivated nothing" in again.stdout
    csv = tmp_path / "hoods.csv"
    csv.write_text("district,neighborhood\nKonak,Yeni Mahalle\nKonak\n", encoding="utf-8")
    bad = _meydan(tmp_path, "city", "import-neighborhoods", str(csv))
    assert bad.returncode == 2 and "line 3" in bad.stderr
    csv.write_text("district,neighborhood\nKonak,Yeni Mahalle\n", encoding="utf-8")
    good = _meydan(tmp_path, "city", "import-neighborhoods", str(csv))
    assert good.returncode == 0 and "1 neighborhoods created" in good.stdout
    granted = _meydan(tmp_path, "admin", "grant", "4242", "coordinator", "--neighborhood", "konak/pazaryeri")
    assert granted.returncode == 0 and "coordinator granted for 4242" in granted.stdout
    assert (
        "nothing to change"
        in _meydan(
            tmp_path, "admin", "grant", "4242", "coordinator", "--neighborhood", "konak/pazaryeri"
        ).stdout
    )
    missing = _meydan(tmp_path, "admin", "grant", "4242", "coordinator")
    assert missing.returncode == 2 and "needs the council's neighborhood" in missing.stderr
    unknown = _meydan(tmp_path, "admin", "grant", "4242", "mayor")
    assert unknown.returncode == 2 and "unknown role" in unknown.stderr
    revoked = _meydan(tmp_path, "admin", "revoke", "4242", "coordinator")
    assert revoked.returncode == 0 and "coordinator revoked" in revoked.stdout
    bad_city = tmp_path / "bad.toml"
    bad_city.write_text('key = "x"\n', encoding="utf-8")
    failed = _meydan(tmp_path, "city", "load", str(bad_city))
    assert failed.returncode == 2 and failed.stderr.startswith("meydan: ") and "names" in failed.stderr


@pytest.mark.parametrize(
    "extra",
    [
        {"WEBHOOK_URL": "https://bot.example.org"},
        {"DATABASE_URL": "postgresql+asyncpg://meydan@db.example.org/meydan"},
        {"REDIS_URL": "redis://127.0.0.1:6379/0"},
    ],
)
def test_run_without_a_token_refuses_when_production_is_configured(tmp_path: Path, extra: dict) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "bot", "run"],
        cwd=tmp_path,
        env={**_env(tmp_path), **extra},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert "BOT_TOKEN is not set" in done.stderr and "refusing to start" in done.stderr
    assert next(iter(extra)) in done.stderr
    assert not (tmp_path / "meydan-sandbox.db").exists()


def test_the_sandbox_never_uses_what_is_configured() -> None:
    from bot.config import Settings
    from bot.sandbox.runner import DEMO_STAFF_ID, SANDBOX_DATABASE, sandbox_settings

    configured = Settings(
        bot_token=None,
        database_url="sqlite+aiosqlite:///production.db",
        staff_ids=[42, 43],
        staff_group_id=-1001,
        sandbox_host="0.0.0.0",
    )
    sandbox = sandbox_settings(configured)
    assert sandbox.database_url == SANDBOX_DATABASE and sandbox.staff_ids == [DEMO_STAFF_ID]
    assert (
        sandbox.staff_group_id is None and sandbox.redis_url is None and sandbox.sandbox_host == "127.0.0.1"
    )


async def _processed(database: Path, update_id: int) -> bool:
    """Whether the bot recorded the update as handled (its dedup row, committed with its transaction)."""
    from sqlalchemy import text

    from storage.db import make_engine

    engine = make_engine(f"sqlite+aiosqlite:///{database}")
    try:
        async with engine.connect() as connection:
            found = await connection.scalar(
                text("SELECT count(*) FROM processed_updates WHERE update_id = :id"), {"id": update_id}
            )
    finally:
        await engine.dispose()
    return bool(found)


async def _start_webhook_instance(
    tmp_path: Path, sb: Sandbox, **extra: str
) -> tuple[asyncio.subprocess.Process, int]:
    port = _free_port()
    env = _env(
        tmp_path,
        BOT_TOKEN=sb.token,
        TELEGRAM_API_URL=sb.url,
        WEBHOOK_URL=f"http://127.0.0.1:{port}",
        WEBHOOK_PORT=str(port),
        WEBHOOK_SECRET="s3cret-token",
        **extra,
    )
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "run", cwd=tmp_path, env=env,
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    for _ in range(300):  # serving once it has set its webhook
        if (await sb.client.bot()).get("delivery") == "webhook":
            break
        await asyncio.sleep(0.1)
    return proc, port


async def _type_the_neighborhood(sb: Sandbox, person: Any, lang: str, hold_s: float) -> Any:
    """Onboard `person` up to the neighborhood, then type it without waiting for the bot: a lone match,
    answered with two messages ("All set", then the menu), so the first goes out as a call of the
    bot's own (a typed message's last answer goes in the webhook's reply), held `hold_s` seconds."""
    await person.press(LANGUAGE[lang])
    await person.press(ACCEPT[lang])
    await pick_place(person, "Konak", f"Konak ({DISTRICT[lang]})")
    sb.emulator.limiter.hold(person.id, hold_s)  # its next message to her waits (429, retry_after)
    return await sb.client.send(person.id, {"text": "Pazaryeri"}, wait=False)


async def _refused(port: int) -> bool:
    """Whether a new webhook call to the instance is turned away (refused at connect time, or the
    connection closed before an answer), so that nginx or Telegram passes it on."""
    import aiohttp

    url = f"http://127.0.0.1:{port}/telegram/webhook"
    try:
        async with aiohttp.ClientSession() as http, http.post(url, json={"update_id": 1}):
            return False
    except aiohttp.ClientConnectionError:
        return True


async def test_sigterm_finishes_the_update_in_hand_refuses_new_calls_and_exits_0(tmp_path: Path) -> None:
    """SIGTERM while an update is being handled (its answer held 4 s by a flood wait Telegram asked
    for): the instance stops taking calls at once, the update is answered and recorded, then the
    process closes everything and exits 0."""
    async with Sandbox(limits=Limits.for_tests()) as sb:
        proc, port = await _start_webhook_instance(tmp_path, sb, WEBHOOK_STOP_TIMEOUT="10")
        try:
            person = await sb.person("Ayşe", language_code="tr")
            person.timeout = 20
            assert "Dilinizi seçin" in (await person.say("/start")).text  # the bot is up
            sent = await _type_the_neighborhood(sb, person, "tr", 4)
            for _ in range(100):  # handled up to the answer: committed, then waiting to send it
                if await _processed(tmp_path / "run.db", sent.update_id):
                    break
                await asyncio.sleep(0.05)
            else:
                raise AssertionError("the update was not recorded")
            loop = asyncio.get_running_loop()
            stopped_at = loop.time()
            proc.send_signal(signal.SIGTERM)
            for _ in range(40):  # the listening socket closes at once
                if await _refused(port):
                    break
                await asyncio.sleep(0.05)
            else:
                raise AssertionError("a new call was still taken after SIGTERM")
            assert proc.returncode is None, "the process did not wait for the update in hand"
            code = await asyncio.wait_for(proc.wait(), 20)
            assert code == 0
            assert loop.time() - stopped_at >= 3, "the process did not wait for the flood wait to end"
            answers = [m for m in await person.bot_messages() if m.message_id > sent.message.message_id]
            assert [m.text.split()[0] for m in answers] == ["✅", "🏛"]  # all set, then the menu
            assert await _processed(tmp_path / "run.db", sent.update_id)
        finally:
            await stop_process(proc)
        stderr = (await proc.stderr.read()).decode()
        assert "Traceback" not in stderr, stderr
        assert "stop requested" in stderr and "webhook stopped" in stderr, stderr


async def test_sigterm_waits_no_longer_than_the_stop_timeout(tmp_path: Path) -> None:
    """An update still in hand when WEBHOOK_STOP_TIMEOUT runs out is cancelled (Telegram calls again), and
    the process still exits 0, in about that time."""
    async with Sandbox(limits=Limits.for_tests()) as sb:
        proc, _port = await _start_webhook_instance(tmp_path, sb, WEBHOOK_STOP_TIMEOUT="1")
        try:
            person = await sb.person("John", language_code="en")
            person.timeout = 20
            assert "Choose your language" in (await person.say("/start")).text
            sent = await _type_the_neighborhood(sb, person, "en", 30)
            for _ in range(100):
                if await _processed(tmp_path / "run.db", sent.update_id):
                    break
                await asyncio.sleep(0.05)
            loop = asyncio.get_running_loop()
            stopped_at = loop.time()
            proc.send_signal(signal.SIGTERM)
            assert await asyncio.wait_for(proc.wait(), 20) == 0
            assert loop.time() - stopped_at < 8
        finally:
            await stop_process(proc)
        stderr = (await proc.stderr.read()).decode()
        assert "webhook stopped" in stderr, stderr
