"""Photos and documents: uploads, reuse by file_id, URLs, getFile and downloads, the person's own files."""

from __future__ import annotations

import base64
import json

import aiohttp

from bot.sandbox.emulator import Emulator
from bot.sandbox.testing import tiny_png
from tests.sandbox.conftest import TOKEN, BotApiCaller


def _photo_form(chat_id: int, data: bytes, field: str = "photo", **extra: str) -> aiohttp.FormData:
    form = aiohttp.FormData()
    form.add_field("chat_id", str(chat_id))
    for key, value in extra.items():
        form.add_field(key, value)
    form.add_field(field, data, filename="picture.png", content_type="image/png")
    return form


async def _download(api: BotApiCaller, path: str) -> tuple[int, bytes]:
    async with api.session.get(f"{api.emulator.url}{path}") as response:
        return response.status, await response.read()


async def test_upload_a_photo_then_get_and_download_it(api: BotApiCaller) -> None:
    person = await api.person()
    image = tiny_png(5, 3)
    message = (
        await api.form(
            "sendPhoto", _photo_form(person["id"], image, caption="<b>Park</b>", parse_mode="HTML")
        )
    ).result
    [size] = message["photo"]
    assert (size["width"], size["height"], size["file_size"]) == (5, 3, len(image))
    assert message["caption"] == "Park" and message["caption_entities"] == [
        {"offset": 0, "length": 4, "type": "bold"}
    ]
    file = (await api("getFile", file_id=size["file_id"])).result
    assert file["file_id"] == size["file_id"] and file["file_path"].startswith("photos/")
    status, body = await _download(api, f"/file/bot{TOKEN}/{file['file_path']}")
    assert status == 200 and body == image
    status, body = await _download(api, f"/sandbox/files/{size['file_id']}")
    assert status == 200 and body == image


async def test_attach_reference_as_aiogram_sends_it(api: BotApiCaller) -> None:
    person = await api.person()
    form = aiohttp.FormData()
    form.add_field("chat_id", str(person["id"]))
    form.add_field("photo", "attach://abc123")
    form.add_field("abc123", tiny_png(), filename="x.png")
    assert (await api.form("sendPhoto", form)).status == 200


async def test_photo_reuse_by_file_id_and_by_url(api: BotApiCaller) -> None:
    person = await api.person()
    first = (await api.form("sendPhoto", _photo_form(person["id"], tiny_png()))).result
    file_id = first["photo"][-1]["file_id"]
    again = (await api("sendPhoto", chat_id=person["id"], photo=file_id)).result
    assert again["photo"][-1]["file_unique_id"] == first["photo"][-1]["file_unique_id"]
    by_url = (await api("sendPhoto", chat_id=person["id"], photo="https://example.org/park.jpg")).result
    url_file_id = by_url["photo"][-1]["file_id"]
    async with api.session.get(
        f"{api.emulator.url}/sandbox/files/{url_file_id}", allow_redirects=False
    ) as response:
        assert response.status == 302 and response.headers["Location"] == "https://example.org/park.jpg"
    wrong = await api("sendPhoto", chat_id=person["id"], photo="no-such-file-id")
    assert (
        wrong.status == 400 and wrong.description == "Bad Request: wrong file identifier/HTTP URL specified"
    )


async def test_not_an_image_and_missing_photo(api: BotApiCaller) -> None:
    person = await api.person()
    bad = await api.form("sendPhoto", _photo_form(person["id"], b"this is text"))
    assert bad.status == 400 and bad.description == "Bad Request: IMAGE_PROCESS_FAILED"
    assert (
        await api("sendPhoto", chat_id=person["id"])
    ).description == "Bad Request: there is no photo in the request"


async def test_caption_limit(api: BotApiCaller) -> None:
    person = await api.person()
    reply = await api.form("sendPhoto", _photo_form(person["id"], tiny_png(), caption="c" * 1025))
    assert reply.status == 400 and reply.description == "Bad Request: message caption is too long"


async def test_documents(api: BotApiCaller) -> None:
    person = await api.person()
    form = aiohttp.FormData()
    form.add_field("chat_id", str(person["id"]))
    form.add_field("document", b"id;title\n1;Park\n", filename="ideas.csv", content_type="text/csv")
    message = (await api.form("sendDocument", form)).result
    document = message["document"]
    assert document["file_name"] == "ideas.csv" and document["mime_type"] == "text/csv"
    file = (await api("getFile", file_id=document["file_id"])).result
    status, body = await _download(api, f"/file/bot{TOKEN}/{file['file_path']}")
    assert body == b"id;title\n1;Park\n"
    photo_as_document = await api("sendPhoto", chat_id=person["id"], photo=document["file_id"])
    assert photo_as_document.description == "Bad Request: type of file mismatch"


async def test_the_persons_photo_can_be_fetched_by_the_bot(api: BotApiCaller, emulator: Emulator) -> None:
    person = await api.person()
    image = tiny_png(4, 4)
    status, sent = await api.client(
        "POST",
        f"/people/{person['id']}/messages",
        {"photo": {"data": base64.b64encode(image).decode()}, "caption": "broken bench", "wait": False},
    )
    assert status == 200, sent
    update = (await api("getUpdates")).result[0]
    photo = update["message"]["photo"][-1]
    assert update["message"]["caption"] == "broken bench" and photo["width"] == 4
    file = (await api("getFile", file_id=photo["file_id"])).result
    status, body = await _download(api, f"/file/bot{TOKEN}/{file['file_path']}")
    assert body == image
    status, body = await _download(api, f"/file/bot{TOKEN}/photos/none.png")
    assert status == 404


async def test_invalid_file_id_for_get_file(api: BotApiCaller) -> None:
    reply = await api("getFile", file_id="nope")
    assert reply.status == 400 and reply.description == "Bad Request: invalid file_id"


async def test_json_body_with_inline_markup_object(api: BotApiCaller) -> None:
    person = await api.person()
    markup = {"inline_keyboard": [[{"text": "Go", "callback_data": "go"}]]}
    message = (await api("sendMessage", chat_id=person["id"], text="native JSON", reply_markup=markup)).result
    assert message["reply_markup"] == markup
    assert json.loads(json.dumps(message))["reply_markup"]["inline_keyboard"][0][0]["text"] == "Go"
