"""The Bot API methods: result shapes, Telegram's checks and its error messages."""

from __future__ import annotations

import base64
import json

import aiohttp
import pytest

from bot.sandbox.emulator import Emulator
from bot.sandbox.testing import tiny_png
from tests.sandbox.conftest import TOKEN, BotApiCaller


async def test_get_me(api: BotApiCaller) -> None:
    me = (await api("getMe")).result
    assert me["id"] == 123456789 and me["is_bot"] is True
    assert me["username"] == "meydan_sandbox_bot" and me["first_name"] == "Meydan"


async def test_method_names_are_case_insensitive_and_get_works(api: BotApiCaller, emulator: Emulator) -> None:
    async with api.session.get(f"{emulator.url}/bot{TOKEN}/GETME") as response:
        assert (await response.json())["result"]["id"] == 123456789


async def test_wrong_token_is_401_and_unknown_method_404(api: BotApiCaller, emulator: Emulator) -> None:
    async with api.session.post(f"{emulator.url}/bot123456789:AAother-token-here/getMe") as response:
        assert response.status == 401
        assert await response.json() == {"ok": False, "error_code": 401, "description": "Unauthorized"}
    reply = await api("sendCarrierPigeon", chat_id=1)
    assert reply.status == 404
    assert reply.body == {"ok": False, "error_code": 404, "description": "Not Found"}


async def test_first_well_formed_token_becomes_the_bot() -> None:
    emu = Emulator()
    await emu.start()
    try:
        async with aiohttp.ClientSession() as session:
            async with session.get(f"{emu.url}/botnot-a-token/getMe") as response:
                assert response.status == 401
            async with session.get(f"{emu.url}/bot555:AAAAAAAAAAAA/getMe") as response:
                assert (await response.json())["result"]["id"] == 555
            async with session.get(f"{emu.url}/bot556:AAAAAAAAAAAA/getMe") as response:
                assert response.status == 401
    finally:
        await emu.stop()


async def test_send_message_result_shape(api: BotApiCaller) -> None:
    person = await api.person("Ayşe", last_name="Yılmaz", username="ayse", language_code="tr")
    message = (await api("sendMessage", chat_id=person["id"], text="Merhaba")).result
    assert message["message_id"] == 1 and isinstance(message["date"], int)
    assert message["chat"] == {
        "id": person["id"],
        "type": "private",
        "first_name": "Ayşe",
        "last_name": "Yılmaz",
        "username": "ayse",
    }
    assert message["from"]["is_bot"] is True and message["text"] == "Merhaba"
    assert "entities" not in message
    second = (await api("sendMessage", chat_id=str(person["id"]), text="again")).result
    assert second["message_id"] == 2  # message ids count per chat


async def test_unknown_chat_and_missing_chat_id(api: BotApiCaller) -> None:
    assert (await api("sendMessage", chat_id=42, text="x")).description == "Bad Request: chat not found"
    assert (await api("sendMessage", text="x")).description == "Bad Request: chat_id is empty"


async def test_person_who_never_started_the_bot_cannot_be_messaged(api: BotApiCaller) -> None:
    person = await api.person("Stranger", started=False)
    reply = await api("sendMessage", chat_id=person["id"], text="hello?")
    assert reply.status == 403
    assert reply.description == "Forbidden: bot can't initiate conversation with a user"
    await api.say(person["id"], "/start")
    assert (await api("sendMessage", chat_id=person["id"], text="hello")).status == 200


async def test_html_becomes_text_and_utf16_entities(api: BotApiCaller) -> None:
    person = await api.person()
    html = '😀 <b>Kalın</b> &lt;tag&gt; <a href="https://meydan.example/?a=1&amp;b=2">link</a>'
    message = (await api("sendMessage", chat_id=person["id"], text=html, parse_mode="HTML")).result
    assert message["text"] == "😀 Kalın <tag> link"
    assert message["entities"] == [
        {"offset": 3, "length": 5, "type": "bold"},
        {"offset": 15, "length": 4, "type": "text_link", "url": "https://meydan.example/?a=1&b=2"},
    ]


