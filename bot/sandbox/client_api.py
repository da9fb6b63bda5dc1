"""The client API under ``/sandbox/api``: simulated people send messages, press buttons and read their chat."""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import mimetypes
import re
import secrets
import time
from typing import TYPE_CHECKING, Any

from aiohttp import web

from bot.sandbox.botapi import CallbackRecord
from bot.sandbox.files import FileRecord, image_info
from bot.sandbox.html import utf16_len
from bot.sandbox.state import ChatState, PersonState, StoredMessage, now
from bot.sandbox.updates import PendingUpdate

if TYPE_CHECKING:
    from bot.sandbox.emulator import Emulator

COMMAND_RE = re.compile(r"(?<![\w/])/[A-Za-z0-9_]{1,32}(?:@[A-Za-z0-9_]{3,32})?(?![\w/])")
MESSAGE_KINDS = ("text", "photo", "sticker", "contact", "location", "document")
MAX_CHAT_WAIT = 60.0


def client_error(status: int, message: str) -> web.HTTPException:
    """A client API error: ``{"error": "..."}`` with status 400 or 404."""
    error_class = web.HTTPNotFound if status == 404 else web.HTTPBadRequest
    return error_class(
        text=json.dumps({"error": message}, ensure_ascii=False), content_type="application/json"
    )


def command_entities(text: str) -> list[dict[str, Any]]:
    entities = []
    for match in COMMAND_RE.finditer(text):
        entities.append(
            {
                "type": "bot_command",
                "offset": utf16_len(text[: match.start()]),
                "length": utf16_len(match.group(0)),
            }
        )
    return entities


def _decode(data: Any, what: str) -> bytes:
    if not isinstance(data, str):
        raise client_error(400, f"{what}.data must be base64 text")
    try:
        return base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError):
        raise client_error(400, f"{what}.data is not valid base64") from None


