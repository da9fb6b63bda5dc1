"""The emulator's world in memory: people, chats and their messages, indexed by id."""

from __future__ import annotations

import asyncio
import hashlib
import time
from dataclasses import dataclass, field
from typing import Any

from bot.sandbox.files import FileRecord, FileStore
from bot.sandbox.html import render_html

FIRST_PERSON_ID = 100_000_001
FIRST_GROUP_ID = -1_001_000_000_001


def now() -> int:
    return int(time.time())


@dataclass
class PersonState:
    id: int
    first_name: str
    last_name: str | None = None
    username: str | None = None
    language_code: str | None = None
    blocked: bool = False
    started: bool = True

    def user_json(self) -> dict[str, Any]:
        user: dict[str, Any] = {"id": self.id, "is_bot": False, "first_name": self.first_name}
        if self.last_name:
            user["last_name"] = self.last_name
        if self.username:
            user["username"] = self.username
        if self.language_code:
            user["language_code"] = self.language_code
        return user

    def client_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "first_name": self.first_name,
            "last_name": self.last_name,
            "username": self.username,
            "language_code": self.language_code,
            "blocked": self.blocked,
            "started": self.started,
        }


@dataclass
class StoredMessage:
    message_id: int
    chat: ChatState
    sender: dict[str, Any]
    from_bot: bool
    date: int
    text: str | None = None
    entities: list[dict[str, Any]] = field(default_factory=list)
    caption: str | None = None
    caption_entities: list[dict[str, Any]] = field(default_factory=list)
    photo: FileRecord | None = None
    document: FileRecord | None = None
    sticker: FileRecord | None = None
    sticker_emoji: str | None = None
    location: dict[str, Any] | None = None
    contact: dict[str, Any] | None = None
    reply_markup: dict[str, Any] | None = None
    reply_to: StoredMessage | None = None
    forward_origin: dict[str, Any] | None = None
    edit_date: int | None = None
    deleted: bool = False
    sent_at: float = field(default_factory=time.time)
    edited_at: float | None = None

    @property
    def has_media(self) -> bool:
        return self.photo is not None or self.document is not None

    def api_json(self, with_reply: bool = True) -> dict[str, Any]:
        """The Bot API ``Message`` object."""
        message: dict[str, Any] = {
            "message_id": self.message_id,
            "from": self.sender,
            "chat": self.chat.chat_json(),
            "date": self.date,
        }
        if self.forward_origin is not None:
            message["forward_origin"] = self.forward_origin
        if self.edit_date is not None:
            message["edit_date"] = self.edit_date
        if with_reply and self.reply_to is not None:
            message["reply_to_message"] = self.reply_to.api_json(with_reply=False)
        if self.text is not None:
            message["text"] = self.text
            if self.entities:
                message["entities"] = self.entities
        if self.photo is not None:
            message["photo"] = self.photo.photo_sizes()
        if self.document is not None:
            message["document"] = self.document.document_json()
        if self.sticker is not None:
            message["sticker"] = {
                "file_id": self.sticker.file_id,
                "file_unique_id": self.sticker.file_unique_id,
                "type": "regular",
                "width": 512,
                "height": 512,
                "is_animated": False,
                "is_video": False,
                "emoji": self.sticker_emoji,
            }
        if self.caption is not None:
            message["caption"] = self.caption
            if self.caption_entities:
                message["caption_entities"] = self.caption_entities
        if self.location is not None:
            message["location"] = self.location
        if self.contact is not None:
            message["contact"] = self.contact
        if self.reply_markup is not None and "inline_keyboard" in self.reply_markup:
            message["reply_markup"] = self.reply_markup
        return message

    def client_json(self) -> dict[str, Any]:
        """The message as the person sees it in the chat."""
        html: str | None = None
        if self.text is not None:
            html = render_html(self.text, self.entities)
        elif self.caption is not None:
            html = render_html(self.caption, self.caption_entities)
        return {
            "message_id": self.message_id,
            "from": "bot" if self.from_bot else "person",
            "sender_id": self.sender["id"],
            "sender_name": self.sender.get("first_name"),
            "date": self.date,
            "text": self.text,
            "html": html,
            "caption": self.caption,
            "entities": self.entities if self.text is not None else self.caption_entities,
            "photo": _file_view(self.photo),
            "document": _file_view(self.document, with_name=True),
            "location": self.location,
            "contact": self.contact,
            "sticker": {"emoji": self.sticker_emoji, **(_file_view(self.sticker) or {})}
            if self.sticker is not None
            else None,
            "reply_markup": self.reply_markup,
            "reply_to_message_id": self.reply_to.message_id if self.reply_to is not None else None,
            "forwarded_from": self.forward_origin["sender_user"].get("first_name")
            if self.forward_origin
            else None,
            "edited": self.edit_date is not None,
            "sent_at": self.sent_at,
            "edited_at": self.edited_at,
        }


