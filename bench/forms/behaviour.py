"""Behaviour checks of each form layer, in this process, against a sandbox emulator (``bot.sandbox.testing``).

For every candidate: the benchmark's scenario once, counting storage calls, SQL statements and Redis
commands per update; Back from every step; a stale button (pressed after the form moved on, and after
it was cancelled); a restart in the middle of the form (a new Dispatcher and storage over the same SQLite
file); the same update delivered twice, without and with the project's ``DedupMiddleware``.
"""

from __future__ import annotations

import asyncio
import tempfile
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiogram.types import TelegramObject, Update

from bench.forms import service as s
from bench.forms.wiring import FormBot, StorageKind, build
from bot.sandbox.testing import ChatMessage, Person, Sandbox

TITLE = "A new bench"
TITLE_2 = "A new bench by the sea"
TITLE_3 = "A new bench by the sea (edited)"
DESCRIPTION = "Benches along the promenade, in the shade of the palm trees."


@dataclass
class Serving:
    """A candidate's bot polling the sandbox, with every update it received."""

    bot: FormBot
    updates: list[Update] = field(default_factory=list)


@asynccontextmanager
async def serving(
    sandbox: Sandbox,
    candidate: str,
    database: Path,
    storage: StorageKind = "sql",
    *,
    dedup: bool = False,
    redis_prefix: str | None = None,
) -> AsyncIterator[Serving]:
    built = await build(
        candidate,
        sandbox.url,
        sandbox.token,
        database,
        storage=storage,
        dedup=dedup,
        count=True,
        redis_prefix=redis_prefix,
    )
    served = Serving(built)

    async def record(handler: Callable[..., Any], update: TelegramObject, data: dict[str, Any]) -> Any:
        assert isinstance(update, Update)
        served.updates.append(update)
        return await handler(update, data)

    built.dp.update.outer_middleware(record)
    await built.bot.delete_webhook()
    polling = asyncio.create_task(
        built.dp.start_polling(
            built.bot, handle_signals=False, allowed_updates=built.dp.resolve_used_update_types()
        )
    )
    try:
        await sandbox.client.bot()
        for _ in range(200):
            if (await sandbox.client.bot()).get("delivery") == "polling":
                break
            await asyncio.sleep(0.02)
        yield served
    finally:
        await built.dp.stop_polling()
        await polling
        if storage == "redis":
            redis = built.storage.inner.redis  # type: ignore[attr-defined]
            keys = [key async for key in redis.scan_iter(f"{redis_prefix}:*")]
            if keys:
                await redis.delete(*keys)
        await built.close()


# ---- reading the chat --------------------------------------------------------------------------------


async def last(person: Person) -> ChatMessage:
    message = await person.last_message()
    assert message is not None
    return message


def where_is(message: ChatMessage) -> str:
    """Which screen a bot message shows."""
    text = message.text or message.caption or ""
    for step, prompt in s.PROMPTS.items():
        if prompt in text:
            return step
    for name, marker in (
        ("sent", "Thank you!"),
        ("preview", "👀"),
        ("edit", s.EDIT_MENU),
        ("cancelled", s.CANCELLED),
        ("list", "Ideas · page"),
        ("idea", "💡 Idea #"),
    ):
        if marker in text:
            return name
    return text[:40]


async def screen(person: Person) -> str:
    return where_is(await last(person))


def button_data(message: ChatMessage, label: str) -> str:
    return str(message.button(label)["callback_data"])


# ---- the steps ---------------------------------------------------------------------------------------


async def to_preview(person: Person) -> None:
    await person.say("/new")
    await person.press("Parks")
    await person.say(TITLE)
    await person.say(DESCRIPTION)
    await person.send_photo()
    await person.share_location(38.42, 27.14)
    await person.press(s.SCOPES["city"])


async def scenario(person: Person) -> list[str]:
    """The benchmark's scenario (one Back, one Edit from the preview); the screens seen, in order."""
    seen = []

    async def look() -> None:
        seen.append(await screen(person))

    await person.say("/new")
    await look()
    for act in (
        lambda: person.press("Parks"),
        lambda: person.say(TITLE),
        lambda: person.press(s.BACK),
        lambda: person.say(TITLE_2),
        lambda: person.say(DESCRIPTION),
        lambda: person.send_photo(),
        lambda: person.press(s.SKIP),
        lambda: person.press(s.SCOPES["city"]),
        lambda: person.press(s.EDIT),
        lambda: person.press(s.FIELD_LABELS["title"]),
        lambda: person.say(TITLE_3),
        lambda: person.press(s.SEND),
        lambda: person.say("/ideas"),
        *[lambda: person.press(s.NEXT)] * 5,
        lambda: person.press("#26 "),
        lambda: person.press(s.TO_LIST),
        lambda: person.press("#28 "),
    ):
        await act()
        await look()
    return seen


