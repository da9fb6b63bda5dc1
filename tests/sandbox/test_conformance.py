"""Clients we did not write talk to the emulator: python-telegram-bot's and aiogram's ``Bot``.

Every object they get back must parse into their Bot API types with no field left unknown to them.
"""

from __future__ import annotations

import asyncio
import base64
from collections.abc import AsyncIterator
from typing import Any

import pytest
import telegram
import telegram.error
from aiogram import Bot as AiogramBot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramConflictError,
    TelegramForbiddenError,
    TelegramNotFound,
    TelegramRetryAfter,
)
from aiogram.methods import TelegramMethod
from aiogram.types import (
    BotCommand,
    BufferedInputFile,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    TelegramObject,
    Update,
)
from telegram import InlineKeyboardButton as PtbButton
from telegram import InlineKeyboardMarkup as PtbMarkup

from bot.sandbox.emulator import Emulator
from bot.sandbox.limits import Limits
from bot.sandbox.testing import tiny_png
from tests.sandbox.conftest import TOKEN, BotApiCaller


def unknown_to_aiogram(value: Any, path: str = "") -> list[str]:
    """Fields aiogram's models did not declare (kept as pydantic extras), anywhere in the object tree."""
    found: list[str] = []
    if isinstance(value, TelegramObject):
        found += [f"{path}.{name}" for name in value.model_extra or {}]
        for name in type(value).model_fields:
            found += unknown_to_aiogram(getattr(value, name), f"{path}.{name}")
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            found += unknown_to_aiogram(item, f"{path}[{index}]")
    return found


def unknown_to_ptb(value: Any, path: str = "") -> list[str]:
    """Fields python-telegram-bot did not know (kept in ``api_kwargs``), anywhere in the object tree."""
    found: list[str] = []
    if isinstance(value, telegram.TelegramObject):
        found += [f"{path}.{name}" for name in value.api_kwargs]
        for name in value.__slots__:
            if not name.startswith("_"):
                found += unknown_to_ptb(getattr(value, name, None), f"{path}.{name}")
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            found += unknown_to_ptb(item, f"{path}[{index}]")
    return found


async def _every_kind_of_update(api: BotApiCaller) -> list[dict[str, Any]]:
    """Raw updates of each kind the sandbox produces."""
    person = await api.person("Ayşe", last_name="Kaya", username="ayse", language_code="tr")
    pid = person["id"]
    sent = (
        await api(
            "sendMessage",
            chat_id=pid,
            text="q",
            reply_markup={"inline_keyboard": [[{"text": "A", "callback_data": "a"}]]},
        )
    ).result
    png = base64.b64encode(tiny_png()).decode()
    bodies = [
        {"text": "/start hello"},
        {"photo": {"data": png}, "caption": "bench"},
        {"document": {"data": base64.b64encode(b"x").decode(), "filename": "a.txt"}},
        {"sticker": {"emoji": "👍"}},
        {"contact": {"phone_number": "+905551112233"}},
        {"location": {"latitude": 38.4, "longitude": 27.1}},
        {"text": "reply", "reply_to_message_id": sent["message_id"]},
    ]
    for body in bodies:
        await api.client("POST", f"/people/{pid}/messages", {**body, "wait": False})
    await api.client(
        "POST", f"/people/{pid}/callbacks", {"message_id": sent["message_id"], "data": "a", "wait": False}
    )
    await api.client("POST", f"/people/{pid}/block", {"blocked": True, "wait": False})
    status, group = await api.client("POST", "/groups", {"title": "Staff"})
    await api.client(
        "POST", f"/groups/{group['id']}/messages", {"person_id": pid, "text": "hi all", "wait": False}
    )
    updates = (await api("getUpdates")).result
    assert len(updates) == len(bodies) + 3
    return updates


async def test_every_update_parses_in_both_libraries(api: BotApiCaller) -> None:
    raw_updates = await _every_kind_of_update(api)
    ptb_bot = telegram.Bot(TOKEN)
    for raw in raw_updates:
        update = Update.model_validate(raw, context={"bot": None})
        assert unknown_to_aiogram(update) == [], raw
        ptb_update = telegram.Update.de_json(raw, ptb_bot)
        assert ptb_update is not None and unknown_to_ptb(ptb_update) == [], raw
    kinds = [Update.model_validate(raw).event_type for raw in raw_updates]
    assert kinds == ["message"] * 7 + ["callback_query", "my_chat_member", "message"]


# python-telegram-bot ------------------------------------------------------------------------------


@pytest.fixture
async def ptb(emulator: Emulator) -> AsyncIterator[telegram.Bot]:
    bot = telegram.Bot(TOKEN, base_url=f"{emulator.url}/bot", base_file_url=f"{emulator.url}/file/bot")
    async with bot:
        yield bot