def _float(value: Any, name: str, low: float, high: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
        raise client_error(400, f"{name} must be a number between {low} and {high}")
    return float(value)


class ClientApi:
    def __init__(self, emulator: Emulator) -> None:
        self.emu = emulator
        self._stickers: dict[str, FileRecord] = {}
        self._closing = asyncio.Event()

    def close(self) -> None:
        self._closing.set()

    def add_routes(self, app: web.Application) -> None:
        r = app.router
        r.add_get("/sandbox/api/bot", self.bot)
        r.add_get("/sandbox/api/people", self.list_people)
        r.add_post("/sandbox/api/people", self.create_person)
        r.add_get(r"/sandbox/api/people/{id:-?\d+}", self.get_person)
        r.add_post(r"/sandbox/api/people/{id:-?\d+}/messages", self.send_message)
        r.add_post(r"/sandbox/api/people/{id:-?\d+}/callbacks", self.press_button)
        r.add_post(r"/sandbox/api/people/{id:-?\d+}/block", self.block)
        r.add_get(r"/sandbox/api/people/{id:-?\d+}/chat", self.chat)
        r.add_get(r"/sandbox/api/people/{id:-?\d+}/bot", self.bot_for_person)
        r.add_get("/sandbox/api/groups", self.list_groups)
        r.add_post("/sandbox/api/groups", self.create_group)
        r.add_get(r"/sandbox/api/groups/{id:-?\d+}/chat", self.group_chat)
        r.add_post(r"/sandbox/api/groups/{id:-?\d+}/messages", self.group_message)
        r.add_post("/sandbox/api/reset", self.reset)
        r.add_get("/sandbox/files/{file_id}", self.file)

    # helpers --------------------------------------------------------------------------------------
    def _person(self, request: web.Request) -> PersonState:
        person = self.emu.world.people.get(int(request.match_info["id"]))
        if person is None:
            raise client_error(404, "no such person")
        return person

    def _group(self, request: web.Request) -> ChatState:
        chat = self.emu.world.chats.get(int(request.match_info["id"]))
        if chat is None or chat.person is not None:
            raise client_error(404, "no such group")
        return chat

    @staticmethod
    async def _body(request: web.Request) -> dict[str, Any]:
        if not request.can_read_body:
            return {}
        try:
            body = await request.json()
        except ValueError:
            raise client_error(400, "the body must be a JSON object") from None
        if not isinstance(body, dict):
            raise client_error(400, "the body must be a JSON object")
        return body

    async def wait_handled(self, update: PendingUpdate, timeout: float) -> bool:
        """Until the bot has handled ``update`` and finished what it does in answer (see ``Activity``)."""
        deadline = time.monotonic() + max(0.0, timeout)
        try:
            handled = await asyncio.wait_for(asyncio.shield(update.done), max(0.0, timeout))
        except TimeoutError:
            return False
        if handled:
            activity = self.emu.activity
            if update.handled_in_request:
                await activity.chat_settled(update.chat_id, deadline)
            else:
                await activity.idle(self.emu.settle, deadline)
        return handled

    @staticmethod
    def _wait_options(body: dict[str, Any]) -> tuple[bool, float]:
        wait = body.get("wait", True)
        timeout = body.get("timeout", 10.0)
        if not isinstance(timeout, int | float) or isinstance(timeout, bool) or timeout < 0:
            raise client_error(400, "timeout must be a non-negative number of seconds")
        return bool(wait), float(timeout)

    def _member_update(self, person: PersonState, old: str, new: str) -> PendingUpdate:
        chat = self.emu.world.chats[person.id]
        bot_user = self.emu.bot_user
        new_member: dict[str, Any] = {"status": new, "user": bot_user}
        if new == "kicked":
            new_member["until_date"] = 0
        old_member: dict[str, Any] = {"status": old, "user": bot_user}
        if old == "kicked":
            old_member["until_date"] = 0
        payload = {
            "chat": chat.chat_json(),
            "from": person.user_json(),
            "date": now(),
            "old_chat_member": old_member,
            "new_chat_member": new_member,
        }
        return self.emu.hub.create("my_chat_member", payload, person.id)

    def _sticker(self, emoji: str) -> FileRecord:
        record = self._stickers.get(emoji)
        if record is None:
            record = self.emu.world.files.add("sticker", b"", "image/webp", f"{len(self._stickers) + 1}.webp")
            self._stickers[emoji] = record
        return record

    def _content(self, person: PersonState, body: dict[str, Any]) -> dict[str, Any]:
        """The fields of the person's new message from the request body."""
        kinds = [kind for kind in MESSAGE_KINDS if body.get(kind) is not None]
        if len(kinds) != 1:
            raise client_error(400, f"send exactly one of {', '.join(MESSAGE_KINDS)}")
        kind = kinds[0]
        value = body[kind]
        files = self.emu.world.files
        limits = self.emu.limits
        caption = body.get("caption")
        if caption is not None and (not isinstance(caption, str) or len(caption) > limits.max_caption):
            raise client_error(400, f"caption must be text of at most {limits.max_caption} characters")
        media_caption = {"caption": caption} if caption else {}
        if kind == "text":
            if not isinstance(value, str) or not value.strip():
                raise client_error(400, "message text is empty")
            if len(value) > limits.max_text:
                raise client_error(400, f"message is too long (at most {limits.max_text} characters)")
            return {"text": value, "entities": command_entities(value)}
        if not isinstance(value, dict):
            raise client_error(400, f"{kind} must be an object")
        if kind == "photo":
            data = _decode(value.get("data"), "photo")
            info = image_info(data)
            if info is None:
                raise client_error(400, "photo.data is not an image")
            width, height, mime = info
            record = files.add("photo", data, mime, value.get("filename"), width, height)
            return {"photo": record, **media_caption}
        if kind == "document":
            data = _decode(value.get("data"), "document")
            filename = value.get("filename")
            if not isinstance(filename, str) or not filename:
                raise client_error(400, "document.filename is required")
            mime = value.get("mime_type") or mimetypes.guess_type(filename)[0] or "application/octet-stream"
            return {"document": files.add("document", data, mime, filename), **media_caption}
        if kind == "sticker":
            emoji = value.get("emoji")
            if not isinstance(emoji, str) or not emoji:
                raise client_error(400, "sticker.emoji is required")
            return {"sticker": self._sticker(emoji), "sticker_emoji": emoji}
        if kind == "location":
            return {
                "location": {
                    "latitude": _float(value.get("latitude"), "latitude", -90, 90),
                    "longitude": _float(value.get("longitude"), "longitude", -180, 180),
                }
            }
        phone = value.get("phone_number")
        if not isinstance(phone, str) or not phone.strip():
            raise client_error(400, "contact.phone_number is required")
        contact: dict[str, Any] = {"phone_number": phone.strip()}
        if "user_id" not in value:
            contact["first_name"] = value.get("first_name") or person.first_name
            if value.get("last_name", person.last_name):
                contact["last_name"] = value.get("last_name", person.last_name)
            contact["user_id"] = person.id
        else:
            first_name = value.get("first_name")
            if not isinstance(first_name, str) or not first_name:
                raise client_error(400, "contact.first_name is required for someone else's contact")
            contact["first_name"] = first_name
            if value.get("last_name"):
                contact["last_name"] = value["last_name"]
            if value.get("user_id") is not None:
                contact["user_id"] = int(value["user_id"])
        return {"contact": contact}

    def _post(
        self, chat: ChatState, person: PersonState, body: dict[str, Any], fields: dict[str, Any]
    ) -> tuple[StoredMessage, PendingUpdate]:
        reply_id = body.get("reply_to_message_id")
        reply_to = chat.get(int(reply_id)) if reply_id is not None else None
        if reply_id is not None and reply_to is None:
            raise client_error(400, "message to be replied not found")
        sender = person.user_json()
        message = chat.add(
            lambda message_id: StoredMessage(
                message_id, chat, sender, False, now(), reply_to=reply_to, **fields
            )
        )
        update = self.emu.hub.create("message", message.api_json(), chat.id)
        return message, update

    # people ---------------------------------------------------------------------------------------
    async def bot(self, request: web.Request) -> web.Response:
        emu = self.emu
        webhook = emu.hub.webhook
        return web.json_response(
            {
                "id": emu.bot_id,
                "username": emu.bot_username,
                "first_name": emu.bot_first_name,
                "delivery": emu.hub.delivery,
                "webhook_url": webhook.url if webhook is not None else None,
                **self._profile(request.query.get("language")),
            }
        )

    def _profile(self, language: str | None) -> dict[str, Any]:
        """The bot's name and descriptions for a language (the default's where it has none)."""
        if language is None:
            return {}
        api = self.emu.api
        return {
            "language": language,
            "name": api.description("name", language),
            "description": api.description("description", language),
            "short_description": api.description("short_description", language),
        }

    async def bot_for_person(self, request: web.Request) -> web.Response:
        """The bot as this person sees it: in their language, with the commands of their private chat."""
        person = self._person(request)
        api = self.emu.api
        return web.json_response(
            {
                "id": self.emu.bot_id,
                "username": self.emu.bot_username,
                **self._profile(person.language_code or ""),
                "commands": api.private_commands(person.id, person.language_code),
                "menu_button": api.menu_button(person.id),
            }
        )

    async def list_people(self, request: web.Request) -> web.Response:
        return web.json_response({"people": [p.client_json() for p in self.emu.world.people.values()]})

    async def get_person(self, request: web.Request) -> web.Response:
        return web.json_response(self._person(request).client_json())

    async def create_person(self, request: web.Request) -> web.Response:
        body = await self._body(request)
        first_name = body.get("first_name")
        if not isinstance(first_name, str) or not first_name.strip() or len(first_name) > 64:
            raise client_error(400, "first_name is required (1-64 characters)")
        person_id = body.get("id")
        if person_id is not None and (
            not isinstance(person_id, int) or isinstance(person_id, bool) or person_id <= 0
        ):
            raise client_error(400, "id must be a positive integer")
        if (
            person_id is not None
            and person_id in self.emu.world.chats
            and person_id not in self.emu.world.people
        ):
            raise client_error(400, "id is taken by a group")
        person = self.emu.world.add_person(
            first_name.strip(),
            body.get("last_name") or None,
            body.get("username") or None,
            body.get("language_code") or None,
            person_id,
            started=bool(body.get("started", True)),
        )
        return web.json_response(person.client_json())

    async def send_message(self, request: web.Request) -> web.Response:
        person = self._person(request)
        body = await self._body(request)
        wait, timeout = self._wait_options(body)
        chat = self.emu.world.chats[person.id]
        fields = self._content(person, body)
        if person.blocked:
            person.blocked = False
            self._member_update(person, "kicked", "member")
        person.started = True
        message, update = self._post(chat, person, body, fields)
        handled = await self.wait_handled(update, timeout) if wait else False
        return web.json_response(
            {"update_id": update.update_id, "message": message.client_json(), "handled": handled}
        )

    async def press_button(self, request: web.Request) -> web.Response:
        person = self._person(request)
        body = await self._body(request)
        wait, timeout = self._wait_options(body)
        data = body.get("data")
        if not isinstance(data, str):
            raise client_error(400, "data must be text")
        message_id = body.get("message_id")
        chat = self.emu.world.chats[person.id]
        message = chat.get(message_id) if isinstance(message_id, int) else None
        if message is None:
            raise client_error(400, "no such message in this chat")
        query_id = str(secrets.randbits(63))
        self.emu.api.callbacks[query_id] = record = CallbackRecord(chat.id)
        payload = {
            "id": query_id,
            "from": person.user_json(),
            "message": message.api_json(),
            "chat_instance": chat.chat_instance,
            "data": data,
        }
        update = self.emu.hub.create("callback_query", payload, chat.id)
        handled = await self.wait_handled(update, timeout) if wait else False
        return web.json_response(
            {
                "update_id": update.update_id,
                "callback_query_id": query_id,
                "answer": record.answer,
                "handled": handled,
            }
        )

    async def block(self, request: web.Request) -> web.Response:
        person = self._person(request)
        body = await self._body(request)
        wait, timeout = self._wait_options(body)
        blocked = bool(body.get("blocked", True))
        if blocked != person.blocked:
            person.blocked = blocked
            update = self._member_update(
                person, "member" if blocked else "kicked", "kicked" if blocked else "member"
            )
            if wait:
                await self.wait_handled(update, timeout)
        return web.json_response(person.client_json())

    async def _chat_view(self, request: web.Request, chat: ChatState) -> web.Response:
        since_raw = request.query.get("since")
        if since_raw is not None:
            try:
                since = int(since_raw)
                wait = min(float(request.query.get("wait", "25")), MAX_CHAT_WAIT)
            except ValueError:
                raise client_error(400, "since and wait must be numbers") from None
            closing = asyncio.ensure_future(self._closing.wait())
            change = asyncio.ensure_future(chat.wait_change(since, wait))
            try:
                await asyncio.wait({closing, change}, return_when=asyncio.FIRST_COMPLETED)
            finally:
                closing.cancel()
                change.cancel()
        return web.json_response(chat.client_json())

    async def chat(self, request: web.Request) -> web.Response:
        person = self._person(request)
        return await self._chat_view(request, self.emu.world.chats[person.id])

    # groups ---------------------------------------------------------------------------------------
    @staticmethod
    def _group_json(chat: ChatState) -> dict[str, Any]:
        return {"id": chat.id, "title": chat.title, "type": chat.type, "members": sorted(chat.members)}

    async def list_groups(self, request: web.Request) -> web.Response:
        groups = [c for c in self.emu.world.chats.values() if c.person is None]
        return web.json_response({"groups": [self._group_json(c) for c in groups]})

    async def create_group(self, request: web.Request) -> web.Response:
        body = await self._body(request)
        title = body.get("title")
        if not isinstance(title, str) or not title.strip():
            raise client_error(400, "title is required")
        group_id = body.get("id")
        if group_id is not None and (not isinstance(group_id, int) or group_id >= 0):
            raise client_error(400, "a group id is a negative integer")
        kind = body.get("type", "supergroup")
        if kind not in ("group", "supergroup"):
            raise client_error(400, "type is group or supergroup")
        chat = self.emu.world.add_group(title.strip(), group_id, kind)
        for member in body.get("members") or []:
            if member not in self.emu.world.people:
                raise client_error(400, f"no such person: {member}")
            chat.members.add(member)
        return web.json_response(self._group_json(chat))

    async def group_chat(self, request: web.Request) -> web.Response:
        return await self._chat_view(request, self._group(request))

    async def group_message(self, request: web.Request) -> web.Response:
        chat = self._group(request)
        body = await self._body(request)
        wait, timeout = self._wait_options(body)
        person = self.emu.world.people.get(body.get("person_id", 0))
        if person is None:
            raise client_error(400, "person_id must name a person")
        fields = self._content(person, body)
        chat.members.add(person.id)
        message, update = self._post(chat, person, body, fields)
        handled = await self.wait_handled(update, timeout) if wait else False
        return web.json_response(
            {"update_id": update.update_id, "message": message.client_json(), "handled": handled}
        )

    # misc -----------------------------------------------------------------------------------------
    async def reset(self, request: web.Request) -> web.Response:
        self.emu.reset()
        self._stickers.clear()
        return web.json_response({"ok": True})

    async def file(self, request: web.Request) -> web.StreamResponse:
        record = self.emu.world.files.get(request.match_info["file_id"])
        if record is None:
            raise client_error(404, "no such file")
        if record.data is None:
            raise web.HTTPFound(record.url or "/")
        return web.Response(body=record.data, content_type=record.mime_type)
