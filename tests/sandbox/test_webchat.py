"""The web chat in a real headless Chromium: a person created in the page talks to a small aiogram bot.

Debian's ``chromium`` is driven through Playwright (``scripts/install-chromium`` installs it).
"""

from __future__ import annotations

import asyncio
import contextlib
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
from aiogram.filters import Command, CommandStart
from aiogram.types import (
    BotCommand,
    BotCommandScopeAllPrivateChats,
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

    @router.message(Command("help"))
    async def help_(message: Message) -> None:
        about = InlineKeyboardMarkup(
            inline_keyboard=[[InlineKeyboardButton(text="About", callback_data="about")]]
        )
        await message.answer(
            "Use /settings to change them. Not these: <code>/secret</code>, "
            '<a href="https://example.org/">/link</a>, and/or, /Upper, /x/y, mail/settings.',
            reply_markup=about,
        )

    @router.message(Command("settings"))
    async def settings(message: Message) -> None:
        await message.answer("Settings: nothing to change yet.")

    @router.callback_query(F.data == "about")
    async def about(callback: CallbackQuery) -> None:
        await callback.answer("A small bot for the sandbox tests.", show_alert=True)

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
    await describe_the_bot(bot)
    dispatcher = colour_bot()
    polling = asyncio.create_task(dispatcher.start_polling(bot, handle_signals=False, polling_timeout=5))
    try:
        yield emulator
    finally:
        await dispatcher.stop_polling()
        await polling


DESCRIPTION_EN = "Vote on ideas for your neighbourhood.\nTap Start to begin."
DESCRIPTION_TR = "Mahalleniz için fikirlere oy verin."


async def describe_the_bot(bot: Bot) -> None:
    """What the colour bot tells Telegram about itself before it starts polling."""
    await bot.set_my_description(DESCRIPTION_EN)
    await bot.set_my_description(DESCRIPTION_TR, language_code="tr")
    await bot.set_my_short_description("Civic participation, in colour")
    await bot.set_my_commands([BotCommand(command="start", description="Start")])
    await bot.set_my_commands(
        [
            BotCommand(command="start", description="Start over"),
            BotCommand(command="help", description="Help"),
            BotCommand(command="settings", description="Settings"),
        ],
        scope=BotCommandScopeAllPrivateChats(),
    )
    await bot.set_my_commands(
        [
            BotCommand(command="start", description="Baştan başla"),
            BotCommand(command="help", description="Yardım"),
        ],
        scope=BotCommandScopeAllPrivateChats(),
        language_code="tr",
    )


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
            await expect(page.locator("#toast")).to_have_text("You blocked the bot.")
            await expect(page.get_by_role("button", name="Unblock bot", exact=True)).to_be_visible()
            blocked = (await client_get(sandbox, "/sandbox/api/people"))["people"][0]["blocked"]
            await page.get_by_role("button", name="Unblock bot", exact=True).click()
            await expect(page.locator("#toast")).to_have_text("You unblocked the bot.")
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


@contextlib.asynccontextmanager
async def browser_page(width: int, height: int) -> AsyncIterator[tuple[Any, list[str]]]:
    """A page in headless chromium at the given viewport, and the JavaScript errors it raises."""
    from playwright.async_api import async_playwright, expect

    expect.set_options(timeout=15_000)
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True
        )
        try:
            page = await browser.new_page(viewport={"width": width, "height": height})
            errors: list[str] = []
            page.on("pageerror", lambda error: errors.append(str(error)))
            yield page, errors
        finally:
            await browser.close()


async def create_person(page: Any, first_name: str, language: str = "en") -> None:
    """Fills in the page's New person form (opening the People panel first on a narrow screen)."""
    toggle = page.locator("#toggle-people")
    if await toggle.is_visible():
        await toggle.click()
    form = page.get_by_role("form", name="New person")
    await form.get_by_label("First name").fill(first_name)
    await form.get_by_label("Language").select_option(language)
    await form.get_by_role("button", name="Create and open chat").click()


