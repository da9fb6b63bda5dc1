"""Meydan's own bot through the sandbox emulator, against the echo anchor in the same run.

The whole application is built as in production (``bot.app.build``: migrations, the Izmir city file,
the SQL conversation storage, every middleware, HTML parse mode and the flood-limit retry) on a fresh
SQLite file, or on a PostgreSQL database of its own made from ``BENCH_DATABASE_URL`` and dropped at the
end, and served in its own process by long polling and then as a webhook server. N people at once each
go through onboarding (/start, choose a language, accept the privacy notice, type a district, type a
neighborhood; a typed name with one match is taken at once, one with several is answered with buttons
and the person presses its own), then a few rounds of /settings, a notification toggled, /menu and
/help, each step waiting for the bot's answer to it (for the neighborhood: the main menu, which comes
after "All set"). A person sends 0 to 2 presses of a place, so the updates per person vary; the echo
bot of :mod:`bench.throughput` runs their mean (rounded) per person with the same number of people,
and the table gives Meydan's updates per second and CPU per update as ratios to the echo row of the
same delivery mode, and the bot's CPU per person, which compares across workloads.

With ``--mix ideas`` the people browse ideas, open one and support it instead. To keep the measurement
about the ideas path, nobody goes through onboarding: the harness prepares the database before the bot
starts (migrations and the city, one citywide process open for ideas, ``PAGE_SIZE`` published ideas per
page for ``rounds + 1`` pages or at least four, each by an author of its own, text-only, spread over
themes and neighborhoods, and every person as an onboarded resident with a language and a
neighborhood), and the bot process builds the application on that database. Each person then sends
/ideas (a new message) and presses "Browse ideas", then ``rounds`` times: opens one of the five ideas on
the page shown (which one depends on the person, so each idea is supported by about a fifth of the
people at once), supports it, goes back to the list, and presses ▶ for the next page. Every press edits
the one message /ideas sent, and is timed to that edit. The check reads every chat (one answer to
/ideas, showing the list's last page reached) and the database (each person supports exactly the ideas
they pressed).

This machine's CPU figures move by a fifth and more between neighbouring runs, the echo's too. With
``--repeats N`` the echo and Meydan run N times in turn, and a last line gives the median of the N
ratios: each ratio pairs two runs a few seconds apart, and the median leaves out the odd one (the
lines after it are the first pair's).

    .venv/bin/python -m bench.meydan [--mix onboarding|ideas] [--people 100] [--rounds 2]
                                     [--database sqlite|postgresql] [--modes polling,webhook]
                                     [--quick] [--profile PREFIX] [--repeats N]
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import platform
import random
import statistics
import sys
import tempfile
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import date
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from aiogram import Bot, Dispatcher
from aiohttp import web

from bench.common import (
    BENCH_TOKEN,
    MODES,
    Check,
    ClientAPI,
    Driver,
    Exchange,
    Mode,
    ReplyRule,
    ScenarioResult,
    Script,
    Sent,
    format_table,
    run_scenario,
)
from bench.throughput import measure_echo
from bot.config import DEFAULT_CITY_FILE, LANGUAGES, Settings, load_city
from bot.features import categories, menu_entries
from bot.i18n import translate
from bot.loop import name as loop_name
from bot.middlewares.dedup import AGAIN
from bot.sandbox.state import FIRST_PERSON_ID
from bot.text import fold
from bot.ui.callbacks import DistrictCb, HoodCb, MenuCb, SettingsCb
from bot.ui.ideas.callbacks import BrowseAction, BrowseCb, IdeaAction, IdeaCb
from bot.ui.settings import NOTIFY_OFF, NOTIFY_ON

if TYPE_CHECKING:
    from bot.app import Meydan

Database = Literal["sqlite", "postgresql"]
DATABASES: tuple[Database, ...] = ("sqlite", "postgresql")
DATABASE_URL_VARIABLE = "BENCH_DATABASE_URL"
PREPARED_VARIABLE = "BENCH_MEYDAN_DATABASE_URL"  # the database the harness prepared for the bot process
Mix = Literal["onboarding", "ideas"]
MIXES: tuple[Mix, ...] = ("onboarding", "ideas")
FACTORIES: dict[Database, str] = {
    "sqlite": "bench.meydan:meydan_on_sqlite",
    "postgresql": "bench.meydan:meydan_on_postgresql",
}

LANGUAGE_BUTTON = {"tr": "🇹🇷 Türkçe", "en": "🇬🇧 English"}
ACCEPT_BUTTON = {"tr": "✅ Kabul ediyorum", "en": "✅ I accept"}
ONBOARDING_TYPED = 5  # /start, the language, "I accept", the district's name, the neighborhood's name
ROUND_STEPS = 4  # /settings, a notification toggled, /menu, /help
IDEAS_START = 2  # /ideas, "Browse ideas"
IDEAS_ROUND = 4  # open an idea, support it, back to the list, the next page


# ---- the application under test (runs in the bot process) ---------------------------------------


@dataclass
class MeydanUnderTest:
    """The built application and what to remove once it has stopped (its database)."""

    meydan: Meydan
    release: Callable[[], Awaitable[None]]

    @property
    def bot(self) -> Bot:
        return self.meydan.bot

    @property
    def dp(self) -> Dispatcher:
        return self.meydan.dp

    def webhook(self) -> tuple[web.Application, str, str]:
        """Meydan's own webhook application (`meydan run` serves it), its path and its secret token."""
        from bot.app import WEBHOOK_PATH, webhook_app

        return webhook_app(self.meydan), WEBHOOK_PATH, self.meydan.webhook_secret

    async def close(self) -> None:
        try:
            await self.meydan.close()
        finally:
            await self.release()


