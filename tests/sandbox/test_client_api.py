"""The client API for simulated people: what they can send, press and read."""

from __future__ import annotations

import asyncio
import base64
import json
import time
from typing import Any

from bot.sandbox.testing import tiny_png
from tests.sandbox.conftest import BotApiCaller


async def test_people_get_ids_and_can_be_updated(api: BotApiCaller) -> None:
    first = await api.person("Ayşe", language_code="tr")
    second = await api.person("Mehmet")
    assert (first["id"], second["id"]) == (100_000_001, 100_000_002)
    assert first == {
        "id": 100_000_001,
        "first_name": "Ayşe",
        "last_name": None,
        "username": None,
        "language_code": "tr",
        "blocked": False,
        "started": True,
    }
    renamed = await api.person("Ayşe Nur", id=first["id"], username="aysenur")
    assert renamed["id"] == first["id"] and renamed["username"] == "aysenur"
    status, listing = await api.client("GET", "/people")
    assert [p["first_name"] for p in listing["people"]] == ["Ayşe Nur", "Mehmet"]
    status, error = await api.client("POST", "/people", {"first_name": ""})
    assert status == 400 and "first_name" in error["error"]


async def test_text_with_command_entities(api: BotApiCaller) -> None:
    person = await api.person()
    sent = await api.say(person["id"], "/start ref_42")
    assert sent["message"]["from"] == "person" and sent["handled"] is False
    message = (await api("getUpdates")).result[0]["message"]
    assert message["text"] == "/start ref_42"
    assert message["entities"] == [{"type": "bot_command", "offset": 0, "length": 6}]
    assert message["from"] == {"id": person["id"], "is_bot": False, "first_name": "Ayşe"}
    assert message["chat"] == {"id": person["id"], "type": "private", "first_name": "Ayşe"}


async def test_every_kind_of_message(api: BotApiCaller) -> None:
    person = await api.person("Ayşe", last_name="Kaya")
    pid = person["id"]
    bodies = [
        {"sticker": {"emoji": "👍"}},
        {"contact": {"phone_number": "+905551112233"}},
        {"contact": {"phone_number": "+905550000000", "first_name": "Mehmet", "user_id": 100_000_077}},
        {"location": {"latitude": 38.42, "longitude": 27.14}},
        {"document": {"data": base64.b64encode(b"a,b").decode(), "filename": "x.csv"}},
        {"photo": {"data": base64.b64encode(tiny_png()).decode()}, "caption": "look"},
    ]
    for body in bodies:
        status, sent = await api.client("POST", f"/people/{pid}/messages", {**body, "wait": False})
        assert status == 200, sent
    messages = [u["message"] for u in (await api("getUpdates")).result]
    assert messages[0]["sticker"]["emoji"] == "👍" and messages[0]["sticker"]["type"] == "regular"
    assert messages[1]["contact"] == {
        "phone_number": "+905551112233",
        "first_name": "Ayşe",
        "last_name": "Kaya",
        "user_id": pid,
    }
    assert messages[2]["contact"] == {
        "phone_number": "+905550000000",
        "first_name": "Mehmet",
        "user_id": 100_000_077,
    }
    assert messages[3]["location"] == {"latitude": 38.42, "longitude": 27.14}
    assert (
        messages[4]["document"]["file_name"] == "x.csv" and messages[4]["document"]["mime_type"] == "text/csv"
    )
    assert messages[5]["photo"][0]["width"] == 2 and messages[5]["caption"] == "look"


async def test_message_body_must_have_exactly_one_kind(api: BotApiCaller) -> None:
    person = await api.person()
    for body in [
        {},
        {"text": "a", "sticker": {"emoji": "x"}},
        {"text": "   "},
        {"photo": {"data": "bm90IGFuIGltYWdl"}},
    ]:
        status, error = await api.client("POST", f"/people/{person['id']}/messages", {**body, "wait": False})
        assert status == 400, body
        assert error["error"]
    status, error = await api.client("POST", "/people/5/messages", {"text": "x"})
    assert status == 404