async def people(emulator: Emulator) -> list[dict[str, Any]]:
    return (await client_get(emulator, "/sandbox/api/people"))["people"]


async def box(locator: Any) -> dict[str, float]:
    found = await locator.bounding_box()
    assert found is not None
    return found


async def hit(locator: Any) -> bool:
    """Whether a click at the element's centre lands on it (nothing covers it)."""
    return await locator.evaluate(
        """node => {
            const r = node.getBoundingClientRect();
            const top = document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2);
            return top !== null && (top === node || node.contains(top));
        }"""
    )


async def test_a_new_chat_shows_the_description_and_a_start_button(sandbox: Emulator) -> None:
    from playwright.async_api import expect

    async with browser_page(1100, 900) as (page, errors):
        await page.goto(sandbox.url + "/")
        await expect(page.locator("#bot-info")).to_contain_text("via polling")

        await create_person(page, "Ayşe", "tr")
        intro = page.get_by_role("region", name="What can this bot do?")
        await expect(intro).to_be_visible()
        await expect(intro).to_contain_text(DESCRIPTION_TR)
        # No Turkish short description: the default one, under the bot's name in the header.
        await expect(page.locator("#chat-about")).to_have_text("Civic participation, in colour")
        start = page.get_by_role("button", name="Start", exact=True)
        await expect(start).to_be_visible()
        await start.click()
        await expect(page.locator('.message[data-from="person"] .text')).to_have_text(["/start"])
        await expect(page.get_by_text("Welcome, Ayşe! Pick a colour.")).to_be_visible()
        await expect(intro).to_be_hidden()
        await expect(start).to_be_hidden()

        # After blocking the bot, Restart sends /start again, which unblocks.
        await page.get_by_role("button", name="Block bot", exact=True).click()
        restart = page.get_by_role("button", name="Restart", exact=True)
        await restart.click()
        await expect(page.get_by_role("button", name="Block bot", exact=True)).to_be_visible()
        await expect(restart).to_be_hidden()
        await expect(page.locator('.message[data-from="person"] .text')).to_have_text(["/start", "/start"])

        # The Turkish commands of the private-chat scope.
        composer = page.get_by_label("Message", exact=True)
        await composer.press_sequentially("/")
        menu = page.get_by_role("menu", name="Bot commands")
        await expect(menu.get_by_role("menuitem")).to_have_text(["/startBaştan başla", "/helpYardım"])
        await composer.press("Escape")
        await expect(menu).to_be_hidden()

        await create_person(page, "John", "en")
        await expect(page.get_by_role("tab", name="John", exact=True)).to_have_attribute(
            "aria-selected", "true"
        )
        await expect(intro).to_be_visible()
        await expect(page.locator("#bot-description")).to_have_text(DESCRIPTION_EN)
        await expect(page.get_by_role("button", name="Start", exact=True)).to_be_visible()
        assert errors == []


async def hold_answer(page: Any, pattern: str, method: str) -> tuple[asyncio.Event, asyncio.Event]:
    """Hold the server's answer to the page's next `method` request to `pattern`: `sent` is set once the
    server has answered, and the page gets the answer when `release` is set."""
    from playwright.async_api import Route

    sent, release = asyncio.Event(), asyncio.Event()

    async def hold(route: Route) -> None:
        if route.request.method != method or sent.is_set():
            await route.continue_()
            return
        answer = await route.fetch()
        sent.set()
        await release.wait()
        await route.fulfill(response=answer)

    await page.route(pattern, hold)
    return sent, release


async def block_then_release(page: Any, sandbox: Emulator, release: asyncio.Event, pattern: str) -> None:
    """Block the bot, then let the held answer to `pattern` reach the page, which must still show the
    block the server holds."""
    from playwright.async_api import expect

    await page.get_by_role("button", name="Block bot", exact=True).click()
    await expect(page.locator("#toast")).to_have_text("You blocked the bot.")
    async with page.expect_response(pattern):
        release.set()
    # The page has the stale answer now; give it time to show it if it would, then look once.
    await page.wait_for_timeout(500)
    people = (await client_get(sandbox, "/sandbox/api/people"))["people"]
    assert [p["blocked"] for p in people] == [True]
    assert await page.locator("#block-toggle").text_content() == "Unblock bot"
    assert await page.locator("#blocked-banner").is_visible()


