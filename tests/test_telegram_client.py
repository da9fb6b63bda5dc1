"""The bot's Telegram client waits out HTTP 429 as Telegram asks, sends JSON and reads no keyboard back,
and the locale is picked in order."""

from __future__ import annotations

import asyncio
import json
import time

import pytest
from aiogram import Dispatcher
from aiogram.exceptions import TelegramBadRequest, TelegramRetryAfter
from aiogram.methods import AnswerCallbackQuery, SendDocument, SendMessage
from aiogram.types import BufferedInputFile, InlineKeyboardButton, InlineKeyboardMarkup
from aiohttp import FormData, JsonPayload

from bot.app import _WebhookHandler
from bot.middlewares.locale import pick_language
from bot.sandbox.emulator import Limits
from bot.sandbox.testing import Sandbox
from bot.telegram import loads_trimmed, make_bot

KEYBOARD = InlineKeyboardMarkup(
    inline_keyboard=[[InlineKeyboardButton(text="Destekle 👍", callback_data="idea:support:7")]]
)


async def test_sender_honours_retry_after() -> None:
    limits = Limits(per_chat_rate=1.0, per_chat_burst=2)
    async with Sandbox(limits=limits) as sb:
        person = await sb.person("Ayşe", language_code="tr")
        bot = make_bot(sb.token, sb.url)
        try:
            started = time.monotonic()
            for n in range(4):
                await bot.send_message(person.id, f"message {n}")
            elapsed = time.monotonic() - started
        finally:
            await bot.session.close()
        texts = [m.text for m in await person.bot_messages()]
        assert texts == [f"message {n}" for n in range(4)]  # nothing lost, nothing doubled, in order
        assert elapsed >= 1.0  # two of the four had to wait for the per-chat limit


async def test_gives_up_when_the_wait_is_too_long() -> None:
    limits = Limits(per_chat_rate=0.01, per_chat_burst=1)  # one message per 100 s
    async with Sandbox(limits=limits) as sb:
        person = await sb.person("Can")
        bot = make_bot(sb.token, sb.url, max_retry_wait=5)
        try:
            await bot.send_message(person.id, "first")
            with pytest.raises(TelegramRetryAfter) as err:
                await bot.send_message(person.id, "second")
            assert err.value.retry_after > 5
        finally:
            await bot.session.close()


async def test_calls_go_as_json_and_files_as_forms() -> None:
    """A call is a JSON body, a file upload a multipart form; Telegram (here the sandbox) takes both, and
    what comes back carries no keyboard, though the person sees it."""
    async with Sandbox() as sb:
        person = await sb.person("Ayşe", language_code="tr")
        bot = make_bot(sb.token, sb.url)
        try:
            call = SendMessage(chat_id=person.id, text="<b>Çeşme</b> & park", reply_markup=KEYBOARD)
            body = bot.session.build_form_data(bot, call)
            assert isinstance(body, JsonPayload)
            assert json.loads(body._value) == {  # noqa: SLF001 - the body as it goes on the wire
                "chat_id": person.id,  # no field left None, at the top or in a button
                "text": "<b>Çeşme</b> & park",
                "parse_mode": "HTML",  # the bot's default, filled in
                "reply_markup": {
                    "inline_keyboard": [[{"text": "Destekle 👍", "callback_data": "idea:support:7"}]]
                },
            }
            sent = await bot(call)
            upload = BufferedInputFile("ad;şehir\nİzmir".encode(), filename="fikirler.csv")
            uploading = SendDocument(chat_id=person.id, document=upload)
            assert isinstance(bot.session.build_form_data(bot, uploading), FormData)
            document = await bot.send_document(
                person.id, upload, caption="Dışa aktarım", reply_markup=KEYBOARD
            )
        finally:
            await bot.session.close()
        assert sent.text == "Çeşme & park" and sent.reply_markup is None
        assert document.document is not None and document.reply_markup is None
        seen = await person.bot_messages()
        assert seen[0].text == "Çeşme & park" and seen[0].buttons == [["Destekle 👍"]]
        assert seen[1].document is not None and seen[1].caption == "Dışa aktarım"
        assert seen[1].buttons == [["Destekle 👍"]]


def test_what_the_bot_made_is_left_out_of_what_telegram_sends() -> None:
    """The keyboard and the formatting of the bot's own messages (the one a press came from, one just
    sent or edited) are not parsed; a person's message keeps its formatting."""
    message = {"message_id": 5, "chat": {"id": 1, "type": "private"}, "date": 0, "text": "Fikirler"}
    keyboard = {"inline_keyboard": [[{"text": "▶", "callback_data": "ideas:page:2"}]]}
    bold = [{"type": "bold", "offset": 0, "length": 8}]
    made = {**message, "reply_markup": keyboard, "entities": bold, "caption_entities": bold}
    press = {
        "update_id": 9,
        "callback_query": {
            "id": "1",
            "from": {"id": 1, "is_bot": False, "first_name": "Ayşe"},
            "chat_instance": "1",
            "data": "ideas:page:2",
            "message": made,
        },
    }
    assert loads_trimmed(json.dumps(press))["callback_query"]["message"] == message
    edited = loads_trimmed(json.dumps({"ok": True, "result": made}))
    assert edited["result"] == message
    typed = {"update_id": 11, "message": {**message, "entities": bold, "reply_markup": keyboard}}
    assert loads_trimmed(json.dumps(typed))["message"] == {**message, "entities": bold}
    polled = loads_trimmed(json.dumps({"ok": True, "result": [press, {"update_id": 10}, typed]}))
    assert polled["result"][0]["callback_query"]["message"] == message and polled["result"][1] == {
        "update_id": 10
    }
    assert polled["result"][2]["message"]["entities"] == bold
    assert loads_trimmed('{"ok": true, "result": true}') == {"ok": True, "result": True}
    assert loads_trimmed("[1, 2]") == [1, 2]
    assert loads_trimmed('{"ok": false, "error_code": 400, "description": "Bad Request"}')["ok"] is False