SCENARIO_SCREENS = [
    "theme",
    "title",
    "description",
    "title",
    "description",
    "photo",
    "location",
    "scope",
    "preview",
    "edit",
    "title",
    "preview",
    "sent",
    *["list"] * 6,
    "idea",
    "list",
    "idea",
]
SCENARIO_UPDATES = len(SCENARIO_SCREENS)


@dataclass
class Report:
    """What the checks found for one candidate."""

    candidate: str
    results: dict[str, tuple[bool, str]] = field(default_factory=dict)
    storage: dict[str, dict[str, float | str]] = field(default_factory=dict)

    def note(self, check: str, ok: bool, detail: str) -> None:
        self.results[check] = (ok, detail)


async def check_scenario(sandbox: Sandbox, candidate: str, storage: StorageKind, report: Report) -> None:
    with tempfile.TemporaryDirectory(prefix="formcheck-") as directory:
        prefix = f"formcheck-{uuid.uuid4().hex[:8]}"
        async with serving(sandbox, candidate, Path(directory) / "f.db", storage, redis_prefix=prefix) as srv:
            person = await sandbox.person(f"Scenario {storage}")
            await person.say("/start")
            counters = srv.bot.counters
            counters.reset()
            await person.say("/start")  # an update no form handles
            other = (counters.reads, counters.writes, counters.sql, counters.redis)
            counters.reset()
            before = len(s.SERVICE.sent)
            seen = await scenario(person)
            updates = counters.updates
            sent = s.SERVICE.sent[before:]
            ok = seen == SCENARIO_SCREENS and len(sent) == 1 and sent[0][1].get("title") == TITLE_3
            report.note(
                f"scenario ({storage})",
                ok,
                "as expected" if ok else f"screens {seen}; sent {sent}",
            )
            report.storage[storage] = {
                "updates": updates,
                "reads": counters.reads / updates,
                "writes": counters.writes / updates,
                "sql": counters.sql / updates,
                "redis": counters.redis / updates,
                "keys": ", ".join(sorted(counters.keys)),
                "other": "{} reads, {} writes, {} SQL, {} Redis".format(*other),
            }


async def check_back(sandbox: Sandbox, candidate: str, report: Report) -> None:
    with tempfile.TemporaryDirectory(prefix="formcheck-") as directory:
        async with serving(sandbox, candidate, Path(directory) / "f.db"):
            person = await sandbox.person("Back")
            await to_preview(person)
            seen = []
            for _ in range(6):
                await person.press(s.BACK)
                seen.append(await screen(person))
            expected = ["scope", "location", "photo", "description", "title", "theme"]
            # after going back to the title, the title typed before is still kept: type a new one
            await person.press("Parks")
            await person.say(TITLE_2)
            kept = await screen(person)
            ok = seen == expected and kept == "description"
            report.note("back from every step", ok, f"preview → {' → '.join(seen)}; then forward: {kept}")


async def check_stale(sandbox: Sandbox, candidate: str, report: Report) -> None:
    with tempfile.TemporaryDirectory(prefix="formcheck-") as directory:
        async with serving(sandbox, candidate, Path(directory) / "f.db"):
            person = await sandbox.person("Stale")
            first = await person.say("/new")
            assert first is not None
            theme_data = button_data(first, "Parks")
            await person.press("Parks")
            title_prompt = await last(person)
            back_data = button_data(title_prompt, s.BACK)
            await person.say(TITLE)
            await person.say(DESCRIPTION)  # now at the photo step
            old_theme = await person.press_data(first.message_id, theme_data)
            after_theme = await screen(person)
            old_back = await person.press_data(title_prompt.message_id, back_data)
            after_back = await screen(person)
            old_message = next(m for m in await person.chat() if m.message_id == title_prompt.message_id)
            await person.send_photo()
            goes_on = await screen(person)
            moved_on_ok = after_theme == "photo" and after_back == "photo" and goes_on == "location"
            report.note(
                "stale button after the form moved on",
                moved_on_ok,
                f"old theme button: answer {old_theme.text!r}, screen {after_theme}; old Back: answer "
                f"{old_back.text!r}, newest screen {after_back}, the old message now shows "
                f"{where_is(old_message)}; a photo sent next gives {goes_on} (location expected)",
            )
            # cancelled: press the cancel button, then an old button of the cancelled form
            await person.press(s.CANCEL)
            cancelled = await screen(person)
            old_after_cancel = await person.press_data(first.message_id, theme_data)
            after_cancel = await screen(person)
            state_after = await _state_of(sandbox, person)
            ok = cancelled == "cancelled" and after_cancel == "cancelled"
            report.note(
                "stale button after cancel",
                ok,
                f"answer {old_after_cancel.text!r}, screen {after_cancel}, a typed title then gives: {state_after}",
            )