async def test_press_needs_an_existing_message_but_not_matching_data(api: BotApiCaller) -> None:
    person = await api.person()
    sent = (await api("sendMessage", chat_id=person["id"], text="q")).result
    status, pressed = await api.client(
        "POST",
        f"/people/{person['id']}/callbacks",
        {"message_id": sent["message_id"], "data": "forged:1", "wait": False},
    )
    assert status == 200 and pressed["answer"] is None
    status, error = await api.client(
        "POST", f"/people/{person['id']}/callbacks", {"message_id": 999, "data": "x", "wait": False}
    )
    assert status == 400


async def test_chat_shows_edits_and_deletions_and_long_polls(api: BotApiCaller) -> None:
    person = await api.person()
    pid = person["id"]
    await api.say(pid, "hello")
    keep = (await api("sendMessage", chat_id=pid, text="<b>one</b>", parse_mode="HTML")).result
    gone = (await api("sendMessage", chat_id=pid, text="two")).result
    await api("editMessageText", chat_id=pid, message_id=keep["message_id"], text="one, edited")
    await api("deleteMessage", chat_id=pid, message_id=gone["message_id"])
    status, view = await api.client("GET", f"/people/{pid}/chat")
    assert [(m["from"], m["text"], m["edited"]) for m in view["messages"]] == [
        ("person", "hello", False),
        ("bot", "one, edited", True),
    ]
    version = view["version"]

    started = time.monotonic()
    status, same = await api.client("GET", f"/people/{pid}/chat?since={version}&wait=0.3")
    assert same["version"] == version and time.monotonic() - started >= 0.25

    waiting = asyncio.create_task(api.client("GET", f"/people/{pid}/chat?since={version}&wait=10"))
    await asyncio.sleep(0.1)
    assert not waiting.done()
    await api("sendMessage", chat_id=pid, text="three")
    status, newer = await asyncio.wait_for(waiting, 5)
    assert newer["version"] > version and newer["messages"][-1]["text"] == "three"


async def test_bot_endpoint_and_reset(api: BotApiCaller) -> None:
    status, bot = await api.client("GET", "/bot")
    assert bot == {
        "id": 123456789,
        "username": "meydan_sandbox_bot",
        "first_name": "Meydan",
        "delivery": None,
        "webhook_url": None,
    }
    person = await api.person()
    await api.say(person["id"], "x")
    await api("getUpdates", timeout=0)
    status, bot = await api.client("GET", "/bot")
    assert bot["delivery"] == "polling"
    status, _ = await api.client("POST", "/reset", {})
    assert status == 200
    status, listing = await api.client("GET", "/people")
    assert listing["people"] == []
    assert (await api("getUpdates")).result == []
    assert (
        await api("sendMessage", chat_id=person["id"], text="x")
    ).description == "Bad Request: chat not found"


async def test_bot_descriptions_for_a_language(api: BotApiCaller) -> None:
    await api("setMyDescription", description="What this bot does")
    await api("setMyDescription", description="Bu bot ne yapar", language_code="tr")
    await api("setMyShortDescription", short_description="Civic votes")
    status, bot = await api.client("GET", "/bot?language=tr")
    assert status == 200
    assert (bot["language"], bot["name"], bot["description"], bot["short_description"]) == (
        "tr",
        "Meydan",
        "Bu bot ne yapar",
        "Civic votes",
    )
    status, bot = await api.client("GET", "/bot?language=")
    assert (bot["description"], bot["short_description"]) == ("What this bot does", "Civic votes")
    status, bot = await api.client("GET", "/bot")
    assert "description" not in bot