async def test_a_people_list_fetched_across_a_block_does_not_undo_it(sandbox: Emulator) -> None:
    from playwright.async_api import expect

    async with browser_page(1100, 900) as (page, errors):
        await page.goto(sandbox.url + "/")
        await expect(page.locator("#bot-info")).to_contain_text("via polling")
        await create_person(page, "Ayşe", "en")

        # A refresh of the people list is answered before the block and arrives after it.
        sent, release = await hold_answer(page, "**/sandbox/api/people", "GET")
        await page.get_by_role("button", name="Refresh", exact=True).click()
        await asyncio.wait_for(sent.wait(), 15)
        await block_then_release(page, sandbox, release, "**/sandbox/api/people")
        assert await page.locator(".badge.blocked").count() == 1
        assert errors == []


async def test_a_message_answered_after_a_block_does_not_undo_it(sandbox: Emulator) -> None:
    from playwright.async_api import expect

    async with browser_page(1100, 900) as (page, errors):
        await page.goto(sandbox.url + "/")
        await expect(page.locator("#bot-info")).to_contain_text("via polling")
        await create_person(page, "Ayşe", "en")

        # The send's answer (which comes once the bot has handled the message) arrives after a block.
        sent, release = await hold_answer(page, "**/sandbox/api/people/*/messages", "POST")
        composer = page.get_by_label("Message", exact=True)
        await composer.fill("/start")
        await composer.press("Enter")
        await asyncio.wait_for(sent.wait(), 15)
        await expect(page.get_by_text("Welcome, Ayşe! Pick a colour.")).to_be_visible()
        await block_then_release(page, sandbox, release, "**/sandbox/api/people/*/messages")

        # A message sent while blocked unblocks at once, as the server does on taking it.
        await page.unroute("**/sandbox/api/people/*/messages")
        await composer.fill("/start")
        await composer.press("Enter")
        await expect(page.locator("#block-toggle")).to_have_text("Block bot")
        await expect(page.locator('.message[data-from="person"] .text')).to_have_text(["/start", "/start"])
        people = (await client_get(sandbox, "/sandbox/api/people"))["people"]
        assert [p["blocked"] for p in people] == [False]
        assert errors == []


