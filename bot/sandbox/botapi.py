"""The Bot API methods the emulator serves, with Telegram's checks and error messages."""

from __future__ import annotations

import json
import mimetypes
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from bot.sandbox.errors import NOT_FOUND, ApiError, bad_request, forbidden
from bot.sandbox.files import FileRecord, image_info
from bot.sandbox.html import check_entities, parse_html, strip_text
from bot.sandbox.markdown import parse_markdown, parse_markdown_v2
from bot.sandbox.markup import validate_markup
from bot.sandbox.params import Params, Upload
from bot.sandbox.state import ChatState, StoredMessage, now

if TYPE_CHECKING:
    from bot.sandbox.emulator import Emulator

CHAT_ACTIONS = frozenset(
    {
        "typing",
        "upload_photo",
        "record_video",
        "upload_video",
        "record_voice",
        "upload_voice",
        "upload_document",
        "choose_sticker",
        "find_location",
        "record_video_note",
        "upload_video_note",
    }
)
COMMAND_RE = re.compile(r"^[a-z0-9_]{1,32}$")
SECRET_RE = re.compile(r"^[A-Za-z0-9_-]{1,256}$")
MAX_PHOTO = 10 * 1024 * 1024
MAX_UPLOAD = 50 * 1024 * 1024
MAX_DOWNLOAD = 20 * 1024 * 1024
NOT_MODIFIED = (
    "message is not modified: specified new message content and reply markup are exactly the same "
    "as a current content and reply markup of the message"
)
QUERY_INVALID = "query is too old and response timeout expired or query ID is invalid"


@dataclass
class Described:
    """A result that Telegram sends with a ``description`` (setWebhook, deleteWebhook)."""

    result: Any
    description: str


@dataclass
class CallbackRecord:
    chat_id: int
    answer: dict[str, Any] | None = None


Handler = Callable[[Params], Awaitable[Any]]