@pytest.mark.parametrize(
    ("text", "description"),
    [
        ("Score < 5", 'Unsupported start tag "" at byte offset 6'),
        ("<b>bold", 'Can\'t find end tag corresponding to start tag "b"'),
        ("<b>x</i>", 'Unmatched end tag at byte offset 4, expected "</b>", found "</i>"'),
        ("Ayşe <script>", 'Unsupported start tag "script" at byte offset 6'),
    ],
)
async def test_bad_html_is_400(api: BotApiCaller, text: str, description: str) -> None:
    person = await api.person()
    reply = await api("sendMessage", chat_id=person["id"], text=text, parse_mode="HTML")
    assert reply.status == 400
    assert reply.description == f"Bad Request: can't parse entities: {description}"


async def test_markdown_v2_needs_escaping(api: BotApiCaller) -> None:
    person = await api.person()
    ok = (
        await api("sendMessage", chat_id=person["id"], text="*Oy* verildi\\.", parse_mode="MarkdownV2")
    ).result
    assert ok["text"] == "Oy verildi." and ok["entities"] == [{"type": "bold", "offset": 0, "length": 2}]
    bad = await api("sendMessage", chat_id=person["id"], text="Oy verildi.", parse_mode="MarkdownV2")
    assert bad.status == 400 and "Character '.' is reserved" in bad.description


async def test_explicit_entities_are_kept(api: BotApiCaller) -> None:
    person = await api.person()
    entities = [{"type": "italic", "offset": 0, "length": 3}]
    message = (
        await api("sendMessage", chat_id=person["id"], text="abc def", entities=json.dumps(entities))
    ).result
    assert message["entities"] == entities


async def test_text_length_is_counted_after_entity_parsing(api: BotApiCaller) -> None:
    person = await api.person()
    at_limit = "<b>" + "x" * 4096 + "</b>"
    assert (await api("sendMessage", chat_id=person["id"], text=at_limit, parse_mode="HTML")).status == 200
    too_long = await api("sendMessage", chat_id=person["id"], text="x" * 4097)
    assert too_long.status == 400 and too_long.description == "Bad Request: message is too long"
    empty = await api("sendMessage", chat_id=person["id"], text="  <b> </b> ", parse_mode="HTML")
    assert empty.description == "Bad Request: message text is empty"


async def test_text_is_trimmed_like_telegram(api: BotApiCaller) -> None:
    person = await api.person()
    message = (
        await api("sendMessage", chat_id=person["id"], text="\n  <b>hi</b>  \n", parse_mode="HTML")
    ).result
    assert message["text"] == "hi" and message["entities"] == [{"offset": 0, "length": 2, "type": "bold"}]


def _inline(*buttons: dict[str, str]) -> str:
    return json.dumps({"inline_keyboard": [list(buttons)]})


async def test_inline_keyboard_rules(api: BotApiCaller) -> None:
    person = await api.person()
    chat = person["id"]
    ok = await api(
        "sendMessage", chat_id=chat, text="k", reply_markup=_inline({"text": "A", "callback_data": "x" * 64})
    )
    assert ok.result["reply_markup"]["inline_keyboard"][0][0]["callback_data"] == "x" * 64
    too_long = await api(
        "sendMessage", chat_id=chat, text="k", reply_markup=_inline({"text": "A", "callback_data": "ş" * 33})
    )
    assert too_long.status == 400 and too_long.description == "Bad Request: BUTTON_DATA_INVALID"
    empty_data = await api(
        "sendMessage", chat_id=chat, text="k", reply_markup=_inline({"text": "A", "callback_data": ""})
    )
    assert empty_data.description == "Bad Request: BUTTON_DATA_INVALID"
    no_action = await api("sendMessage", chat_id=chat, text="k", reply_markup=_inline({"text": "A"}))
    assert (
        no_action.status == 400
        and "Text buttons are unallowed in the inline keyboard" in no_action.description
    )
    two_actions = await api(
        "sendMessage",
        chat_id=chat,
        text="k",
        reply_markup=_inline({"text": "A", "callback_data": "a", "url": "https://x.y"}),
    )
    assert two_actions.status == 400
    no_text = await api(
        "sendMessage", chat_id=chat, text="k", reply_markup=_inline({"text": " ", "callback_data": "a"})
    )
    assert no_text.status == 400
    bad_url = await api(
        "sendMessage", chat_id=chat, text="k", reply_markup=_inline({"text": "A", "url": "javascript:x"})
    )
    assert bad_url.description == "Bad Request: BUTTON_URL_INVALID"