async def test_commands_in_bot_text_and_the_command_menu(sandbox: Emulator) -> None:
    from playwright.async_api import expect

    async with browser_page(1100, 900) as (page, errors):
        await page.goto(sandbox.url + "/")
        await expect(page.locator("#bot-info")).to_contain_text("via polling")
        await create_person(page, "John", "en")
        await page.get_by_role("button", name="Start", exact=True).click()
        await expect(page.get_by_text("Welcome, John! Pick a colour.")).to_be_visible()

        menu = page.get_by_role("menu", name="Bot commands")
        menu_button = page.get_by_role("button", name="Menu", exact=True)
        await expect(menu_button).to_have_attribute("aria-expanded", "false")
        await menu_button.click()
        await expect(menu_button).to_have_attribute("aria-expanded", "true")
        items = menu.get_by_role("menuitem")
        await expect(items).to_have_text(["/startStart over", "/helpHelp", "/settingsSettings"])
        await items.filter(has_text="/help").click()
        await expect(menu).to_be_hidden()

        help_message = page.locator('.message[data-from="bot"]').filter(has_text="Use /settings")
        await expect(help_message).to_be_visible()
        # Only the plain-text, word-bounded /settings is tappable: not in code, a link, "and/or", "/Upper"...
        await expect(help_message.locator(".bot-command")).to_have_text(["/settings"])
        await expect(help_message.locator("code")).to_have_text("/secret")
        await expect(help_message.locator("a")).to_have_text("/link")
        await help_message.get_by_role("button", name="/settings", exact=True).click()
        await expect(page.get_by_text("Settings: nothing to change yet.")).to_have_count(1)

        # Typing "/" opens the menu, further letters filter it, arrows and Enter pick.
        composer = page.get_by_label("Message", exact=True)
        await composer.press_sequentially("/")
        await expect(items).to_have_count(3)
        await composer.press_sequentially("se")
        await expect(items).to_have_text(["/settingsSettings"])
        await composer.press("ArrowDown")
        await composer.press("Enter")
        await expect(menu).to_be_hidden()
        await expect(composer).to_have_value("")
        await expect(page.get_by_text("Settings: nothing to change yet.")).to_have_count(2)
        await composer.press_sequentially("/nothing")
        await expect(menu).to_be_hidden()
        await composer.fill("")

        # An alert is not modal and leaves the header visible and usable.
        await help_message.get_by_role("button", name="About").click()
        alert = page.locator("#alert-dialog")
        await expect(alert).to_be_visible()
        await expect(alert).to_contain_text("A small bot for the sandbox tests.")
        header = page.locator(".chat-head")
        header_box, alert_box = await box(header), await box(alert)
        assert alert_box["y"] >= header_box["y"] + header_box["height"]
        block = page.get_by_role("button", name="Block bot", exact=True)
        assert await hit(block)
        await alert.get_by_role("button", name="OK").click()
        await expect(alert).to_be_hidden()
        assert errors == []

    chat = await client_get(sandbox, f"/sandbox/api/people/{(await people(sandbox))[0]['id']}/chat")
    sent = [m["text"] for m in chat["messages"] if m["from"] == "person"]
    assert sent == ["/start", "/help", "/settings", "/settings"]


async def test_many_chats_on_a_phone(sandbox: Emulator) -> None:
    from playwright.async_api import expect

    names = ["Ayşe", "Burak", "Cem", "Deniz", "Elif", "Fatma", "Gökhan", "Hülya"]
    async with browser_page(390, 844) as (page, errors):
        await page.goto(sandbox.url + "/")
        phone = page.locator("#phone")
        back = page.get_by_role("button", name="Back to chats")
        for name in names:
            await create_person(page, name)
            await expect(page.locator("#chat-subtitle")).to_contain_text(f"talking as {name}")
            await expect(phone).to_be_visible()
            await back.click()
            await expect(phone).to_be_hidden()
        assert len(await people(sandbox)) == 8

        tabs = page.get_by_role("tab")
        await expect(tabs).to_have_count(8)
        assert await page.evaluate("document.documentElement.scrollWidth") <= 390
        for name in reversed(names):  # the first ones end up below the fold when the list is long
            tab = page.get_by_role("tab", name=name, exact=True)
            await tab.scroll_into_view_if_needed()
            await expect(tab).to_be_in_viewport()
            assert await hit(tab)
            await tab.click()
            await expect(page.locator("#chat-subtitle")).to_contain_text(f"talking as {name}")
            # The conversation fills the screen, header and composer included.
            assert await box(phone) == {"x": 0, "y": 0, "width": 390, "height": 844}
            await expect(page.get_by_label("Message", exact=True)).to_be_in_viewport()
            await expect(back).to_be_in_viewport()
            await back.click()
            await expect(tabs.first).to_be_visible()

        # A toast in a chat on the phone stays below the header.
        await page.get_by_role("tab", name="Cem", exact=True).click()
        await page.get_by_role("button", name="Start", exact=True).click()
        await page.get_by_role("button", name="Blue", exact=True).click()
        toast = page.locator("#toast")
        await expect(toast).to_have_text("Saved blue")
        header_box, toast_box = await box(page.locator(".chat-head")), await box(toast)
        assert toast_box["y"] >= header_box["y"] + header_box["height"]
        assert await hit(back)
        assert await hit(page.get_by_role("button", name="Block bot", exact=True))
        await back.click()
        await expect(page.get_by_role("tab", name="Cem", exact=True)).to_be_visible()
        assert errors == []