async def test_python_telegram_bot(ptb: telegram.Bot, api: BotApiCaller) -> None:
    me = await ptb.get_me()
    assert me.id == 123456789 and me.is_bot and me.username == "meydan_sandbox_bot"
    person = await api.person("Mehmet", language_code="en")

    markup = PtbMarkup(
        [[PtbButton("Yes", callback_data="yes"), PtbButton("Site", url="https://meydan.example")]]
    )
    message = await ptb.send_message(person["id"], "<b>Vote</b> now", parse_mode="HTML", reply_markup=markup)
    assert message.text == "Vote now" and message.entities[0].type == "bold"
    assert message.chat.id == person["id"] and message.chat.type == "private"
    assert message.reply_markup.inline_keyboard[0][0].callback_data == "yes"
    assert unknown_to_ptb(message) == []

    edited = await ptb.edit_message_text("Voted", chat_id=person["id"], message_id=message.message_id)
    assert isinstance(edited, telegram.Message) and edited.text == "Voted" and edited.edit_date is not None
    with pytest.raises(telegram.error.BadRequest, match="Message is not modified"):
        await ptb.edit_message_text("Voted", chat_id=person["id"], message_id=message.message_id)
    with pytest.raises(telegram.error.BadRequest, match="Message to edit not found"):
        await ptb.edit_message_text("x", chat_id=person["id"], message_id=999)

    photo_message = await ptb.send_photo(person["id"], tiny_png(6, 4), caption="Park")
    assert photo_message.photo[-1].width == 6 and photo_message.caption == "Park"
    assert unknown_to_ptb(photo_message) == []
    file = await ptb.get_file(photo_message.photo[-1].file_id)
    assert bytes(await file.download_as_bytearray()) == tiny_png(6, 4)
    document = await ptb.send_document(person["id"], b"a;b\n", filename="list.csv")
    assert document.document.file_name == "list.csv"
    forwarded = await ptb.forward_message(person["id"], person["id"], photo_message.message_id)
    assert forwarded.forward_origin.sender_user.id == 123456789 and unknown_to_ptb(forwarded) == []
    location = await ptb.send_location(person["id"], 38.42, 27.14)
    assert location.location.latitude == pytest.approx(38.42)

    await api.client(
        "POST",
        f"/people/{person['id']}/callbacks",
        {"message_id": message.message_id, "data": "yes", "wait": False},
    )
    await api.say(person["id"], "/start")
    updates = await ptb.get_updates(timeout=1)
    assert updates[0].callback_query.data == "yes" and updates[0].callback_query.chat_instance
    assert updates[1].message.text == "/start" and updates[1].message.from_user.language_code == "en"
    assert all(unknown_to_ptb(u) == [] for u in updates)
    assert await ptb.answer_callback_query(updates[0].callback_query.id, text="Thanks")
    await ptb.get_updates(offset=updates[-1].update_id + 1, timeout=0)
    assert await ptb.get_updates(timeout=0) == ()

    assert await ptb.set_my_commands([telegram.BotCommand("start", "Start")])
    assert [c.command for c in await ptb.get_my_commands()] == ["start"]
    assert await ptb.send_chat_action(person["id"], "typing")
    assert await ptb.delete_message(person["id"], document.message_id)
    info = await ptb.get_webhook_info()
    assert info.url == "" and info.pending_update_count == 0


@pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")
async def test_python_telegram_bot_errors(ptb: telegram.Bot, api: BotApiCaller, emulator: Emulator) -> None:
    person = await api.person()
    with pytest.raises(telegram.error.BadRequest, match="Can't parse entities"):
        await ptb.send_message(person["id"], "1 < 2", parse_mode="HTML")
    with pytest.raises(telegram.error.BadRequest, match="Chat not found"):
        await ptb.send_message(42, "x")
    await api.client("POST", f"/people/{person['id']}/block", {"blocked": True, "wait": False})
    with pytest.raises(telegram.error.Forbidden, match="bot was blocked by the user"):
        await ptb.send_message(person["id"], "x")
    await api.client("POST", f"/people/{person['id']}/block", {"blocked": False, "wait": False})
    emulator.limiter.limits = Limits(per_chat_burst=1)
    await ptb.send_message(person["id"], "one")
    with pytest.raises(telegram.error.RetryAfter, match=r"Retry in 1(\.0)? seconds"):
        await ptb.send_message(person["id"], "two")


# aiogram ------------------------------------------------------------------------------------------


@pytest.fixture
async def aiobot(emulator: Emulator) -> AsyncIterator[AiogramBot]:
    bot = AiogramBot(TOKEN, session=AiohttpSession(api=TelegramAPIServer.from_base(emulator.url)))
    try:
        yield bot
    finally:
        await bot.session.close()