async def test_an_edit_answers_true_and_a_failed_edit_raises() -> None:
    """The message as edited is not read back: a successful edit answers True and the person sees the
    new text; an edit Telegram refuses raises as any call does."""
    async with Sandbox() as sb:
        person = await sb.person("Ayşe")
        bot = make_bot(sb.token, sb.url)
        try:
            sent = await bot.send_message(person.id, "Fikirler", reply_markup=KEYBOARD)
            assert await sent.edit_text("Fikirler, sayfa 2", reply_markup=KEYBOARD) is True
            assert await bot.edit_message_reply_markup(chat_id=person.id, message_id=sent.message_id) is True
            with pytest.raises(TelegramBadRequest, match="message is not modified"):
                await sent.edit_text("Fikirler, sayfa 2")
            with pytest.raises(TelegramBadRequest):
                await bot.edit_message_text("?", chat_id=person.id, message_id=sent.message_id + 99)
        finally:
            await bot.session.close()
        (shown,) = await person.bot_messages()
        assert shown.text == "Fikirler, sayfa 2"


def test_a_keyboard_goes_as_aiogram_would_send_it() -> None:
    """The dumped keyboard is sent as it is (no walk through `prepare_value`): the body is the one
    aiogram's own preparation gives, for every kind of markup."""
    from aiogram.types import KeyboardButton, ReplyKeyboardMarkup, ReplyKeyboardRemove, WebAppInfo

    bot = make_bot("42:TEST", "http://127.0.0.1:1")
    markups = [
        InlineKeyboardMarkup(
            inline_keyboard=[
                [InlineKeyboardButton(text="Harita", url="https://example.org/map?x=1&y=2")],
                [InlineKeyboardButton(text="Aç", web_app=WebAppInfo(url="https://example.org/app"))],
                [InlineKeyboardButton(text="Destekle 👍", callback_data="idea:support:7")],
            ]
        ),
        ReplyKeyboardMarkup(
            keyboard=[[KeyboardButton(text="📱 Numaramı paylaş", request_contact=True)]],
            resize_keyboard=True,
            one_time_keyboard=True,
            input_field_placeholder="Numaranız",
        ),
        ReplyKeyboardRemove(),
    ]
    for markup in markups:
        call = SendMessage(chat_id=7, text="Çeşme", reply_markup=markup)
        dumped = call.model_dump(warnings=False, exclude_none=True)
        prepared = {
            key: bot.session.prepare_value(value, bot=bot, files={}, _dumps_json=False)
            for key, value in dumped.items()
        }
        sent = {key: value for key, value in prepared.items() if value is not None}
        body = bot.session.json_body(bot, call)
        assert json.loads(body._value) == json.loads(json.dumps(sent))  # noqa: SLF001


def test_a_method_in_the_webhook_reply_goes_as_json() -> None:
    bot = make_bot("42:TEST", "http://127.0.0.1:1")
    handler = _WebhookHandler(dispatcher=Dispatcher(), bot=bot)
    reply = handler._build_response_writer(
        bot, AnswerCallbackQuery(callback_query_id="7", text="Destek verildi")
    )
    assert isinstance(reply, JsonPayload)
    assert json.loads(reply._value) == {  # noqa: SLF001 - the body as it goes on the wire
        "method": "answerCallbackQuery",
        "callback_query_id": "7",
        "text": "Destek verildi",
    }
    assert isinstance(handler._build_response_writer(bot, None), JsonPayload)  # an empty reply: {}


async def test_a_webhook_answered_at_once_still_handles_the_update() -> None:
    """`webhook_app(background=True)`: the call is answered 200 before the update is handled, and a
    method the handler returns is sent by the bot afterwards."""
    from aiogram.types import Message
    from aiohttp import web

    seen: list[str] = []
    dispatcher = Dispatcher()

    @dispatcher.message()
    async def echo(message: Message) -> SendMessage:
        seen.append(message.text or "")
        return SendMessage(chat_id=message.chat.id, text=f"«{message.text}» alındı")

    async with Sandbox() as sb:
        person = await sb.person("Ayşe", language_code="tr")
        bot = make_bot(sb.token, sb.url)
        app = web.Application()
        _WebhookHandler(
            dispatcher=dispatcher, bot=bot, secret_token="s3cret", handle_in_background=True
        ).register(app, path="/hook")
        runner = web.AppRunner(app)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # noqa: SLF001 - aiohttp exposes no public accessor
        try:
            await bot.set_webhook(f"http://127.0.0.1:{port}/hook", secret_token="s3cret")
            await person.say("Çınarlı parkına bank", check=False)
            for _ in range(100):  # the reply comes after the call's answer, within 5 s
                replies = await person.bot_messages()
                if replies:
                    break
                await asyncio.sleep(0.05)
        finally:
            await runner.cleanup()
            await bot.session.close()
    assert seen == ["Çınarlı parkına bank"] and [m.text for m in replies] == ["«Çınarlı parkına bank» alındı"]


@pytest.mark.parametrize(
    ("saved", "telegram", "default", "expected"),
    [
        ("en", "tr", "tr", "en"),
        (None, "en-US", "tr", "en"),
        (None, "de", "tr", "tr"),
        (None, None, "en", "en"),
        ("xx", "tr-TR", "en", "tr"),
    ],
)
def test_pick_language(saved: str | None, telegram: str | None, default: str, expected: str) -> None:
    assert pick_language(saved, telegram, default) == expected