async def test_reply_keyboards(api: BotApiCaller) -> None:
    person = await api.person()
    markup = {
        "keyboard": [
            ["Plain"],
            [{"text": "Phone", "request_contact": True}, {"text": "Where", "request_location": True}],
        ],
        "resize_keyboard": True,
        "one_time_keyboard": True,
    }
    message = (
        await api("sendMessage", chat_id=person["id"], text="k", reply_markup=json.dumps(markup))
    ).result
    assert "reply_markup" not in message  # Telegram returns only inline keyboards in Message
    status, chat = await api.client("GET", f"/people/{person['id']}/chat")
    assert chat["keyboard"]["keyboard"][0] == [{"text": "Plain"}]
    assert chat["keyboard"]["resize_keyboard"] is True
    await api(
        "sendMessage", chat_id=person["id"], text="gone", reply_markup=json.dumps({"remove_keyboard": True})
    )
    status, chat = await api.client("GET", f"/people/{person['id']}/chat")
    assert chat["keyboard"] is None
    force = await api(
        "sendMessage", chat_id=person["id"], text="?", reply_markup=json.dumps({"force_reply": True})
    )
    assert force.status == 200
    both = {"keyboard": [[{"text": "x", "request_contact": True, "request_location": True}]]}
    assert (
        await api("sendMessage", chat_id=person["id"], text="k", reply_markup=json.dumps(both))
    ).status == 400
    assert (await api("sendMessage", chat_id=person["id"], text="k", reply_markup="{not json")).status == 400


async def test_edit_message_text(api: BotApiCaller) -> None:
    person = await api.person()
    chat = person["id"]
    keyboard = _inline({"text": "A", "callback_data": "a"})
    sent = (await api("sendMessage", chat_id=chat, text="before", reply_markup=keyboard)).result
    same = await api(
        "editMessageText", chat_id=chat, message_id=sent["message_id"], text="before", reply_markup=keyboard
    )
    assert same.status == 400
    assert same.description.startswith("Bad Request: message is not modified: specified new message content")
    edited = (
        await api(
            "editMessageText",
            chat_id=chat,
            message_id=sent["message_id"],
            text="<i>after</i>",
            parse_mode="HTML",
        )
    ).result
    assert edited["text"] == "after" and "edit_date" in edited
    assert "reply_markup" not in edited  # an edit without reply_markup drops the inline keyboard
    status, view = await api.client("GET", f"/people/{chat}/chat")
    assert view["messages"][-1]["text"] == "after" and view["messages"][-1]["edited"] is True
    assert view["messages"][-1]["html"] == "<i>after</i>"
    missing = await api("editMessageText", chat_id=chat, message_id=999, text="x")
    assert missing.status == 400 and missing.description == "Bad Request: message to edit not found"
    too_long = await api("editMessageText", chat_id=chat, message_id=sent["message_id"], text="y" * 4097)
    assert too_long.description == "Bad Request: message is too long"