async def test_aiogram(aiobot: AiogramBot, api: BotApiCaller) -> None:
    me = await aiobot.get_me()
    assert me.id == 123456789 and me.username == "meydan_sandbox_bot"
    person = await api.person("Zeynep", language_code="tr")
    keyboard = InlineKeyboardMarkup(
        inline_keyboard=[[InlineKeyboardButton(text="Evet", callback_data="yes")]]
    )
    message = await aiobot.send_message(
        person["id"], "<i>Oy</i> &amp; <code>kod</code>", parse_mode="HTML", reply_markup=keyboard
    )
    assert message.text == "Oy & kod" and [e.type for e in message.entities] == ["italic", "code"]
    assert unknown_to_aiogram(message) == []

    edited = await aiobot.edit_message_text(
        text="Oy verildi", chat_id=person["id"], message_id=message.message_id
    )
    assert edited.text == "Oy verildi" and edited.reply_markup is None
    with pytest.raises(TelegramBadRequest, match="message is not modified"):
        await aiobot.edit_message_text(text="Oy verildi", chat_id=person["id"], message_id=message.message_id)

    photo = await aiobot.send_photo(
        person["id"], BufferedInputFile(tiny_png(8, 8), "park.png"), caption="Park"
    )
    assert photo.photo[-1].width == 8 and unknown_to_aiogram(photo) == []
    file = await aiobot.get_file(photo.photo[-1].file_id)
    downloaded = await aiobot.download_file(file.file_path)
    assert downloaded is not None and downloaded.read() == tiny_png(8, 8)
    forwarded = await aiobot.forward_message(person["id"], person["id"], photo.message_id)
    assert forwarded.forward_origin.sender_user.id == 123456789 and unknown_to_aiogram(forwarded) == []
    copied = await aiobot.copy_message(person["id"], person["id"], photo.message_id, caption="Copy")
    assert copied.message_id == forwarded.message_id + 1
    document = await aiobot.send_document(person["id"], BufferedInputFile(b"hello", "note.txt"))
    assert document.document.mime_type == "text/plain"

    await api.client(
        "POST",
        f"/people/{person['id']}/callbacks",
        {"message_id": message.message_id, "data": "yes", "wait": False},
    )
    updates = await aiobot.get_updates(timeout=1)
    query = updates[0].callback_query
    assert query is not None and query.data == "yes" and query.message.message_id == message.message_id
    assert all(unknown_to_aiogram(u) == [] for u in updates)
    assert await aiobot.answer_callback_query(query.id, text="Kaydedildi", show_alert=True)

    commands = [
        BotCommand(command="start", description="Başla"),
        BotCommand(command="ideas", description="Fikirler"),
    ]
    assert await aiobot.set_my_commands(commands, language_code="tr")
    listed = await aiobot.get_my_commands(language_code="tr")
    assert [(c.command, c.description) for c in listed] == [("start", "Başla"), ("ideas", "Fikirler")]
    assert await aiobot.delete_message(person["id"], document.message_id)
    assert await aiobot.send_chat_action(person["id"], "typing")


async def test_aiogram_errors(aiobot: AiogramBot, api: BotApiCaller, emulator: Emulator) -> None:
    person = await api.person()
    with pytest.raises(TelegramBadRequest, match="can't parse entities"):
        await aiobot.send_message(person["id"], "<b>unclosed", parse_mode="HTML")
    with pytest.raises(TelegramBadRequest, match="BUTTON_DATA_INVALID"):
        await aiobot.send_message(
            person["id"],
            "x",
            reply_markup=InlineKeyboardMarkup(
                inline_keyboard=[[InlineKeyboardButton(text="A", callback_data="d" * 65)]]
            ),
        )
    await api.client("POST", f"/people/{person['id']}/block", {"blocked": True, "wait": False})
    with pytest.raises(TelegramForbiddenError):
        await aiobot.send_message(person["id"], "x")
    await api.client("POST", f"/people/{person['id']}/block", {"blocked": False, "wait": False})

    class SendCarrierPigeon(TelegramMethod[bool]):
        __returning__ = bool
        __api_method__ = "sendCarrierPigeon"

    with pytest.raises(TelegramNotFound):
        await aiobot(SendCarrierPigeon())

    emulator.limiter.limits = Limits(per_chat_burst=1)
    await aiobot.send_message(person["id"], "one")
    with pytest.raises(TelegramRetryAfter) as flood:
        await aiobot.send_message(person["id"], "two")
    assert flood.value.retry_after >= 1

    pending = await aiobot.get_updates()
    assert [u.my_chat_member.new_chat_member.status for u in pending] == ["kicked", "member"]
    await aiobot.get_updates(offset=pending[-1].update_id + 1)
    poll = asyncio.create_task(aiobot.get_updates(timeout=10))
    await asyncio.sleep(0.2)
    await aiobot.get_updates(timeout=0)
    with pytest.raises(TelegramConflictError):
        await poll
