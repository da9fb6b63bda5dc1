"""The web chat in a real headless Chromium: a person created in the page talks to a small aiogram bot.

Debian's ``chromium`` is driven through Playwright (``scripts/install-chromium`` installs it).
"""

from __future__ import annotations

import asyncio
import shutil
import struct
import zlib
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from aiogram import Bot, Dispatcher, F, Router
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.filters import CommandStart
from aiogram.types import (
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    Message,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
)

from bot.sandbox.emulator import Emulator

CHROMIUM = shutil.which("chromium")
pytestmark = pytest.mark.skipif(
    CHROMIUM is None,
    reason="no chromium executable on PATH (scripts/install-chromium installs Debian's chromium)",
)

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def tiny_png(width: int = 3, height: int = 2) -> bytes:
    """A valid RGB PNG of the given size (no imaging library needed)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    rows = b"".join(b"\x00" + bytes([200, 60, 40]) * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


def colour_bot() -> Dispatcher:
    """A small bot: an inline keyboard it edits on a press, a reply keyboard, a deletion, a photo."""
    router = Router()
    prompts: dict[int, int] = {}

    @router.message(CommandStart())
    async def start(message: Message) -> None:
        name = message.from_user.first_name if message.from_user else "there"
        keyboard = InlineKeyboardMarkup(
            inline_keyboard=[
                [
                    InlineKeyboardButton(text="Red", callback_data="colour:red"),
                    InlineKeyboardButton(text="Blue", callback_data="colour:blue"),
                ]
            ]
        )
        await message.answer(f"Welcome, <b>{name}</b>! Pick a colour.", reply_markup=keyboard)

    @router.callback_query(F.data.startswith("colour:"))
    async def colour(callback: CallbackQuery) -> None:
        choice = (callback.data or "").split(":", 1)[1]
        assert isinstance(callback.message, Message)
        again = InlineKeyboardMarkup(
            inline_keyboard=[[InlineKeyboardButton(text="Change colour", callback_data="colour:none")]]
        )
        await callback.message.edit_text(f"You picked <i>{choice}</i>.", reply_markup=again)
        await callback.answer(f"Saved {choice}")
        keyboard = ReplyKeyboardMarkup(
            keyboard=[[KeyboardButton(text="Tea"), KeyboardButton(text="Coffee")]],
            resize_keyboard=True,
            input_field_placeholder="Tea or coffee?",
        )
        prompt = await callback.message.answer("What next?", reply_markup=keyboard)
        prompts[callback.message.chat.id] = prompt.message_id

    @router.message(F.text.in_({"Tea", "Coffee"}))
    async def drink(message: Message) -> None:
        prompt = prompts.pop(message.chat.id, None)
        if prompt is not None:
            await message.bot.delete_message(message.chat.id, prompt)
        await message.answer(f"One {message.text.lower()} coming up.", reply_markup=ReplyKeyboardRemove())

    @router.message(F.photo)
    async def photo(message: Message) -> None:
        file = await message.bot.get_file(message.photo[-1].file_id)
        data = await message.bot.download_file(file.file_path)
        await message.answer(f"Photo received: {len(data.read())} bytes")

    dispatcher = Dispatcher()
    dispatcher.include_router(router)
    return dispatcher


@pytest.fixture
async def sandbox(emulator: Emulator) -> AsyncIterator[Emulator]:
    """The emulator with the colour bot polling it."""
    assert emulator.token is not None
    bot = Bot(
        emulator.token,
        session=AiohttpSession(api=TelegramAPIServer.from_base(emulator.url)),
        default=DefaultBotProperties(parse_mode="HTML"),
    )
    dispatcher = colour_bot()
    polling = asyncio.create_task(dispatcher.start_polling(bot, handle_signals=False, polling_timeout=5))
    try:
        yield emulator
    finally:
        await dispatcher.stop_polling()
        await polling


async def client_get(emulator: Emulator, path: str) -> Any:
    async with aiohttp.ClientSession() as session, session.get(emulator.url + path) as response:
        assert response.status == 200, await response.text()
        if response.content_type == "application/json":
            return await response.json()
        return await response.read()


async def test_a_person_talks_to_the_bot_in_the_browser(sandbox: Emulator) -> None:
    from playwright.async_api import async_playwright, expect

    expect.set_options(timeout=15_000)
    png = tiny_png(48, 32)
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True
        )
        try:
            page = await browser.new_page(viewport={"width": 1100, "height": 900})
            errors: list[str] = []
            page.on("pageerror", lambda error: errors.append(str(error)))
            await page.goto(sandbox.url + "/")
            await expect(page.locator("#bot-info")).to_contain_text("via polling")

            new_person = page.get_by_role("form", name="New person")
            await new_person.get_by_label("First name").fill("Ayşe")
            await new_person.get_by_label("Language").select_option("en")
            await new_person.get_by_label("Role label").select_option("coordinator")
            await new_person.get_by_role("button", name="Create and open chat").click()
            await expect(page.get_by_role("tab", name="Ayşe coordinator", exact=True)).to_have_attribute(
                "aria-selected", "true"
            )

            people = (await client_get(sandbox, "/sandbox/api/people"))["people"]
            assert [(p["first_name"], p["language_code"]) for p in people] == [("Ayşe", "en")]
            person_id = people[0]["id"]

            composer = page.get_by_label("Message", exact=True)
            await composer.fill("/start")
            await composer.press("Enter")
            bot_messages = page.locator('.message[data-from="bot"]')
            welcome = bot_messages.first
            await expect(welcome).to_contain_text("Welcome, Ayşe! Pick a colour.")
            await expect(welcome.locator("b")).to_have_text("Ayşe")
            await expect(page.locator('.message[data-from="person"] .text').first).to_have_text("/start")
            welcome_id = await welcome.get_attribute("data-message-id")

            await welcome.get_by_role("button", name="Red", exact=True).click()
            await expect(page.locator("#toast")).to_have_text("Saved red")
            edited = page.locator(f'.message[data-message-id="{welcome_id}"]')
            await expect(edited).to_contain_text("You picked red.")
            await expect(edited.locator("i")).to_have_text("red")
            await expect(edited.locator(".edited")).to_have_text("edited")
            await expect(edited.get_by_role("button", name="Red", exact=True)).to_have_count(0)
            await expect(edited.get_by_role("button", name="Change colour")).to_be_visible()

            keyboard = page.get_by_role("group", name="Bot keyboard")
            await expect(page.get_by_text("What next?")).to_be_visible()
            await expect(keyboard.get_by_role("button")).to_have_text(["Tea", "Coffee"])
            await expect(composer).to_have_attribute("placeholder", "Tea or coffee?")
            await keyboard.get_by_role("button", name="Tea", exact=True).click()
            await expect(page.get_by_text("One tea coming up.")).to_be_visible()
            await expect(page.get_by_text("What next?")).to_have_count(0)
            await expect(keyboard).to_be_hidden()

            async with page.expect_file_chooser() as chooser_info:
                await page.get_by_role("button", name="Photo").click()
            chooser = await chooser_info.value
            await chooser.set_files({"name": "dot.png", "mimeType": "image/png", "buffer": png})
            await expect(page.get_by_text(f"Photo received: {len(png)} bytes")).to_be_visible()
            photo = page.locator('.message[data-from="person"] img.photo')
            await expect(photo).to_have_count(1)
            await photo.evaluate("img => img.decode()")
            assert await photo.evaluate("img => img.naturalWidth") == 48

            await page.get_by_role("button", name="Block bot", exact=True).click()
            await expect(page.get_by_role("button", name="Unblock bot", exact=True)).to_be_visible()
            blocked = (await client_get(sandbox, "/sandbox/api/people"))["people"][0]["blocked"]
            await page.get_by_role("button", name="Unblock bot", exact=True).click()
            await expect(page.get_by_role("button", name="Block bot", exact=True)).to_be_visible()
            unblocked = (await client_get(sandbox, "/sandbox/api/people"))["people"][0]["blocked"]
            assert (blocked, unblocked) == (True, False)
            assert errors == []
        finally:
            await browser.close()

    chat = (await client_get(sandbox, f"/sandbox/api/people/{person_id}/chat"))["messages"]
    seen = [(m["from"], m["text"] or m["caption"] or ("<photo>" if m["photo"] else None)) for m in chat]
    assert seen == [
        ("person", "/start"),
        ("bot", "You picked red."),
        ("person", "Tea"),
        ("bot", "One tea coming up."),
        ("person", "<photo>"),
        ("bot", f"Photo received: {len(png)} bytes"),
    ]
    assert str(chat[1]["message_id"]) == welcome_id
    assert chat[1]["edited"] is True
    assert [b["text"] for b in chat[1]["reply_markup"]["inline_keyboard"][0]] == ["Change colour"]
    assert await client_get(sandbox, chat[4]["photo"]["url"]) == png