async def test_the_bot_as_a_person_sees_it(api: BotApiCaller) -> None:
    """Descriptions in the person's language; commands along Telegram's scope and language order."""
    ayse = await api.person("Ayşe", language_code="tr")
    john = await api.person("John", language_code="en")
    nobody = await api.person("Nobody")

    def commands(*names: str) -> str:
        return json.dumps([{"command": n, "description": f"{n} text"} for n in names])

    async def seen(person: dict[str, Any]) -> list[str]:
        status, view = await api.client("GET", f"/people/{person['id']}/bot")
        assert status == 200, view
        return [c["command"] for c in view["commands"]]

    assert await seen(ayse) == []
    await api("setMyCommands", commands=commands("start"))
    assert (await seen(ayse), await seen(john), await seen(nobody)) == (["start"], ["start"], ["start"])
    await api("setMyCommands", commands=commands("start_tr"), language_code="tr")
    assert (await seen(ayse), await seen(john)) == (["start_tr"], ["start"])
    private = json.dumps({"type": "all_private_chats"})
    await api("setMyCommands", commands=commands("private"), scope=private)
    # all_private_chats without a language beats the default scope in the person's language
    assert (await seen(ayse), await seen(john)) == (["private"], ["private"])
    await api("setMyCommands", commands=commands("private_tr"), scope=private, language_code="tr")
    assert (await seen(ayse), await seen(john), await seen(nobody)) == (
        ["private_tr"],
        ["private"],
        ["private"],
    )
    await api("setMyCommands", commands=commands("groups"), scope=json.dumps({"type": "all_group_chats"}))
    assert await seen(john) == ["private"]
    chat = json.dumps({"type": "chat", "chat_id": john["id"]})
    await api("setMyCommands", commands=commands("john"), scope=chat)
    assert (await seen(ayse), await seen(john)) == (["private_tr"], ["john"])
    await api("deleteMyCommands", scope=private)
    await api("deleteMyCommands", scope=chat)
    assert (await seen(ayse), await seen(john)) == (["private_tr"], ["start"])

    await api("setMyDescription", description="Default description")
    await api("setMyDescription", description="Türkçe açıklama", language_code="tr")
    await api("setMyShortDescription", short_description="Kısa", language_code="tr")
    await api("setChatMenuButton", menu_button=json.dumps({"type": "default"}))
    status, view = await api.client("GET", f"/people/{ayse['id']}/bot")
    assert view == {
        "id": 123456789,
        "username": "meydan_sandbox_bot",
        "language": "tr",
        "name": "Meydan",
        "description": "Türkçe açıklama",
        "short_description": "Kısa",
        "commands": [{"command": "private_tr", "description": "private_tr text"}],
        "menu_button": {"type": "commands"},
    }
    status, view = await api.client("GET", f"/people/{john['id']}/bot")
    assert (view["language"], view["description"], view["short_description"]) == (
        "en",
        "Default description",
        "",
    )
    status, missing = await api.client("GET", "/people/5/bot")
    assert status == 404 and missing == {"error": "no such person"}


async def test_groups(api: BotApiCaller) -> None:
    ayse = await api.person("Ayşe")
    status, group = await api.client("POST", "/groups", {"title": "Staff", "members": [ayse["id"]]})
    assert status == 200 and group["id"] < 0 and group["members"] == [ayse["id"]]
    sent = (await api("sendMessage", chat_id=group["id"], text="New idea to review")).result
    assert sent["chat"] == {"id": group["id"], "type": "supergroup", "title": "Staff"}
    status, posted = await api.client(
        "POST", f"/groups/{group['id']}/messages", {"person_id": ayse["id"], "text": "on it", "wait": False}
    )
    update = (await api("getUpdates")).result[0]["message"]
    assert update["chat"]["id"] == group["id"] and update["from"]["id"] == ayse["id"]
    status, view = await api.client("GET", f"/groups/{group['id']}/chat")
    assert [m["text"] for m in view["messages"]] == ["New idea to review", "on it"]
    member = (await api("getChatMember", chat_id=group["id"], user_id=ayse["id"])).result
    assert member["status"] == "member"


async def test_messages_carry_sent_and_edited_times() -> None:
    import time

    from aiogram import Bot
    from aiogram.client.session.aiohttp import AiohttpSession

    from bot.sandbox.testing import Sandbox

    async with Sandbox() as sb:
        person = await sb.person("Ayşe")
        bot = Bot(sb.token, session=AiohttpSession(api=sb.api_server()))
        try:
            before = time.time()
            sent = await bot.send_message(person.id, "one")
            message = (await person.bot_messages())[-1]
            assert before <= message.sent_at <= time.time() and message.edited_at is None
            await bot.edit_message_text("two", chat_id=person.id, message_id=sent.message_id)
            edited = (await person.bot_messages())[-1]
            assert edited.edited_at is not None and edited.edited_at >= edited.sent_at
        finally:
            await bot.session.close()
