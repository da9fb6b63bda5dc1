"""A typed message's last answer goes out in the webhook's reply; anything the bot sends before it goes
first, in the order it was written; a handler that fails sends nothing it held."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import aiohttp
from aiogram import Bot, Dispatcher, F
from aiogram.types import Message
from aiohttp import web

from bot.app import _WebhookHandler
from bot.middlewares import reply as held
from bot.middlewares.reply import ReplyMiddleware
from bot.sandbox.emulator import Limits
from bot.sandbox.testing import Sandbox
from bot.telegram import make_bot
from bot.ui.messages import confirm_then, respond


def _dispatcher() -> Dispatcher:
    dp = Dispatcher()
    dp.message.outer_middleware(ReplyMiddleware())

    @dp.message(F.text == "one")
    async def one(message: Message) -> None:
        await respond(message, "Bir")

    @dp.message(F.text == "two")
    async def two(message: Message) -> None:
        await confirm_then(message, "✅ Kaydedildi", "Sırada ne var?", None)

    @dp.message(F.text == "then a call")
    async def then_a_call(message: Message, bot: Bot) -> None:
        await respond(message, "Önce bu")
        await bot.send_message(message.chat.id, "Sonra bu")

    @dp.message(F.text == "fails")
    async def fails(message: Message) -> None:
        await respond(message, "Gitmemeli")
        raise RuntimeError("the handler failed after answering")

    return dp


@asynccontextmanager
async def _webhook(bot: Bot) -> AsyncIterator[str]:
    app = web.Application()
    _WebhookHandler(dispatcher=_dispatcher(), bot=bot, handle_in_background=False).register(app, path="/hook")
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # noqa: SLF001 - aiohttp exposes no public accessor
    try:
        yield f"http://127.0.0.1:{port}/hook"
    finally:
        await runner.cleanup()


async def _post(url: str, person_id: int, text: str, update_id: int) -> tuple[int, dict[str, Any]]:
    """Deliver one typed message as Telegram would; the status and the JSON of the answer."""
    user = {"id": person_id, "is_bot": False, "first_name": "Ayşe"}
    update = {
        "update_id": update_id,
        "message": {
            "message_id": update_id,
            "date": 1_790_000_000,
            "chat": {"id": person_id, "type": "private", "first_name": "Ayşe"},
            "from": user,
            "text": text,
        },
    }
    async with aiohttp.ClientSession() as http, http.post(url, json=update) as response:
        body = await response.json(content_type=None) if response.status == 200 else {}
        return response.status, body


async def test_a_single_answer_is_the_webhook_reply_and_no_call() -> None:
    bot = make_bot("42:TEST", "http://127.0.0.1:1")  # nothing listens there: a call would fail
    try:
        async with _webhook(bot) as url:
            status, reply = await _post(url, 7, "one", 1)
    finally:
        await bot.session.close()
    assert status == 200
    assert reply == {"method": "sendMessage", "chat_id": 7, "text": "Bir", "parse_mode": "HTML"}


@asynccontextmanager
async def _served() -> AsyncIterator[tuple[Sandbox, Any, str]]:
    """A sandbox with one person, and the dispatcher's webhook with a bot calling that sandbox."""
    async with Sandbox(limits=Limits.for_tests()) as sb:
        person = await sb.person("Ayşe", language_code="tr")
        bot = make_bot(sb.token, sb.url)
        try:
            async with _webhook(bot) as url:
                yield sb, person, url
        finally:
            await bot.session.close()


async def test_answers_before_the_last_go_first_in_order() -> None:
    async with _served() as (_sb, person, url):
        status, reply = await _post(url, person.id, "two", 1)
        assert status == 200 and reply["method"] == "sendMessage"
        assert reply["text"] == "Sırada ne var?"
        assert [m.text for m in await person.bot_messages()] == ["✅ Kaydedildi"]

        status, reply = await _post(url, person.id, "then a call", 2)
        assert status == 200 and reply == {}  # the held answer went out before the call
        texts = [m.text for m in await person.bot_messages()]
        assert texts == ["✅ Kaydedildi", "Önce bu", "Sonra bu"]


async def test_a_handler_that_fails_sends_nothing_it_held() -> None:
    async with _served() as (_sb, person, url):
        status, _reply = await _post(url, person.id, "fails", 1)
        assert status == 500  # Telegram delivers it again
        assert await person.bot_messages() == []


async def test_after_telegram_asks_for_a_wait_answers_go_as_calls() -> None:
    """A reply Telegram refused for flooding would be lost; a call is made again after the wait."""
    async with _served() as (sb, person, url):
        sb.emulator.limiter.hold(person.id, 1)  # her next message waits 1 s (429, retry_after)
        status, reply = await _post(url, person.id, "then a call", 1)
        assert status == 200 and reply == {}
        assert [m.text for m in await person.bot_messages()] == ["Önce bu", "Sonra bu"]
        status, reply = await _post(url, person.id, "one", 2)
        assert status == 200 and reply == {}  # sent by a call, as Telegram asked for a wait
        assert [m.text for m in await person.bot_messages()][-1] == "Bir"
        held._Flood.calls_until = 0.0  # noqa: SLF001 - the wait and its calm are over
        status, reply = await _post(url, person.id, "one", 3)
        assert reply["method"] == "sendMessage"