async def test_edit_reply_markup_and_caption(api: BotApiCaller) -> None:
    person = await api.person()
    chat = person["id"]
    sent = (
        await api(
            "sendMessage", chat_id=chat, text="t", reply_markup=_inline({"text": "A", "callback_data": "a"})
        )
    ).result
    new = _inline({"text": "B", "callback_data": "b"})
    edited = (
        await api("editMessageReplyMarkup", chat_id=chat, message_id=sent["message_id"], reply_markup=new)
    ).result
    assert edited["reply_markup"]["inline_keyboard"][0][0]["text"] == "B"
    again = await api("editMessageReplyMarkup", chat_id=chat, message_id=sent["message_id"], reply_markup=new)
    assert again.status == 400 and "message is not modified" in again.description
    no_caption = await api("editMessageCaption", chat_id=chat, message_id=sent["message_id"], caption="c")
    assert no_caption.description == "Bad Request: there is no caption in the message to edit"

    form = aiohttp.FormData()
    form.add_field("chat_id", str(chat))
    form.add_field("caption", "first")
    form.add_field("photo", tiny_png(), filename="p.png", content_type="image/png")
    photo = (await api.form("sendPhoto", form)).result
    captioned = (
        await api(
            "editMessageCaption",
            chat_id=chat,
            message_id=photo["message_id"],
            caption="<b>second</b>",
            parse_mode="HTML",
        )
    ).result
    assert captioned["caption"] == "second" and captioned["caption_entities"][0]["type"] == "bold"
    no_text = await api("editMessageText", chat_id=chat, message_id=photo["message_id"], text="x")
    assert no_text.description == "Bad Request: there is no text in the message to edit"


async def test_person_messages_cannot_be_edited_but_can_be_deleted(api: BotApiCaller) -> None:
    person = await api.person()
    sent = await api.say(person["id"], "mine")
    message_id = sent["message"]["message_id"]
    edit = await api("editMessageText", chat_id=person["id"], message_id=message_id, text="x")
    assert edit.description == "Bad Request: message can't be edited"
    assert (await api("deleteMessage", chat_id=person["id"], message_id=message_id)).result is True
    again = await api("deleteMessage", chat_id=person["id"], message_id=message_id)
    assert again.status == 400 and again.description == "Bad Request: message to delete not found"
    status, view = await api.client("GET", f"/people/{person['id']}/chat")
    assert view["messages"] == []


async def test_delete_messages_in_bulk(api: BotApiCaller) -> None:
    person = await api.person()
    ids = [
        (await api("sendMessage", chat_id=person["id"], text=str(i))).result["message_id"] for i in range(3)
    ]
    assert (
        await api("deleteMessages", chat_id=person["id"], message_ids=json.dumps(ids[:2] + [99]))
    ).result is True
    status, view = await api.client("GET", f"/people/{person['id']}/chat")
    assert [m["text"] for m in view["messages"]] == ["2"]


async def test_blocked_person_gives_403_until_unblocked(api: BotApiCaller) -> None:
    person = await api.person()
    sent = (await api("sendMessage", chat_id=person["id"], text="hi")).result
    status, blocked = await api.client(
        "POST", f"/people/{person['id']}/block", {"blocked": True, "wait": False}
    )
    assert blocked["blocked"] is True
    for method, params in [
        ("sendMessage", {"text": "x"}),
        ("sendChatAction", {"action": "typing"}),
        ("editMessageText", {"message_id": sent["message_id"], "text": "y"}),
    ]:
        reply = await api(method, chat_id=person["id"], **params)
        assert reply.status == 403, method
        assert reply.body == {
            "ok": False,
            "error_code": 403,
            "description": "Forbidden: bot was blocked by the user",
        }
    await api.client("POST", f"/people/{person['id']}/block", {"blocked": False, "wait": False})
    assert (await api("sendMessage", chat_id=person["id"], text="back")).status == 200
    kinds = [(u["my_chat_member"]["new_chat_member"]["status"]) for u in (await api("getUpdates")).result]
    assert kinds == ["kicked", "member"]


async def test_sending_a_message_unblocks(api: BotApiCaller) -> None:
    person = await api.person()
    await api.client("POST", f"/people/{person['id']}/block", {"blocked": True, "wait": False})
    await api.say(person["id"], "/start")
    assert (await api("sendMessage", chat_id=person["id"], text="welcome back")).status == 200


