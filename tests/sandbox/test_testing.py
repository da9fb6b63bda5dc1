"""The flow-test helper against a small aiogram bot, delivered by long polling and by webhook."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import pytest
from aiogram import Bot, Dispatcher, F, Router
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.filters import Command, CommandStart
from aiogram.types import (
    CallbackQuery,
    ChatMemberUpdated,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    Message,
    ReplyKeyboardMarkup,
)
from aiogram.webhook.aiohttp_server import SimpleRequestHandler, setup_application
from aiohttp import web

from bot.sandbox.testing import Person, Sandbox, tiny_png

SECRET = "webhook-secret_42"


@dataclass
class Seen:
    member_events: list[tuple[int, str]] = field(default_factory=list)


def make_router(seen: Seen) -> Router:
    router = Router()

    @router.message(CommandStart())
    async def start(message: Message) -> None:
        languages = InlineKeyboardMarkup(
            inline_keyboard=[
                [
                    InlineKeyboardButton(text="🇬🇧 English", callback_data="lang:en"),
                    InlineKeyboardButton(text="🇹🇷 Türkçe", callback_data="lang:tr"),
                ],
                [InlineKeyboardButton(text="Say nothing", callback_data="silent")],
            ]
        )
        menu = ReplyKeyboardMarkup(
            keyboard=[
                [KeyboardButton(text="Help")],
                [
                    KeyboardButton(text="Share phone", request_contact=True),
                    KeyboardButton(text="Share place", request_location=True),
                ],
            ],
            resize_keyboard=True,
        )
        await message.answer("Menu below", reply_markup=menu)
        await message.answer(
            f"Welcome, <b>{message.from_user.first_name}</b>", parse_mode="HTML", reply_markup=languages
        )

    @router.callback_query(F.data.startswith("lang:"))
    async def language(query: CallbackQuery) -> None:
        await query.answer("Language saved", show_alert=query.data == "lang:tr")
        await query.message.edit_text(f"Language: {query.data[5:]}")

    @router.callback_query(F.data == "silent")
    async def silent(query: CallbackQuery) -> None:
        return None

    @router.message(Command("later"))
    async def later(message: Message, bot: Bot) -> None:
        async def remind() -> None:
            await asyncio.sleep(0.3)
            await bot.send_message(message.chat.id, "Reminder: the meeting starts soon")

        asyncio.get_running_loop().create_task(remind())
        await message.answer("I will remind you")

    @router.message(F.text == "Help")
    async def help_(message: Message) -> None:
        await message.answer("This is the help")

    @router.message(F.contact)
    async def contact(message: Message) -> None:
        own = message.contact.user_id == message.from_user.id
        await message.answer(f"Phone {message.contact.phone_number} own={own}")

    @router.message(F.location)
    async def location(message: Message) -> None:
        await message.answer(f"At {message.location.latitude:.2f},{message.location.longitude:.2f}")

    @router.message(F.photo)
    async def photo(message: Message, bot: Bot) -> None:
        downloaded = await bot.download(message.photo[-1])
        assert downloaded is not None
        await message.answer(f"Photo of {len(downloaded.read())} bytes, caption {message.caption!r}")

    @router.message(F.sticker)
    async def sticker(message: Message) -> None:
        await message.answer(f"Sticker {message.sticker.emoji}")

    @router.message(F.text)
    async def echo(message: Message) -> None:
        await message.answer(message.text)

    @router.my_chat_member()
    async def member(event: ChatMemberUpdated) -> None:
        seen.member_events.append((event.chat.id, event.new_chat_member.status))

    return router


async def _polling(sb: Sandbox, dp: Dispatcher, bot: Bot) -> AsyncIterator[None]:
    task = asyncio.create_task(dp.start_polling(bot, handle_signals=False, polling_timeout=5))
    try:
        yield
    finally:
        await dp.stop_polling()
        await task


async def _webhook(sb: Sandbox, dp: Dispatcher, bot: Bot) -> AsyncIterator[None]:
    app = web.Application()
    SimpleRequestHandler(dispatcher=dp, bot=bot, secret_token=SECRET).register(app, path="/webhook")
    setup_application(app, dp, bot=bot)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    await bot.set_webhook(f"http://127.0.0.1:{port}/webhook", secret_token=SECRET)
    try:
        yield
    finally:
        await runner.cleanup()


@dataclass
class Running:
    sb: Sandbox
    seen: Seen
    mode: str


@pytest.fixture(params=["polling", "webhook"])
async def running(request: pytest.FixtureRequest) -> AsyncIterator[Running]:
    seen = Seen()
    async with Sandbox() as sb:
        bot = Bot(sb.token, session=AiohttpSession(api=sb.api_server()))
        dp = Dispatcher()
        dp.include_router(make_router(seen))
        delivery = _polling if request.param == "polling" else _webhook
        runner = delivery(sb, dp, bot)
        await runner.__anext__()
        try:
            yield Running(sb, seen, request.param)
        finally:
            await runner.aclose()
            await bot.session.close()


async def test_say_press_and_read(running: Running) -> None:
    ayse = await running.sb.person("Ayşe", language_code="tr")
    welcome = await ayse.say("/start")
    assert welcome is not None and welcome.text == "Welcome, Ayşe"
    assert welcome.html == "Welcome, <b>Ayşe</b>"
    assert welcome.buttons == [["🇬🇧 English", "🇹🇷 Türkçe"], ["Say nothing"]]
    assert welcome.button_data("English") == "lang:en"  # a unique substring is enough
    assert await ayse.keyboard() == [["Help"], ["Share phone", "Share place"]]

    answer = await ayse.press("🇹🇷 Türkçe")
    assert answer.text == "Language saved" and answer.show_alert is True and answer.answered
    latest = await ayse.last_message()
    assert latest is not None and latest.text == "Language: tr" and latest.edited and latest.buttons == []

    unanswered = await ayse.press_data(welcome.message_id, "silent")
    assert unanswered.answered is False and unanswered.text is None

    with pytest.raises(AssertionError, match="no bot message with inline buttons"):
        await ayse.press("English")
    bot_messages = await ayse.bot_messages()
    assert [m.body for m in bot_messages] == ["Menu below", "Language: tr"]
    assert (await ayse.chat())[0].text == "/start"


async def test_press_with_a_message_and_unknown_labels(running: Running) -> None:
    mehmet = await running.sb.person("Mehmet")
    welcome = await mehmet.say("/start")
    assert welcome is not None
    with pytest.raises(AssertionError, match="no button 'Deutsch'"):
        await mehmet.press("Deutsch", message=welcome)
    with pytest.raises(AssertionError, match="is on the reply keyboard"):
        await mehmet.press("Help", message=welcome)
    answer = await mehmet.press("English", message=welcome)
    assert answer.text == "Language saved" and answer.show_alert is False


async def test_reply_keyboard_contact_location_photo_sticker(running: Running) -> None:
    zeynep = await running.sb.person("Zeynep")
    await zeynep.say("/start")
    assert (await zeynep.tap("Help")).text == "This is the help"
    assert (await zeynep.tap("Share phone", phone="+905320000001")).text == "Phone +905320000001 own=True"
    assert (await zeynep.tap("Share place", location=(38.4237, 27.1428))).text == "At 38.42,27.14"
    assert (await zeynep.share_contact("+905550000000", user_id=42, first_name="Ali")).text == (
        "Phone +905550000000 own=False"
    )
    image = tiny_png(3, 3)
    reply = await zeynep.send_photo(image, caption="bench")
    assert reply is not None and reply.text == f"Photo of {len(image)} bytes, caption 'bench'"
    assert (await zeynep.send_sticker("🌳")).text == "Sticker 🌳"
    photo_message = [m for m in await zeynep.chat() if m.photo][0]
    assert photo_message.from_bot is False and photo_message.caption == "bench"


async def test_wait_for_a_later_message(running: Running) -> None:
    person = await running.sb.person("Can")
    assert (await person.say("/later")).text == "I will remind you"
    reminder = await person.wait_for(lambda m: "Reminder" in m.body, timeout=5)
    assert reminder.text == "Reminder: the meeting starts soon"
    with pytest.raises(AssertionError, match="no matching bot message"):
        await person.wait_for(lambda m: "never" in m.body, timeout=0.3)


async def test_block_and_unblock_reach_the_bot(running: Running) -> None:
    person = await running.sb.person("Elif")
    await person.say("/start")
    await person.block()
    await person.unblock()
    assert running.seen.member_events == [(person.id, "kicked"), (person.id, "member")]


async def test_three_hundred_people_at_once(running: Running) -> None:
    people: list[Person] = await asyncio.gather(*(running.sb.person(f"Person {i}") for i in range(300)))
    started = time.monotonic()
    replies = await asyncio.gather(*(p.say(f"hello from {p.id}") for p in people))
    elapsed = time.monotonic() - started
    assert [r.text if r else None for r in replies] == [f"hello from {p.id}" for p in people]
    assert elapsed < 30  # generous: the point is that hundreds of people are served concurrently