def _settings(database_url: str, api_url: str, token: str) -> Settings:
    return Settings(
        _env_file=None,
        bot_token=token,
        telegram_api_url=api_url,
        database_url=database_url,
        redis_url=None,
        city_file=DEFAULT_CITY_FILE,
        staff_ids=[],
        webhook_url=None,
        webhook_secret=None,
        default_language=None,
        staff_group_id=None,
        log_level="WARNING",
    )


async def meydan_on_sqlite(api_url: str, token: str = BENCH_TOKEN) -> MeydanUnderTest:
    """The whole bot on a fresh SQLite file in a temporary directory (removed at the end)."""
    from bot.app import build

    directory = tempfile.TemporaryDirectory(prefix="meydan-bench-")
    url = f"sqlite+aiosqlite:///{Path(directory.name) / 'meydan.db'}"
    meydan = await build(_settings(url, api_url, token), api_url=api_url)

    async def release() -> None:
        directory.cleanup()

    return MeydanUnderTest(meydan, release)


async def meydan_on_prepared(api_url: str, token: str = BENCH_TOKEN) -> MeydanUnderTest:
    """The whole bot on the database the harness prepared (``BENCH_MEYDAN_DATABASE_URL``); the harness
    reads it afterwards and removes it."""
    from bot.app import build

    meydan = await build(_settings(os.environ[PREPARED_VARIABLE], api_url, token), api_url=api_url)

    async def release() -> None:
        return None

    return MeydanUnderTest(meydan, release)