async def test_answer_callback_query(api: BotApiCaller) -> None:
    person = await api.person()
    sent = (
        await api(
            "sendMessage",
            chat_id=person["id"],
            text="q",
            reply_markup=_inline({"text": "A", "callback_data": "a"}),
        )
    ).result
    status, press = await api.client(
        "POST",
        f"/people/{person['id']}/callbacks",
        {"message_id": sent["message_id"], "data": "a", "wait": False},
    )
    update = (await api("getUpdates")).result[0]
    query = update["callback_query"]
    assert query["id"] == press["callback_query_id"] and query["data"] == "a"
    assert query["message"]["message_id"] == sent["message_id"] and query["chat_instance"].isdigit()
    assert query["from"]["id"] == person["id"]
    assert (
        await api("answerCallbackQuery", callback_query_id=query["id"], text="Saved", show_alert=True)
    ).result
    twice = await api("answerCallbackQuery", callback_query_id=query["id"])
    assert twice.status == 400 and "query ID is invalid" in twice.description
    unknown = await api("answerCallbackQuery", callback_query_id="123")
    assert unknown.status == 400


async def test_commands_per_scope_and_language(api: BotApiCaller) -> None:
    commands = [{"command": "start", "description": "Başla"}, {"command": "help", "description": "Yardım"}]
    assert (await api("setMyCommands", commands=json.dumps(commands), language_code="tr")).result is True
    assert (await api("getMyCommands", language_code="tr")).result == commands
    assert (await api("getMyCommands")).result == []
    bad = await api("setMyCommands", commands=json.dumps([{"command": "Bad-Name", "description": "x"}]))
    assert bad.status == 400 and bad.description == "Bad Request: BOT_COMMAND_INVALID"
    assert (await api("deleteMyCommands", language_code="tr")).result is True
    assert (await api("getMyCommands", language_code="tr")).result == []


async def test_empty_command_list_removes_the_scope(api: BotApiCaller) -> None:
    commands = [{"command": "help", "description": "Help"}]
    scope = json.dumps({"type": "chat", "chat_id": "100000001"})
    assert (await api("setMyCommands", commands=json.dumps(commands), scope=scope)).result is True
    same_chat = json.dumps({"type": "chat", "chat_id": 100000001})
    assert (await api("getMyCommands", scope=same_chat)).result == commands  # "100000001" is the same chat
    assert (await api("setMyCommands", commands="[]", scope=scope)).result is True
    assert (await api("getMyCommands", scope=same_chat)).result == []


@pytest.mark.parametrize(
    ("setter", "getter", "field"),
    [
        ("setMyDescription", "getMyDescription", "description"),
        ("setMyShortDescription", "getMyShortDescription", "short_description"),
    ],
)
async def test_descriptions_per_language(api: BotApiCaller, setter: str, getter: str, field: str) -> None:
    assert (await api(getter)).result == {field: ""}
    assert (await api(getter, language_code="tr")).result == {field: ""}
    assert (await api(setter, **{field: "Votes and ideas for your city"})).result is True
    assert (
        await api(setter, **{field: "Şehriniz için oylar ve fikirler"}, language_code="tr")
    ).result is True
    assert (await api(getter)).result == {field: "Votes and ideas for your city"}
    assert (await api(getter, language_code="tr")).result == {field: "Şehriniz için oylar ve fikirler"}
    # A language without its own value gets the default one.
    assert (await api(getter, language_code="fr")).result == {field: "Votes and ideas for your city"}
    # An empty string removes the value for that language only.
    assert (await api(setter, **{field: ""}, language_code="tr")).result is True
    assert (await api(getter, language_code="tr")).result == {field: "Votes and ideas for your city"}
    assert (await api(setter, language_code="tr")).result is True  # omitted is empty too
    assert (await api(setter, **{field: "Yeni"}, language_code="tr")).result is True
    assert (await api(setter)).result is True
    assert (await api(getter)).result == {field: ""}
    assert (await api(getter, language_code="tr")).result == {field: "Yeni"}
    limit = {"description": 512, "short_description": 120}[field]
    assert (await api(setter, **{field: "x" * limit})).result is True
    too_long = await api(setter, **{field: "x" * (limit + 1)})
    assert too_long.status == 400 and too_long.description == f"Bad Request: {field.upper()}_INVALID"