class BotApi:
    def __init__(self, emulator: Emulator) -> None:
        self.emu = emulator
        self.callbacks: dict[str, CallbackRecord] = {}
        self.commands: dict[tuple[str, str], list[dict[str, str]]] = {}
        self.descriptions: dict[tuple[str, str], str] = {}
        self.menu_buttons: dict[int | None, dict[str, Any]] = {}
        self.methods: dict[str, Handler] = {
            name.lower(): handler
            for name, handler in {
                "getMe": self.get_me,
                "logOut": self.always_true,
                "close": self.always_true,
                "getUpdates": self.get_updates,
                "setWebhook": self.set_webhook,
                "deleteWebhook": self.delete_webhook,
                "getWebhookInfo": self.get_webhook_info,
                "sendMessage": self.send_message,
                "sendPhoto": self.send_photo,
                "sendDocument": self.send_document,
                "sendSticker": self.send_sticker,
                "sendLocation": self.send_location,
                "copyMessage": self.copy_message,
                "forwardMessage": self.forward_message,
                "editMessageText": self.edit_message_text,
                "editMessageCaption": self.edit_message_caption,
                "editMessageReplyMarkup": self.edit_message_reply_markup,
                "deleteMessage": self.delete_message,
                "deleteMessages": self.delete_messages,
                "answerCallbackQuery": self.answer_callback_query,
                "setMyCommands": self.set_my_commands,
                "getMyCommands": self.get_my_commands,
                "deleteMyCommands": self.delete_my_commands,
                "setMyDescription": self.set_description("description"),
                "getMyDescription": self.get_description("description"),
                "setMyShortDescription": self.set_description("short_description"),
                "getMyShortDescription": self.get_description("short_description"),
                "setMyName": self.set_description("name"),
                "getMyName": self.get_description("name"),
                "setChatMenuButton": self.set_chat_menu_button,
                "getChatMenuButton": self.get_chat_menu_button,
                "sendChatAction": self.send_chat_action,
                "getFile": self.get_file,
                "getChat": self.get_chat,
                "getChatMember": self.get_chat_member,
            }.items()
        }

    def reset(self) -> None:
        self.callbacks.clear()

    async def call(self, method: str, params: Params) -> Any:
        handler = self.methods.get(method.lower())
        if handler is None:
            raise NOT_FOUND
        return await handler(params)

    def chat_key(self, params: Params) -> int | None:
        """The chat a request acts on, for telling when the bot has finished handling an update."""
        raw = params.raw("chat_id")
        if raw not in (None, ""):
            try:
                return int(str(raw))
            except ValueError:
                return None
        query_id = params.raw("callback_query_id")
        if query_id is not None:
            record = self.callbacks.get(str(query_id))
            return record.chat_id if record is not None else None
        return None

    # helpers --------------------------------------------------------------------------------------
    def _chat(self, params: Params) -> ChatState:
        raw = params.raw("chat_id")
        if raw in (None, ""):
            raise bad_request("chat_id is empty")
        try:
            chat_id = int(str(raw).strip())
        except ValueError:
            raise bad_request("chat not found") from None
        chat = self.emu.world.chats.get(chat_id)
        if chat is None:
            raise bad_request("chat not found")
        person = chat.person
        if person is not None:
            if person.blocked:
                raise forbidden("bot was blocked by the user")
            if not person.started:
                raise forbidden("bot can't initiate conversation with a user")
        return chat

    def _formatted(
        self, params: Params, field: str, entities_field: str, caption: bool
    ) -> tuple[str, list[Any]]:
        raw = params.str(field) or ""
        explicit = params.json(entities_field)
        parse_mode = (params.str("parse_mode") or "").strip()
        if explicit is not None:
            if not isinstance(explicit, list):
                raise bad_request(f"can't parse {entities_field} JSON object")
            text, entities = raw, check_entities(raw, explicit)
        elif parse_mode:
            mode = parse_mode.lower()
            if mode == "html":
                text, entities = parse_html(raw)
            elif mode == "markdownv2":
                text, entities = parse_markdown_v2(raw)
            elif mode == "markdown":
                text, entities = parse_markdown(raw)
            else:
                raise bad_request("unsupported parse_mode")
        else:
            text, entities = raw, []
        text, entities = strip_text(text, entities)
        limits = self.emu.limits
        if caption:
            if len(text) > limits.max_caption:
                raise bad_request("message caption is too long")
        else:
            if not text:
                raise bad_request("message text is empty")
            if len(text) > limits.max_text:
                raise bad_request("message is too long")
        return text, entities

    def _markup(self, params: Params, inline_only: bool = False) -> dict[str, Any] | None:
        return validate_markup(params.json("reply_markup"), self.emu.limits.max_callback_data, inline_only)

    def _reply_to(self, params: Params, chat: ChatState) -> StoredMessage | None:
        reply = params.json("reply_parameters")
        message_id: int | None
        allow_without = params.bool("allow_sending_without_reply")
        if isinstance(reply, dict):
            message_id = reply.get("message_id")
            allow_without = bool(reply.get("allow_sending_without_reply", allow_without))
        else:
            message_id = params.int("reply_to_message_id")
        if not message_id:
            return None
        target = chat.get(int(message_id))
        if target is None and not allow_without:
            raise bad_request("message to be replied not found")
        return target

    def _target(self, params: Params, missing: str) -> tuple[ChatState, StoredMessage]:
        if params.has("inline_message_id"):
            raise bad_request("MESSAGE_ID_INVALID")
        chat = self._chat(params)
        message_id = params.int("message_id")
        if message_id is None:
            raise bad_request("message identifier is not specified")
        message = chat.get(message_id)
        if message is None:
            raise bad_request(missing)
        return chat, message

    def _input_file(self, value: Upload | str | None, kind: str) -> FileRecord:
        files = self.emu.world.files
        if value is None:
            raise bad_request(f"there is no {kind} in the request")
        if isinstance(value, Upload):
            if not value.data:
                raise bad_request("file must be non-empty")
            if kind == "photo":
                if len(value.data) > MAX_PHOTO:
                    raise bad_request("PHOTO_INVALID_DIMENSIONS")
                info = image_info(value.data)
                if info is None:
                    raise bad_request("IMAGE_PROCESS_FAILED")
                width, height, mime = info
                return files.add("photo", value.data, mime, value.filename, width, height)
            if len(value.data) > MAX_UPLOAD:
                raise ApiError(413, "Request Entity Too Large")
            mime = value.content_type or ""
            if not mime or mime == "application/octet-stream":
                mime = mimetypes.guess_type(value.filename or "")[0] or "application/octet-stream"
            return files.add(kind, value.data, mime, value.filename)
        text = value.strip()
        if text.startswith(("http://", "https://")):
            return files.add_url(kind, text)
        record = files.get(text)
        if record is None:
            raise bad_request("wrong file identifier/HTTP URL specified")
        if record.kind != kind:
            raise bad_request("type of file mismatch")
        return record

    def _store(self, chat: ChatState, **fields: Any) -> StoredMessage:
        self.emu.limiter.acquire(chat.id)
        bot_user = self.emu.bot_user
        return chat.add(lambda message_id: StoredMessage(message_id, chat, bot_user, True, now(), **fields))

    # methods --------------------------------------------------------------------------------------
    async def always_true(self, params: Params) -> bool:
        return True

    async def get_me(self, params: Params) -> dict[str, Any]:
        return {
            **self.emu.bot_user,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    async def get_updates(self, params: Params) -> list[dict[str, Any]]:
        allowed = params.json("allowed_updates")
        return await self.emu.hub.get_updates(
            params.int("offset"),
            params.int("limit") or 100,
            params.float("timeout") or 0.0,
            allowed if isinstance(allowed, list) else None,
        )

    async def set_webhook(self, params: Params) -> Described:
        hub = self.emu.hub
        url = (params.str("url") or "").strip()
        drop = params.bool("drop_pending_updates")
        if not url:
            existed = hub.delete_webhook(drop)
            return Described(True, "Webhook was deleted" if existed else "Webhook is already deleted")
        if not url.startswith(("http://", "https://")):
            raise bad_request("bad webhook: Webhook can be set up only on ports 80, 88, 443 or 8443")
        secret = params.str("secret_token")
        if secret is not None and not SECRET_RE.match(secret):
            raise bad_request("secret token contains unallowed characters")
        max_connections = params.int("max_connections") or 40
        if not 1 <= max_connections <= 100:
            raise bad_request("bad webhook: max_connections must be between 1 and 100")
        allowed = params.json("allowed_updates")
        same = hub.webhook is not None and hub.webhook.url == url and hub.webhook.secret_token == secret
        hub.set_webhook(url, secret, max_connections, allowed if isinstance(allowed, list) else None, drop)
        return Described(True, "Webhook is already set" if same else "Webhook was set")

    async def delete_webhook(self, params: Params) -> Described:
        existed = self.emu.hub.delete_webhook(params.bool("drop_pending_updates"))
        return Described(True, "Webhook was deleted" if existed else "Webhook is already deleted")

    async def get_webhook_info(self, params: Params) -> dict[str, Any]:
        return self.emu.hub.webhook_info()

    async def send_message(self, params: Params) -> dict[str, Any]:
        chat = self._chat(params)
        text, entities = self._formatted(params, "text", "entities", caption=False)
        markup = self._markup(params)
        reply_to = self._reply_to(params, chat)
        message = self._store(chat, text=text, entities=entities, reply_markup=markup, reply_to=reply_to)
        return message.api_json()

    async def _send_media(self, params: Params, kind: str) -> dict[str, Any]:
        chat = self._chat(params)
        record = self._input_file(params.file(kind), kind)
        caption, caption_entities = self._formatted(params, "caption", "caption_entities", caption=True)
        markup = self._markup(params)
        reply_to = self._reply_to(params, chat)
        fields: dict[str, Any] = {kind: record, "reply_markup": markup, "reply_to": reply_to}
        if caption:
            fields["caption"] = caption
            fields["caption_entities"] = caption_entities
        return self._store(chat, **fields).api_json()

    async def send_photo(self, params: Params) -> dict[str, Any]:
        return await self._send_media(params, "photo")

    async def send_document(self, params: Params) -> dict[str, Any]:
        return await self._send_media(params, "document")

    async def send_sticker(self, params: Params) -> dict[str, Any]:
        chat = self._chat(params)
        record = self._input_file(params.file("sticker"), "sticker")
        markup = self._markup(params)
        reply_to = self._reply_to(params, chat)
        emoji = params.str("emoji")
        return self._store(
            chat, sticker=record, sticker_emoji=emoji, reply_markup=markup, reply_to=reply_to
        ).api_json()

    async def send_location(self, params: Params) -> dict[str, Any]:
        chat = self._chat(params)
        latitude, longitude = params.float("latitude"), params.float("longitude")
        if latitude is None or not -90 <= latitude <= 90:
            raise bad_request("wrong latitude")
        if longitude is None or not -180 <= longitude <= 180:
            raise bad_request("wrong longitude")
        location: dict[str, Any] = {"latitude": latitude, "longitude": longitude}
        accuracy = params.float("horizontal_accuracy")
        if accuracy is not None:
            location["horizontal_accuracy"] = accuracy
        markup = self._markup(params)
        reply_to = self._reply_to(params, chat)
        return self._store(chat, location=location, reply_markup=markup, reply_to=reply_to).api_json()

    def _source(self, params: Params) -> StoredMessage:
        raw = params.raw("from_chat_id")
        try:
            chat = self.emu.world.chats.get(int(str(raw)))
        except ValueError:
            chat = None
        if chat is None:
            raise bad_request("chat not found")
        message = chat.get(params.int("message_id"))
        if message is None:
            raise bad_request("message to copy not found")
        return message

    @staticmethod
    def _content(message: StoredMessage) -> dict[str, Any]:
        return {
            "text": message.text,
            "entities": list(message.entities),
            "caption": message.caption,
            "caption_entities": list(message.caption_entities),
            "photo": message.photo,
            "document": message.document,
            "sticker": message.sticker,
            "sticker_emoji": message.sticker_emoji,
            "location": message.location,
            "contact": message.contact,
        }

    async def copy_message(self, params: Params) -> dict[str, int]:
        chat = self._chat(params)
        source = self._source(params)
        fields = self._content(source)
        if source.has_media and params.raw("caption") is not None:
            caption, entities = self._formatted(params, "caption", "caption_entities", caption=True)
            fields["caption"], fields["caption_entities"] = caption or None, entities
        fields["reply_markup"] = self._markup(params)
        fields["reply_to"] = self._reply_to(params, chat)
        return {"message_id": self._store(chat, **fields).message_id}

    async def forward_message(self, params: Params) -> dict[str, Any]:
        chat = self._chat(params)
        source = self._source(params)
        fields = self._content(source)
        fields["forward_origin"] = {"type": "user", "date": source.date, "sender_user": source.sender}
        return self._store(chat, **fields).api_json()

    def _apply_edit(self, chat: ChatState, message: StoredMessage) -> dict[str, Any]:
        message.edit_date = now()
        message.edited_at = time.time()
        chat.bump()
        return message.api_json()

    def _new_inline_markup(self, params: Params, message: StoredMessage) -> dict[str, Any] | None:
        """Editing without ``reply_markup`` removes the inline keyboard, as in Telegram."""
        markup = self._markup(params, inline_only=True)
        if (
            markup is None
            and message.reply_markup is not None
            and "inline_keyboard" not in message.reply_markup
        ):
            return message.reply_markup
        return markup

    async def edit_message_text(self, params: Params) -> dict[str, Any]:
        chat, message = self._target(params, "message to edit not found")
        if not message.from_bot:
            raise bad_request("message can't be edited")
        if message.text is None:
            raise bad_request("there is no text in the message to edit")
        text, entities = self._formatted(params, "text", "entities", caption=False)
        markup = self._new_inline_markup(params, message)
        if text == message.text and entities == message.entities and markup == message.reply_markup:
            raise bad_request(NOT_MODIFIED)
        message.text, message.entities, message.reply_markup = text, entities, markup
        return self._apply_edit(chat, message)

    async def edit_message_caption(self, params: Params) -> dict[str, Any]:
        chat, message = self._target(params, "message to edit not found")
        if not message.from_bot:
            raise bad_request("message can't be edited")
        if not message.has_media:
            raise bad_request("there is no caption in the message to edit")
        caption, entities = self._formatted(params, "caption", "caption_entities", caption=True)
        markup = self._new_inline_markup(params, message)
        new_caption = caption or None
        if (
            new_caption == message.caption
            and entities == message.caption_entities
            and markup == message.reply_markup
        ):
            raise bad_request(NOT_MODIFIED)
        message.caption, message.caption_entities, message.reply_markup = new_caption, entities, markup
        return self._apply_edit(chat, message)

    async def edit_message_reply_markup(self, params: Params) -> dict[str, Any]:
        chat, message = self._target(params, "message to edit not found")
        if not message.from_bot:
            raise bad_request("message can't be edited")
        markup = self._new_inline_markup(params, message)
        if markup == message.reply_markup:
            raise bad_request(NOT_MODIFIED)
        message.reply_markup = markup
        return self._apply_edit(chat, message)

    async def delete_message(self, params: Params) -> bool:
        chat, message = self._target(params, "message to delete not found")
        message.deleted = True
        chat.bump()
        return True

    async def delete_messages(self, params: Params) -> bool:
        chat = self._chat(params)
        ids = params.json("message_ids")
        if not isinstance(ids, list) or not 1 <= len(ids) <= 100:
            raise bad_request("message_ids must be a non-empty list of at most 100 identifiers")
        changed = False
        for message_id in ids:
            message = chat.get(int(message_id))
            if message is not None:
                message.deleted = True
                changed = True
        if changed:
            chat.bump()
        return True

    async def answer_callback_query(self, params: Params) -> bool:
        query_id = params.str("callback_query_id") or ""
        record = self.callbacks.get(query_id)
        if record is None or record.answer is not None:
            raise bad_request(QUERY_INVALID)
        text = params.str("text")
        if text is not None and len(text) > 200:
            raise bad_request("MESSAGE_TOO_LONG")
        record.answer = {
            "text": text or None,
            "show_alert": params.bool("show_alert"),
            "url": params.str("url"),
        }
        return True

    @staticmethod
    def _scope(raw: Any) -> dict[str, Any]:
        """A BotCommandScope reduced to the fields that identify it (chat ids as numbers)."""
        if not isinstance(raw, dict) or not raw.get("type"):
            return {"type": "default"}
        scope: dict[str, Any] = {"type": str(raw["type"])}
        for name in ("chat_id", "user_id"):
            value = raw.get(name)
            if value is None:
                continue
            try:
                scope[name] = int(str(value).strip())
            except ValueError:
                scope[name] = str(value)
        return scope

    @staticmethod
    def _command_key(scope: dict[str, Any], language: str) -> tuple[str, str]:
        return json.dumps(scope, sort_keys=True), language

    def _scope_key(self, params: Params) -> tuple[str, str]:
        return self._command_key(self._scope(params.json("scope")), params.str("language_code") or "")

    async def set_my_commands(self, params: Params) -> bool:
        commands = params.json("commands")
        if not isinstance(commands, list) or len(commands) > 100:
            raise bad_request("can't parse commands JSON object")
        checked: list[dict[str, str]] = []
        for command in commands:
            if not isinstance(command, dict):
                raise bad_request("can't parse BotCommand")
            name = str(command.get("command", "")).lstrip("/")
            description = str(command.get("description", ""))
            if not COMMAND_RE.match(name):
                raise bad_request("BOT_COMMAND_INVALID")
            if not 1 <= len(description.strip()) <= 256:
                raise bad_request("BOT_COMMAND_DESCRIPTION_INVALID")
            checked.append({"command": name, "description": description})
        key = self._scope_key(params)
        if checked:
            self.commands[key] = checked
        else:  # an empty list removes the commands of that scope and language, as deleteMyCommands
            self.commands.pop(key, None)
        return True

    async def get_my_commands(self, params: Params) -> list[dict[str, str]]:
        return self.commands.get(self._scope_key(params), [])

    async def delete_my_commands(self, params: Params) -> bool:
        self.commands.pop(self._scope_key(params), None)
        return True

    def private_commands(self, user_id: int, language: str | None) -> list[dict[str, str]]:
        """The commands a person sees in their private chat with the bot.

        Telegram's resolution: the chat scope, then all_private_chats, then default; within each scope
        the person's language first, then the commands set without a language. The first non-empty list
        wins.
        """
        languages = [language, ""] if language else [""]
        scopes = [{"type": "chat", "chat_id": user_id}, {"type": "all_private_chats"}, {"type": "default"}]
        for scope in scopes:
            for code in languages:
                commands = self.commands.get(self._command_key(scope, code))
                if commands:
                    return commands
        return []

    def set_description(self, field: str) -> Handler:
        async def handler(params: Params) -> bool:
            value = params.str(field) or ""
            limit = {"description": 512, "short_description": 120, "name": 64}[field]
            if len(value) > limit:
                raise bad_request(f"{field.upper()}_INVALID")
            key = (field, params.str("language_code") or "")
            if value:
                self.descriptions[key] = value
            else:  # an empty string removes the dedicated value for that language
                self.descriptions.pop(key, None)
            return True

        return handler

    def description(self, field: str, language: str | None) -> str:
        """The bot's name, description or short description for a language, else the default one."""
        value = self.descriptions.get((field, language or "")) or self.descriptions.get((field, ""))
        if value is None and field == "name":
            value = self.emu.bot_user["first_name"]
        return value or ""

    def get_description(self, field: str) -> Handler:
        async def handler(params: Params) -> dict[str, str]:
            return {field: self.description(field, params.str("language_code"))}

        return handler

    async def set_chat_menu_button(self, params: Params) -> bool:
        button = params.json("menu_button") or {"type": "default"}
        if not isinstance(button, dict) or button.get("type") not in ("commands", "web_app", "default"):
            raise bad_request("can't parse menu button")
        self.menu_buttons[params.int("chat_id")] = button
        return True

    def menu_button(self, chat_id: int) -> dict[str, Any]:
        """The menu button a person sees: the chat's own, else the bot's default, else the commands menu."""
        for key in (chat_id, None):
            button = self.menu_buttons.get(key)
            if button is not None and button.get("type") != "default":
                return button
        return {"type": "commands"}

    async def get_chat_menu_button(self, params: Params) -> dict[str, Any]:
        chat_id = params.int("chat_id")
        return self.menu_buttons.get(chat_id) or self.menu_buttons.get(None) or {"type": "commands"}

    async def send_chat_action(self, params: Params) -> bool:
        chat = self._chat(params)
        action = params.str("action")
        if action not in CHAT_ACTIONS:
            raise bad_request("wrong parameter action in request")
        chat.last_action = action
        return True

    async def get_file(self, params: Params) -> dict[str, Any]:
        record = self.emu.world.files.get((params.str("file_id") or "").strip())
        if record is None:
            raise bad_request("invalid file_id")
        if record.file_size is not None and record.file_size > MAX_DOWNLOAD:
            raise bad_request("file is too big")
        return record.file_json()

    async def get_chat(self, params: Params) -> dict[str, Any]:
        chat = self._chat(params)
        info = {
            **chat.chat_json(),
            "accent_color_id": 0,
            "max_reaction_count": 11,
            "accepted_gift_types": {
                "unlimited_gifts": False,
                "limited_gifts": False,
                "unique_gifts": False,
                "premium_subscription": False,
            },
        }
        return info

    async def get_chat_member(self, params: Params) -> dict[str, Any]:
        chat = self._chat(params)
        user_id = params.int("user_id")
        bot_user = self.emu.bot_user
        if user_id == bot_user["id"]:
            return {"status": "member", "user": bot_user}
        person = self.emu.world.people.get(user_id or 0)
        if person is None:
            raise bad_request("user not found")
        member = chat.person.id == person.id if chat.person is not None else person.id in chat.members
        return {"status": "member" if member else "left", "user": person.user_json()}