def _file_view(record: FileRecord | None, with_name: bool = False) -> dict[str, Any] | None:
    if record is None:
        return None
    view: dict[str, Any] = {"file_id": record.file_id, "url": f"/sandbox/files/{record.file_id}"}
    if with_name:
        view["file_name"] = record.file_name
        view["mime_type"] = record.mime_type
    return view


class ChatState:
    """A private chat with one person, or a group. Message ids are counted per chat, as in Telegram."""

    def __init__(
        self, chat_id: int, person: PersonState | None = None, title: str | None = None, kind: str = "private"
    ) -> None:
        self.id = chat_id
        self.person = person
        self.title = title
        self.type = kind
        self.messages: dict[int, StoredMessage] = {}
        self.next_message_id = 1
        self.version = 0
        self._changed = asyncio.Event()
        self.members: set[int] = set()
        self.last_action: str | None = None
        digest = hashlib.sha256(f"chat-instance:{chat_id}".encode()).digest()
        self.chat_instance = str(int.from_bytes(digest[:8], "big") >> 1)

    def chat_json(self) -> dict[str, Any]:
        if self.person is not None:
            chat = {"id": self.id, "type": "private", "first_name": self.person.first_name}
            if self.person.last_name:
                chat["last_name"] = self.person.last_name
            if self.person.username:
                chat["username"] = self.person.username
            return chat
        return {"id": self.id, "type": self.type, "title": self.title or "Group"}

    def add(self, message_factory: Any) -> StoredMessage:
        message: StoredMessage = message_factory(self.next_message_id)
        self.next_message_id += 1
        self.messages[message.message_id] = message
        self.bump()
        return message

    def get(self, message_id: int | None) -> StoredMessage | None:
        if message_id is None:
            return None
        message = self.messages.get(message_id)
        if message is None or message.deleted:
            return None
        return message

    def visible(self) -> list[StoredMessage]:
        return [m for m in self.messages.values() if not m.deleted]

    def bump(self) -> None:
        self.version += 1
        self._changed.set()
        self._changed = asyncio.Event()

    def reply_keyboard(self) -> dict[str, Any] | None:
        """The reply keyboard the person currently has: the last one the bot sent, unless removed."""
        for message in reversed(self.messages.values()):
            markup = message.reply_markup
            if not message.from_bot or markup is None:
                continue
            if "keyboard" in markup:
                return markup
            if "remove_keyboard" in markup:
                return None
        return None

    async def wait_change(self, since: int, timeout: float) -> None:
        if self.version > since or timeout <= 0:
            return
        event = self._changed
        try:
            await asyncio.wait_for(event.wait(), timeout)
        except TimeoutError:
            pass

    def client_json(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "messages": [m.client_json() for m in self.visible()],
            "keyboard": self.reply_keyboard(),
        }


class World:
    """People, chats and files. Everything the client API can forget with a reset."""

    def __init__(self) -> None:
        self.people: dict[int, PersonState] = {}
        self.chats: dict[int, ChatState] = {}
        self.files = FileStore()
        self.next_person_id = FIRST_PERSON_ID
        self.next_group_id = FIRST_GROUP_ID

    def reset(self) -> None:
        self.people.clear()
        self.chats.clear()

    def add_person(
        self,
        first_name: str,
        last_name: str | None = None,
        username: str | None = None,
        language_code: str | None = None,
        person_id: int | None = None,
        started: bool = True,
    ) -> PersonState:
        if person_id is None:
            while self.next_person_id in self.people:
                self.next_person_id += 1
            person_id = self.next_person_id
            self.next_person_id += 1
        person = self.people.get(person_id)
        if person is None:
            person = PersonState(person_id, first_name, last_name, username, language_code, started=started)
            self.people[person_id] = person
            self.chats[person_id] = ChatState(person_id, person)
        else:
            person.first_name = first_name
            person.last_name = last_name
            person.username = username
            person.language_code = language_code
            person.started = person.started or started
        return person

    def add_group(self, title: str, group_id: int | None = None, kind: str = "supergroup") -> ChatState:
        if group_id is None:
            while self.next_group_id in self.chats:
                self.next_group_id -= 1
            group_id = self.next_group_id
            self.next_group_id -= 1
        chat = self.chats.get(group_id)
        if chat is None:
            chat = ChatState(group_id, title=title, kind=kind)
            self.chats[group_id] = chat
        else:
            chat.title = title
        return chat