async def test_name_per_language_falls_back_to_the_bots_name(api: BotApiCaller) -> None:
    assert (await api("getMyName", language_code="tr")).result == {"name": "Meydan"}
    assert (await api("setMyName", name="Meydan TR", language_code="tr")).result is True
    assert (await api("getMyName", language_code="tr")).result == {"name": "Meydan TR"}
    assert (await api("getMyName")).result == {"name": "Meydan"}
    assert (await api("setMyName", name="", language_code="tr")).result is True
    assert (await api("getMyName", language_code="tr")).result == {"name": "Meydan"}


async def test_chat_action(api: BotApiCaller) -> None:
    person = await api.person()
    assert (await api("sendChatAction", chat_id=person["id"], action="typing")).result is True
    bad = await api("sendChatAction", chat_id=person["id"], action="dancing")
    assert bad.status == 400


async def test_send_location(api: BotApiCaller) -> None:
    person = await api.person()
    message = (await api("sendLocation", chat_id=person["id"], latitude=38.42, longitude=27.14)).result
    assert message["location"] == {"latitude": 38.42, "longitude": 27.14}
    assert (await api("sendLocation", chat_id=person["id"], latitude=91, longitude=0)).status == 400


async def test_reply_to_a_message(api: BotApiCaller) -> None:
    person = await api.person()
    sent = await api.say(person["id"], "question")
    reply = (
        await api(
            "sendMessage",
            chat_id=person["id"],
            text="answer",
            reply_parameters=json.dumps({"message_id": sent["message"]["message_id"]}),
        )
    ).result
    assert reply["reply_to_message"]["text"] == "question"
    missing = await api("sendMessage", chat_id=person["id"], text="a", reply_to_message_id=77)
    assert missing.description == "Bad Request: message to be replied not found"


async def test_get_chat_and_member(api: BotApiCaller) -> None:
    person = await api.person()
    chat = (await api("getChat", chat_id=person["id"])).result
    assert chat["id"] == person["id"] and chat["type"] == "private"
    member = (await api("getChatMember", chat_id=person["id"], user_id=person["id"])).result
    assert member["status"] == "member" and member["user"]["id"] == person["id"]


async def test_copy_and_forward_a_persons_photo_to_the_staff_group(api: BotApiCaller) -> None:
    person = await api.person("Ayşe")
    png = base64.b64encode(tiny_png()).decode()
    status, sent = await api.client(
        "POST",
        f"/people/{person['id']}/messages",
        {"photo": {"data": png}, "caption": "broken bench", "wait": False},
    )
    status, group = await api.client("POST", "/groups", {"title": "Staff"})
    message_id = sent["message"]["message_id"]
    copied = (
        await api(
            "copyMessage",
            chat_id=group["id"],
            from_chat_id=person["id"],
            message_id=message_id,
            caption="Report #1",
        )
    ).result
    forwarded = (
        await api("forwardMessage", chat_id=group["id"], from_chat_id=person["id"], message_id=message_id)
    ).result
    assert set(copied) == {"message_id"}
    assert (
        forwarded["forward_origin"]["sender_user"]["id"] == person["id"]
        and forwarded["caption"] == "broken bench"
    )
    status, view = await api.client("GET", f"/groups/{group['id']}/chat")
    assert [
        (m["caption"], m["photo"]["file_id"] == sent["message"]["photo"]["file_id"]) for m in view["messages"]
    ] == [
        ("Report #1", True),
        ("broken bench", True),
    ]
    missing = await api("copyMessage", chat_id=group["id"], from_chat_id=person["id"], message_id=99)
    assert missing.description == "Bad Request: message to copy not found"