async def _postgres_admin(server_url: str, statement: str) -> None:
    from sqlalchemy import text

    from storage.db import make_engine

    engine = make_engine(server_url, isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as connection:
            await connection.execute(text(statement))
    finally:
        await engine.dispose()


async def meydan_on_postgresql(api_url: str, token: str = BENCH_TOKEN) -> MeydanUnderTest:
    """The whole bot on a new PostgreSQL database on the server of ``BENCH_DATABASE_URL``, dropped at the end."""
    from sqlalchemy.engine import make_url

    from bot.app import build

    server_url = os.environ.get(DATABASE_URL_VARIABLE)
    if not server_url:
        raise RuntimeError(f"{DATABASE_URL_VARIABLE} is not set")
    name = f"meydan_bench_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    await _postgres_admin(server_url, f'CREATE DATABASE "{name}"')
    url = make_url(server_url).set(database=name).render_as_string(hide_password=False)
    try:
        meydan = await build(_settings(url, api_url, token), api_url=api_url)
    except BaseException:
        await _postgres_admin(server_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        raise

    async def release() -> None:
        await _postgres_admin(server_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    return MeydanUnderTest(meydan, release)


# ---- the people ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Resident:
    """What one simulated person picks: a language and a place of the city file."""

    language: str
    district: str
    neighborhood: str


@cache
def _places() -> tuple[tuple[str, tuple[str, ...]], ...]:
    city = load_city(DEFAULT_CITY_FILE)
    return tuple((d.name, tuple(n.name for n in d.neighborhoods)) for d in city.districts)


def resident_for(person_id: int) -> Resident:
    """Half the people choose Turkish, half English; places are spread over the whole city."""
    rng = random.Random(person_id)
    district, neighborhoods = rng.choice(_places())
    return Resident("tr" if person_id % 2 == 0 else "en", district, rng.choice(neighborhoods))


@cache
def place_presses(person_id: int) -> int:
    """How many place buttons this person will press (0 to 2): the bot's search mirrored on the city file.

    The bot (`bot.ui.places`, `bot.services.geography`) matches a typed name against the folded names
    that contain it. A district name is taken at once when it matches that district alone and no
    neighborhood of the city, else the matches are offered and the district is pressed; a neighborhood
    name, searched within the district, is taken at once when it matches one neighborhood, else pressed.
    Used to give the echo anchor as many updates as Meydan gets; the table shows the updates measured.
    """
    me = resident_for(person_id)
    places = _places()
    typed = fold(me.district)
    districts = [d for d, _ in places if typed in fold(d)]
    hoods = [n for _, names in places for n in names if typed in fold(n)]
    typed = fold(me.neighborhood)
    in_district = [n for n in dict(places)[me.district] if typed in fold(n)]
    return int(not (len(districts) == 1 and not hoods)) + int(len(in_district) != 1)


def toggled(rounds: int) -> list[tuple[str, str]]:
    """The notification each round turns, in turn, and the action of the button that does it (turn
    off where it is on)."""
    shown = {c.key: c.default for c in categories()}
    kinds = list(shown)
    turns = []
    for i in range(rounds):
        kind = kinds[i % len(kinds)]
        turns.append((kind, NOTIFY_OFF if shown[kind] else NOTIFY_ON))
        shown[kind] = not shown[kind]
    return turns


@cache
def main_menu_buttons() -> frozenset[str]:
    """The callback data of a resident's main menu, as the manifest builds it (`bot.ui.menu.main_menu`)."""
    return frozenset(MenuCb(action=e.key).pack() for e in menu_entries() if not e.staff_only)


def _buttons(message: dict[str, Any]) -> list[dict[str, Any]]:
    return [b for row in (message.get("reply_markup") or {}).get("inline_keyboard", []) for b in row]


def is_main_menu(message: dict[str, Any]) -> bool:
    """A bot message carrying exactly the main menu's buttons (not /help's, which also uses `MenuCb`)."""
    return {b.get("callback_data") for b in _buttons(message)} == main_menu_buttons()


def _offers_neighborhoods(message: dict[str, Any]) -> bool:
    return any(str(b.get("callback_data", "")).startswith(f"{HoodCb.__prefix__}:") for b in _buttons(message))


def menu_or_matches(sent: Sent, messages: Sequence[dict[str, Any]]) -> float | None:
    """A :data:`ReplyRule` for choosing the neighborhood, typed or pressed: the main menu, or the matches offered.

    A typed name with one match is taken at once: the bot sends "✅ All set" and then the main menu, two
    new messages. A typed name with several matches gets one new message offering them as buttons; the
    press then edits that message into "✅ All set" and sends the main menu as a new message. So the
    answer is the first bot message created after the update that is either the main menu or the offer
    of neighborhoods, never the "All set" that comes before the menu.
    """
    for message in messages:
        if message["from"] != "bot":
            continue
        if sent.message_id is not None:
            new = message["message_id"] > sent.message_id
        else:
            new = message["sent_at"] >= sent.at
        if new and (is_main_menu(message) or _offers_neighborhoods(message)):
            return message["sent_at"]
    return None


def find_button(
    messages: Sequence[dict[str, Any]], label: str | None = None, data: str | None = None
) -> tuple[int, str]:
    """The newest bot message with an inline button of this label (else containing it) or callback data.

    Returns the message id and the button's callback data; raises when no message has such a button.
    """
    for message in reversed(messages):
        if message["from"] != "bot":
            continue
        buttons = [b for row in (message.get("reply_markup") or {}).get("inline_keyboard", []) for b in row]
        for match in (
            lambda b: (
                (label is not None and b.get("text") == label)
                or (data is not None and b.get("callback_data") == data)
            ),
            lambda b: label is not None and label in b.get("text", ""),
        ):
            found = next((b for b in buttons if match(b)), None)
            if found is not None:
                return int(message["message_id"]), str(found["callback_data"])
    shown = [m["text"][:80] for m in messages if m["from"] == "bot"][-3:]
    raise AssertionError(f"no button {label or data!r} in the bot's messages (last: {shown})")


async def _press(
    driver: Driver,
    person_id: int,
    after: Exchange,
    label: str | None = None,
    data: str | None = None,
    reply: ReplyRule | None = None,
) -> Exchange:
    message_id, callback_data = find_button(after.messages, label, data)
    return await driver.press(person_id, message_id, callback_data, reply)


def _offered(after: Exchange, prefix: str, label: Callable[[str], bool]) -> tuple[int, str] | None:
    """The button of the bot's last message whose callback data starts with `prefix` and whose text
    `label` accepts: (message id, callback data), or None when that message offers no such button."""
    for message in after.bot_messages()[-1:]:
        for button in _buttons(message):
            data = str(button.get("callback_data", ""))
            if data.startswith(f"{prefix}:") and label(button.get("text", "")):
                return int(message["message_id"]), data
    return None


async def _press_if_offered(
    driver: Driver,
    person_id: int,
    after: Exchange,
    prefix: str,
    label: Callable[[str], bool],
    reply: ReplyRule | None = None,
) -> Exchange:
    """Press the offered button when the bot's answer offers several matches; after a lone match (taken at
    once, no press) the step is already done, and no update is sent. An offer without the person's own
    place is an error (the scenario would go off track)."""
    offered = _offered(after, prefix, label)
    if offered is None:
        if _offered(after, prefix, lambda _text: True) is not None:
            shown = [b.get("text") for m in after.bot_messages()[-1:] for b in _buttons(m)]
            raise AssertionError(f"person {after.sent.person_id}: not among the matches offered: {shown}")
        return after
    return await driver.press(person_id, *offered, reply)


def resident_script(rounds: int) -> Script:
    """Onboarding, then ``rounds`` times: /settings, toggle a notification, /menu, /help.

    A step whose answer did not come (counted as unanswered) ends that person's script.
    """

    async def script(driver: Driver, person_id: int) -> None:
        me = resident_for(person_id)

        def district_button(text: str) -> bool:  # "🏙 Konak (district)", "🏙 Konak (ilçe)"
            return text.startswith(f"🏙 {me.district} (")

        def hood_button(text: str) -> bool:  # within the district, a neighborhood is offered by name
            return text == me.neighborhood

        steps: list[Callable[[Exchange], Awaitable[Exchange]]] = [
            lambda ex: _press(driver, person_id, ex, LANGUAGE_BUTTON[me.language]),
            lambda ex: _press(driver, person_id, ex, ACCEPT_BUTTON[me.language]),
            # a lone district goes straight to its neighborhoods (a new message); when the name also
            # matches other places, they are offered as buttons ("🏙 Konak (district)", "🏘 Konak (Konak)")
            # and the district's press edits that message into its neighborhoods
            lambda ex: driver.say(person_id, me.district),
            lambda ex: _press_if_offered(driver, person_id, ex, DistrictCb.__prefix__, district_button),
            # a lone neighborhood is taken at once ("All set", then the menu: wait for the menu); several
            # are offered as buttons, and the press edits the offer into "All set" and sends the menu
            lambda ex: driver.say(person_id, me.neighborhood, reply=menu_or_matches),
            lambda ex: _press_if_offered(
                driver, person_id, ex, HoodCb.__prefix__, hood_button, reply=menu_or_matches
            ),
        ]
        for kind, action in toggled(rounds):
            toggle = SettingsCb(action=action, value=kind).pack()
            steps += [
                lambda ex: driver.say(person_id, "/settings"),
                lambda ex, toggle=toggle: _press(driver, person_id, ex, data=toggle),
                lambda ex: driver.say(person_id, "/menu"),
                lambda ex: driver.say(person_id, "/help"),
            ]
        exchange = await driver.say(person_id, "/start")
        for step in steps:
            if exchange.answered_at is None:
                return
            exchange = await step(exchange)

    return script


async def _warm_up(driver: Driver, person_id: int) -> None:
    await driver.say(person_id, "/help")


def sent_again(said: Sequence[dict[str, Any]]) -> list[bool]:
    """For each of a chat's bot messages, whether it is the answer to an update delivered a second
    time (`bot.middlewares.dedup`): an answer kept with the update and sent again (the same text
    and buttons as the bot's message before it, which this script never sends twice in a row), or,
    where no answer was kept, the note that it came again. An instance that died between committing
    an update and its webhook call's 2xx leaves the person the answer, if it had gone out, and this
    one: the checks count the answers without it, and `bench.scaleout` reports how many there were."""
    bot = [m for m in said if m["from"] == "bot"]
    return [
        m["text"] in _again_texts()
        or (
            i > 0
            and (m["text"], m.get("reply_markup")) == (bot[i - 1]["text"], bot[i - 1].get("reply_markup"))
        )
        for i, m in enumerate(bot)
    ]


@cache
def _again_texts() -> frozenset[str]:
    return frozenset(translate(AGAIN, lang) for lang in LANGUAGES)


def resident_check(rounds: int) -> Check:
    """Every person was onboarded, got every answer, and the last settings view shows the toggles;
    the bot's startup (which sets the command list) ran."""
    # warm-up /help; the greeting, the district's answer (its neighborhoods or the matches), "All set" and
    # the menu (both new after a typed lone match; after a press "All set" is the offer edited, and the
    # offer was new); per round /settings, /menu and /help (the toggle edits)
    expected_messages = 1 + 4 + 3 * rounds
    off: set[str] = set()
    for kind, _action in toggled(rounds):
        off ^= {kind}

    async def check(client: ClientAPI, people: Sequence[int]) -> None:
        base = client.base.removesuffix("/sandbox/api")
        body = {"scope": {"type": "all_private_chats"}}
        async with client.session.post(f"{base}/bot{BENCH_TOKEN}/getMyCommands", json=body) as response:
            commands = (await response.json())["result"]
        if not commands:
            raise AssertionError("the bot's startup did not set its commands")
        for person_id in people:
            said = [m for m in (await client.chat(person_id))["messages"] if m["from"] == "bot"]
            messages = [m for m, again in zip(said, sent_again(said), strict=True) if not again]
            problem = None
            if len(messages) != expected_messages:
                problem = f"{len(messages)} bot messages, expected {expected_messages}"
            elif not any(
                m["text"].startswith("✅") and is_main_menu(n)
                for m, n in zip(messages, messages[1:], strict=False)
            ):
                problem = "onboarding did not end with a place chosen and then the main menu"
            elif rounds:
                views = [m for m in messages if "set:notify-" in str(m.get("reply_markup"))]
                if not views or views[-1]["text"].count("🔕") != len(off):
                    problem = f"the last settings view does not show {len(off)} notifications off"
            if problem:
                raise AssertionError(f"person {person_id}: {problem}")

    return check


# ---- the ideas mix -------------------------------------------------------------------------------

# Telegram ids of the seeded ideas' authors (the people count up from FIRST_PERSON_ID)
IDEA_AUTHORS = 900_000_001


def ideas_to_seed(rounds: int) -> int:
    """Published ideas: enough pages for every round's ▶ (``rounds + 1``), and at least four pages."""
    from bot.ui.ideas.callbacks import PAGE_SIZE

    return PAGE_SIZE * max(4, rounds + 1)


@asynccontextmanager
async def fresh_database(database: Database) -> AsyncIterator[str]:
    """An empty database for the harness to prepare (a SQLite file in a temporary directory, or a new
    database on the server of ``BENCH_DATABASE_URL``), removed at the end."""
    if database == "sqlite":
        with tempfile.TemporaryDirectory(prefix="meydan-bench-") as directory:
            yield f"sqlite+aiosqlite:///{Path(directory) / 'meydan.db'}"
        return
    from sqlalchemy.engine import make_url

    server_url = os.environ[DATABASE_URL_VARIABLE]
    name = f"meydan_bench_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    await _postgres_admin(server_url, f'CREATE DATABASE "{name}"')
    try:
        yield make_url(server_url).set(database=name).render_as_string(hide_password=False)
    finally:
        await _postgres_admin(server_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def seed_residents(sessions: Any, people: int, hoods: Sequence[int], spread: int = 1) -> None:
    """The people ``FIRST_PERSON_ID`` onwards as onboarded residents, 500 to a transaction: Turkish and
    English alternately, consent given, person n in neighborhood ``hoods[n * spread % len(hoods)]``, each
    with the identity the bot gives (``residents.get_or_create``)."""
    from bot.services import residents

    for first in range(0, people, 500):
        async with sessions.begin() as session:
            for n in range(first, min(people, first + 500)):
                person = (await residents.get_or_create(session, FIRST_PERSON_ID + n)).resident
                residents.set_language(person, "tr" if n % 2 == 0 else "en")
                await residents.accept_privacy(session, person)
                await residents.set_neighborhood(session, person, hoods[(n * spread) % len(hoods)])


async def active_hoods(session: Any) -> list[int]:
    """The ids of the city's active neighborhoods, in order."""
    from sqlalchemy import select

    from storage.models import Neighborhood

    statement = select(Neighborhood.id).where(Neighborhood.active.is_(True)).order_by(Neighborhood.id)
    return list(await session.scalars(statement))


async def add_ideas(session: Any, ideas: int) -> tuple[int, list[int]]:
    """One citywide process open for ideas and ``ideas`` published ideas in it, by authors of their own
    (Telegram ids from ``IDEA_AUTHORS``), written in ``session``: the process's id and the ideas' ids."""
    from datetime import timedelta

    from sqlalchemy import select

    from bot.services import ideas as ideas_service
    from bot.services import processes, residents
    from storage.models import Idea, Theme, utcnow

    now = utcnow()
    hoods = await active_hoods(session)
    themes = list(await session.scalars(select(Theme.id).order_by(Theme.position, Theme.id)))
    process = await processes.create(
        session,
        key="bench-ideas",
        names={"tr": "Birlikte Tasarlayalım", "en": "Design Together"},
        opens_at=now - timedelta(days=1),
        closes_at=now + timedelta(days=30),
    )
    made = []
    for n in range(ideas):
        author = (await residents.get_or_create(session, IDEA_AUTHORS + n)).resident
        residents.set_language(author, "tr")
        await residents.accept_privacy(session, author)
        hood = hoods[(n * 97) % len(hoods)]
        await residents.set_neighborhood(session, author, hood)
        idea = Idea(
            process_id=process.id,
            author_id=author.id,
            neighborhood_id=hood,
            theme_id=themes[n % len(themes)],
            title=f"Fikir {n + 1}: mahalleye gölgelik ve bank",
            description="Parkın güney ucuna gölgelik ve üç bank; yazın çocuklu aileler için.",
            status=ideas_service.APPROVED,
        )
        session.add(idea)
        made.append(idea)
    await session.flush()
    return process.id, [idea.id for idea in made]


async def seed_ideas(url: str, people: int, ideas: int) -> int:
    """Migrate, load the city, and write straight into the database: one citywide process open for ideas,
    ``ideas`` published ideas by authors of their own (`add_ideas`), and the people ``FIRST_PERSON_ID``
    onwards as onboarded residents (Turkish and English alternately, neighborhoods spread over the
    city). Returns the process's id."""

    from bot.app import prepare_database

    engine, sessions, _spec = await prepare_database(Settings(_env_file=None, database_url=url))
    try:
        async with sessions.begin() as session:
            process_id, _ideas = await add_ideas(session, ideas)
            hoods = await active_hoods(session)
        await seed_residents(sessions, people, hoods, spread=31)
    finally:
        await engine.dispose()
    return process_id


def _data_starting(after: Exchange, prefix: str, label: str | None = None) -> list[tuple[int, str]]:
    """The buttons of the bot's last message whose callback data starts with ``prefix`` (and whose text
    is ``label``, if given), in their order: (message id, callback data)."""
    found = []
    for message in after.bot_messages()[-1:]:
        for button in _buttons(message):
            data = str(button.get("callback_data", ""))
            if data.startswith(prefix) and (label is None or button.get("text") == label):
                found.append((int(message["message_id"]), data))
    return found


def _browse_prefix(action: BrowseAction) -> str:
    return f"{BrowseCb.__prefix__}:{action.value}:"


@dataclass
class IdeasRun:
    """One ideas run: its rounds, the ideas seeded, and the ideas each person supported, by Telegram id."""

    rounds: int
    ideas: int
    supported: dict[int, set[int]] = field(default_factory=dict)


def ideas_script(run: IdeasRun) -> Script:
    """/ideas, "Browse ideas", then ``rounds`` times: open an idea of the page shown, support it, back to
    the list, ▶. Every press is a button of the message on screen (the step fails when it is not there).

    A step whose answer did not come (counted as unanswered) ends that person's script.
    """
    support = _browse_prefix(BrowseAction.SUPPORT)

    async def script(driver: Driver, person_id: int) -> None:
        supported = run.supported.setdefault(person_id, set())
        plan: list[tuple[str, int, str | None]] = [(IdeaCb(action=IdeaAction.BROWSE).pack(), 0, None)]
        for r in range(run.rounds):
            plan += [
                (_browse_prefix(BrowseAction.VIEW), person_id + r, None),  # one of the page's five ideas
                (support, 0, None),
                (_browse_prefix(BrowseAction.LIST), 0, None),  # "Back to the list", the card's only one
                (_browse_prefix(BrowseAction.LIST), 0, "▶"),
            ]
        exchange = await driver.say(person_id, "/ideas")
        for prefix, pick, label in plan:
            if exchange.answered_at is None:
                return
            offered = _data_starting(exchange, prefix, label)
            if not offered:
                shown = [b.get("text") for m in exchange.bot_messages()[-1:] for b in _buttons(m)]
                raise AssertionError(f"person {person_id}: no button {prefix}… {label or ''} in {shown}")
            message_id, data = offered[pick % len(offered)]
            if prefix == support:
                supported.add(BrowseCb.unpack(data).idea)
            exchange = await driver.press(person_id, message_id, data)

    return script


def ideas_check(run: IdeasRun, database_url: str) -> Check:
    """Every person ended on the list's page ``rounds + 1`` with one bot message since /ideas (every press
    edited it), and supports in the database exactly the ideas they pressed."""
    from bot.ui.ideas.callbacks import PAGE_SIZE

    pages = -(-run.ideas // PAGE_SIZE)
    last_page = f"{run.rounds + 1}/{pages}"

    async def check(client: ClientAPI, people: Sequence[int]) -> None:
        from sqlalchemy import select

        from storage.db import make_engine, make_session_factory
        from storage.models import IdeaSupport, Resident

        for person_id in people:
            messages = (await client.chat(person_id))["messages"]
            asked = max(i for i, m in enumerate(messages) if m["from"] != "bot" and m.get("text") == "/ideas")
            answers = [m for m in messages[asked + 1 :] if m["from"] == "bot"]
            labels = [b.get("text") for m in answers[-1:] for b in _buttons(m)]
            if len(answers) != 1 or last_page not in labels:
                shown = [m["text"][:60] for m in answers]
                raise AssertionError(
                    f"person {person_id}: {len(answers)} answers to /ideas, last {shown[-1:]}, buttons {labels}"
                )
        engine = make_engine(database_url)
        try:
            async with make_session_factory(engine)() as session:
                rows = await session.execute(
                    select(Resident.telegram_id, IdeaSupport.idea_id).join(
                        IdeaSupport, IdeaSupport.resident_id == Resident.id
                    )
                )
                stored: dict[int, set[int]] = {}
                for telegram_id, idea_id in rows:
                    stored.setdefault(telegram_id, set()).add(idea_id)
        finally:
            await engine.dispose()
        for person_id in people:
            pressed = run.supported.get(person_id, set())
            if stored.get(person_id, set()) != pressed or len(pressed) != run.rounds:
                raise AssertionError(
                    f"person {person_id}: supports {sorted(stored.get(person_id, ()))}, pressed {sorted(pressed)}"
                )

    return check


# ---- measuring -----------------------------------------------------------------------------------


def updates_per_person(rounds: int, person_id: int) -> int:
    return ONBOARDING_TYPED + place_presses(person_id) + ROUND_STEPS * rounds


def mean_updates_per_person(people: int, rounds: int, mix: Mix = "onboarding") -> float:
    """Over the people of a fresh emulator (its ids count up from ``FIRST_PERSON_ID``)."""
    if mix == "ideas":
        return IDEAS_START + IDEAS_ROUND * rounds
    ids = range(FIRST_PERSON_ID, FIRST_PERSON_ID + people)
    return sum(updates_per_person(rounds, i) for i in ids) / people


async def measure_meydan(
    mode: Mode,
    people: int,
    rounds: int,
    database: Database = "sqlite",
    profile: str | None = None,
    rate: float | None = None,
    mix: Mix = "onboarding",
) -> ScenarioResult:
    if mix == "ideas":
        return await measure_ideas(mode, people, rounds, database, profile, rate)
    return await run_scenario(
        f"meydan ({database})",
        FACTORIES[database],
        mode,
        people,
        resident_script(rounds),
        warmup=_warm_up,
        check=resident_check(rounds),
        profile=profile,
        rate=rate,
    )


async def measure_ideas(
    mode: Mode,
    people: int,
    rounds: int,
    database: Database = "sqlite",
    profile: str | None = None,
    rate: float | None = None,
) -> ScenarioResult:
    """The ideas mix on a database prepared here (:func:`seed_ideas`) before the bot process starts."""
    run = IdeasRun(rounds, ideas_to_seed(rounds))
    async with fresh_database(database) as url:
        await seed_ideas(url, people, run.ideas)
        os.environ[PREPARED_VARIABLE] = url  # the bot process inherits it
        try:
            return await run_scenario(
                f"meydan ideas ({database})",
                "bench.meydan:meydan_on_prepared",
                mode,
                people,
                ideas_script(run),
                warmup=_warm_up,
                check=ideas_check(run, url),
                profile=profile,
                rate=rate,
            )
        finally:
            os.environ.pop(PREPARED_VARIABLE, None)


def open_loop_people(rate: float, seconds: float, rounds: int, mix: Mix = "onboarding") -> int:
    """Enough people for ``seconds`` of updates at ``rate`` (each sends about 13.5 with two rounds of the
    onboarding mix, 10 of the ideas mix)."""
    per_person = mean_updates_per_person(100, rounds, mix)
    return max(10, math.ceil(rate * seconds / per_person))


async def run_open_loop(
    rates: Sequence[float], seconds: float, rounds: int, database: Database, mix: Mix = "onboarding"
) -> list[tuple[float, ScenarioResult, ScenarioResult]]:
    """For each rate, the echo anchor and Meydan as webhooks, updates arriving open-loop at that rate."""
    rows = []
    for rate in rates:
        people = open_loop_people(rate, seconds, rounds, mix)
        echo = await measure_echo(
            "webhook", people, round(mean_updates_per_person(people, rounds, mix)), rate
        )
        meydan = await measure_meydan("webhook", people, rounds, database, rate=rate, mix=mix)
        rows.append((rate, echo, meydan))
    return rows


OPEN_LOOP_HEADER = (
    "rate/s",
    "bot",
    "people",
    "updates",
    "achieved/s",
    "p50 ms",
    "p99 ms",
    "max ms",
    "unanswered",
    "bot CPU ms/update",
    "CPU/update vs echo",
    "bot peak RSS MiB",
)


def open_loop_table(rows: Sequence[tuple[float, ScenarioResult, ScenarioResult]]) -> str:
    lines = []
    for rate, echo, meydan in rows:
        for result in (echo, meydan):
            d = result.drive
            lines.append(
                [
                    rate,
                    result.name,
                    result.people,
                    d.updates,
                    d.updates_per_s,
                    d.p50_ms,
                    d.p99_ms,
                    max(d.latencies_s, default=math.nan) * 1000,
                    d.unanswered,
                    bot_cpu_ms_per_update(result),
                    bot_cpu_ms_per_update(result) / bot_cpu_ms_per_update(echo),
                    result.bot.peak_rss_mb,
                ]
            )
    return format_table(OPEN_LOOP_HEADER, lines)


async def run(
    people: int,
    rounds: int,
    modes: Sequence[Mode],
    database: Database,
    profile: str | None = None,
    mix: Mix = "onboarding",
) -> list[tuple[ScenarioResult, ScenarioResult]]:
    """For each mode, the echo anchor and Meydan, one after the other."""
    pairs = []
    for mode in modes:
        echo = await measure_echo(mode, people, round(mean_updates_per_person(people, rounds, mix)))
        meydan = await measure_meydan(
            mode, people, rounds, database, f"{profile}.{mode}.prof" if profile else None, mix=mix
        )
        pairs.append((echo, meydan))
    return pairs


def bot_cpu_ms_per_update(result: ScenarioResult) -> float:
    return result.bot.cpu_s * 1000 / result.bot_updates if result.bot_updates else math.nan


HEADER = (*ScenarioResult.HEADER, "updates/s vs echo", "bot CPU/update vs echo", "bot CPU ms/person")


def table(pairs: Sequence[tuple[ScenarioResult, ScenarioResult]]) -> str:
    rows = []
    for echo, meydan in pairs:
        for result in (echo, meydan):
            rows.append(
                [
                    *result.row(),
                    result.drive.updates_per_s / echo.drive.updates_per_s,
                    bot_cpu_ms_per_update(result) / bot_cpu_ms_per_update(echo),
                    result.bot.cpu_s * 1000 / result.people,
                ]
            )
    return format_table(HEADER, rows)


def repeats_note(pairs: Sequence[tuple[ScenarioResult, ScenarioResult]]) -> str:
    """For each mode, the spread of the echo's and Meydan's CPU per update over the repeated pairs, and
    the median of the ratio of each pair (the echo and Meydan of one pair run one after the other, so the
    ratio moves less with the machine than either figure)."""
    lines = []
    for mode in dict.fromkeys(meydan.mode for _echo, meydan in pairs):
        runs = [(echo, meydan) for echo, meydan in pairs if meydan.mode == mode]
        echo_ms = [bot_cpu_ms_per_update(echo) for echo, _meydan in runs]
        meydan_ms = [bot_cpu_ms_per_update(meydan) for _echo, meydan in runs]
        ratios = sorted(m / e for e, m in zip(echo_ms, meydan_ms, strict=True))
        lines.append(
            f"{runs[0][1].name} {mode}, {len(runs)} pairs: bot CPU/update vs echo median "
            f"{statistics.median(ratios):.2f} (each: {' / '.join(f'{r:.2f}' for r in ratios)}); bot CPU "
            f"ms/update {min(meydan_ms):.2f} to {max(meydan_ms):.2f}, the echo's {min(echo_ms):.2f} to "
            f"{max(echo_ms):.2f}"
        )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--mix",
        choices=MIXES,
        default="onboarding",
        help="onboarding and settings (default), or ideas: browse, open one, support it",
    )
    parser.add_argument("--people", type=int, default=100, help="simulated people at once (100)")
    parser.add_argument(
        "--rounds",
        type=int,
        default=2,
        help="rounds of settings, menu and help; with --mix ideas, of open, support, back, next page (2)",
    )
    parser.add_argument("--database", choices=DATABASES, default="sqlite")
    parser.add_argument("--modes", default=",".join(MODES), help="comma-separated: polling,webhook")
    parser.add_argument("--quick", action="store_true", help="a short run: 10 people, 1 round")
    parser.add_argument(
        "--profile", metavar="PREFIX", help="profile Meydan's bot process to PREFIX.<mode>.prof (cProfile)"
    )
    parser.add_argument(
        "--rates",
        help="open-loop: comma-separated updates/s (e.g. 25,50,100); webhook delivery, one run per rate",
    )
    parser.add_argument(
        "--seconds", type=float, default=20.0, help="open-loop: seconds of load per rate (20)"
    )
    parser.add_argument(
        "--repeats",
        type=int,
        default=1,
        help="closed loop: run the echo and Meydan this many times in turn, and give the median ratio (1)",
    )
    args = parser.parse_args(argv)
    if args.quick:
        args.people, args.rounds = 10, 1
    modes = [m.strip() for m in args.modes.split(",") if m.strip()]
    for mode in modes:
        if mode not in MODES:
            parser.error(f"unknown mode {mode!r}; choose from {', '.join(MODES)}")
    if args.database == "postgresql" and not os.environ.get(DATABASE_URL_VARIABLE):
        parser.error(f"--database postgresql needs {DATABASE_URL_VARIABLE} (postgresql+asyncpg://...)")

    if args.repeats < 1 or (args.repeats > 1 and (args.profile or args.rates)):
        parser.error(
            "--repeats takes a count of 1 or more, and is for the closed loop: not with --rates or --profile"
        )
    if args.rates:
        rates = [float(r) for r in args.rates.split(",") if r.strip()]
        rows = asyncio.run(run_open_loop(rates, args.seconds, args.rounds, args.database, args.mix))
        print(
            f"Meydan and the echo anchor as webhooks, updates arriving open-loop, {date.today().isoformat()}, "
            f"Python {platform.python_version()} on {loop_name()}, {args.database}, about {args.seconds:g} s of load per rate "
            f"({args.mix} mix, {args.rounds} rounds each)"
        )
        print(open_loop_table(rows))
        for rate, echo, meydan in rows:
            for result in (echo, meydan):
                print(f"{rate:g}/s {result.name}: garbage collections: {result.bot.gc_note()}")
        return
    pairs = []
    for _ in range(args.repeats):
        pairs += asyncio.run(run(args.people, args.rounds, modes, args.database, args.profile, args.mix))
    if args.mix == "ideas":
        what = (
            f"ideas: /ideas, browse, then {args.rounds} rounds of open an idea, support it, back to the "
            f"list, next page; residents and {ideas_to_seed(args.rounds)} published ideas seeded"
        )
    else:
        what = (
            f"onboarding: {ONBOARDING_TYPED} and 0 to 2 presses of a place; {args.rounds} rounds of "
            "settings, a toggle, menu, help"
        )
    print(
        f"Meydan against the echo anchor through the sandbox, {date.today().isoformat()}, "
        f"Python {platform.python_version()} on {loop_name()}, {args.database}, {args.people} people x "
        f"{mean_updates_per_person(args.people, args.rounds, args.mix):.2f} updates on average ({what}; "
        "after 1 warm-up message each)"
    )
    print(table(pairs))
    if args.repeats > 1:
        print(repeats_note(pairs))
    for _echo, meydan in pairs[: len(modes)]:
        bot = meydan.bot
        print(
            f"{meydan.name} {meydan.mode}: {bot.loop_cpu_s / bot.cpu_s:.0%} of the bot's CPU on the "
            "event-loop thread, the rest in other threads"
        )
        print(f"{meydan.name} {meydan.mode}: garbage collections: {bot.gc_note()}")
        print(
            f"{meydan.name} {meydan.mode}: {bot.statements / meydan.bot_updates:.2f} SQL statements per "
            "update, BEGIN and COMMIT not counted"
        )
    if args.profile:
        print(f"profiles: {', '.join(f'{args.profile}.{mode}.prof' for mode in modes)}")


if __name__ == "__main__":
    main()