async def _state_of(sandbox: Sandbox, person: Person) -> str:
    """What the bot does with a typed text now: nothing (no form) or a screen."""
    before = await last(person)
    await person.say(TITLE_2, check=False)
    now = await last(person)
    return "nothing (no form)" if now.message_id == before.message_id else where_is(now)


async def check_restart(sandbox: Sandbox, candidate: str, report: Report) -> None:
    with tempfile.TemporaryDirectory(prefix="formcheck-") as directory:
        database = Path(directory) / "f.db"
        person = await sandbox.person("Restart")
        async with serving(sandbox, candidate, database):
            await person.say("/new")
            await person.press("Parks")
            await person.say(TITLE)
            before = await screen(person)
            description_prompt = await last(person)
        before_count = len(s.SERVICE.sent)
        async with serving(sandbox, candidate, database):
            await person.say(DESCRIPTION)
            after = await screen(person)
            await person.press(s.SKIP)
            await person.press(s.SKIP)
            await person.press(s.SCOPES["neighborhood"])
            at_preview = await screen(person)
            await person.press(s.SEND)
            sent = s.SERVICE.sent[before_count:]
            ok = (
                before == "description"
                and after == "photo"
                and len(sent) == 1
                and sent[0][1]["title"] == TITLE
            )
            report.note(
                "restart mid-form (SQL storage)",
                ok,
                f"before the restart at {before} (message {description_prompt.message_id}); after it the "
                f"description led to {after}, then {at_preview}, sent: {[d['title'] for _u, d in sent]}",
            )


async def check_duplicate(sandbox: Sandbox, candidate: str, report: Report, dedup: bool) -> None:
    with tempfile.TemporaryDirectory(prefix="formcheck-") as directory:
        async with serving(sandbox, candidate, Path(directory) / "f.db", dedup=dedup) as srv:
            person = await sandbox.person(f"Twice {dedup}")
            await person.say("/new")
            await person.press("Parks")
            press = srv.updates[-1]
            await person.say(TITLE)
            typed = srv.updates[-1]
            at = await screen(person)
            error_text = await _feed_again(srv, typed)
            after_text = await screen(person)
            count_text = len(await person.bot_messages())
            error_press = await _feed_again(srv, press)
            after_press = await screen(person)
            name = "the same update twice" + (" (with DedupMiddleware)" if dedup else " (the layer alone)")
            ok = after_text == at and after_press == at
            report.note(
                name,
                ok,
                f"at {at}: the title message again → {after_text}{error_text} ({count_text} bot messages); "
                f"the theme press again → {after_press}{error_press}",
            )


async def _feed_again(srv: Serving, update: Update) -> str:
    """Deliver ``update`` once more; "" or the error it raised."""
    try:
        await srv.bot.dp.feed_update(srv.bot.bot, update)
    except Exception as error:  # noqa: BLE001 - what the layer does is what we report
        return f" (raised {type(error).__name__}: {str(error)[:60]})"
    finally:
        await asyncio.sleep(0.2)
    return ""


CHECKS = ("scenario", "back", "stale", "restart", "duplicate")


async def check_candidate(candidate: str, redis: bool) -> Report:
    report = Report(candidate)
    async with Sandbox() as sandbox:
        await check_scenario(sandbox, candidate, "sql", report)
        if redis:
            await check_scenario(sandbox, candidate, "redis", report)
        await check_back(sandbox, candidate, report)
        await check_stale(sandbox, candidate, report)
        await check_restart(sandbox, candidate, report)
        await check_duplicate(sandbox, candidate, report, dedup=False)
        await check_duplicate(sandbox, candidate, report, dedup=True)
    return report
