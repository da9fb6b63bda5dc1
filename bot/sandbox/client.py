"""An async Python client for the emulator's client API (``/sandbox/api``): what simulated people do."""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from typing import Any

import aiohttp


class SandboxError(Exception):
    """The client API refused a request."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"{status}: {message}")
        self.status = status
        self.message = message


@dataclass
class ChatMessage:
    """One message as the person sees it: current text after edits, its media and keyboard."""

    message_id: int
    from_bot: bool
    date: int = 0
    text: str | None = None
    html: str | None = None
    caption: str | None = None
    entities: list[dict[str, Any]] = field(default_factory=list)
    photo: dict[str, Any] | None = None
    document: dict[str, Any] | None = None
    location: dict[str, Any] | None = None
    contact: dict[str, Any] | None = None
    sticker: dict[str, Any] | None = None
    reply_markup: dict[str, Any] | None = None
    reply_to_message_id: int | None = None
    edited: bool = False
    sent_at: float = 0.0
    edited_at: float | None = None

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ChatMessage:
        return cls(
            message_id=data["message_id"],
            from_bot=data["from"] == "bot",
            date=data.get("date", 0),
            text=data.get("text"),
            html=data.get("html"),
            caption=data.get("caption"),
            entities=data.get("entities") or [],
            photo=data.get("photo"),
            document=data.get("document"),
            location=data.get("location"),
            contact=data.get("contact"),
            sticker=data.get("sticker"),
            reply_markup=data.get("reply_markup"),
            reply_to_message_id=data.get("reply_to_message_id"),
            edited=bool(data.get("edited")),
            sent_at=data.get("sent_at", 0.0),
            edited_at=data.get("edited_at"),
        )

    @property
    def body(self) -> str:
        """The text, or the caption of a photo or document ("" when there is neither)."""
        return self.text if self.text is not None else (self.caption or "")

    @property
    def inline_keyboard(self) -> list[list[dict[str, Any]]]:
        markup = self.reply_markup or {}
        return markup.get("inline_keyboard") or []

    @property
    def buttons(self) -> list[list[str]]:
        """Labels of the inline keyboard, row by row."""
        return [[button["text"] for button in row] for row in self.inline_keyboard]

    @property
    def reply_buttons(self) -> list[list[str]]:
        """Labels of the reply keyboard this message carries, row by row."""
        markup = self.reply_markup or {}
        return [[button["text"] for button in row] for row in markup.get("keyboard") or []]

    def button(self, label: str) -> dict[str, Any]:
        """The inline button with exactly this label, else the only one containing it."""
        flat = [button for row in self.inline_keyboard for button in row]
        exact = [b for b in flat if b["text"] == label]
        if exact:
            return exact[0]
        partial = [b for b in flat if label in b["text"]]
        if len(partial) == 1:
            return partial[0]
        labels = [b["text"] for b in flat]
        if partial:
            raise AssertionError(f"{label!r} matches several buttons: {[b['text'] for b in partial]}")
        raise AssertionError(f"no button {label!r} in message {self.message_id}; buttons: {labels}")

    def button_data(self, label: str) -> str | None:
        return self.button(label).get("callback_data")


@dataclass
class CallbackAnswer:
    """What the bot answered to a button press (answerCallbackQuery)."""

    text: str | None
    show_alert: bool = False
    url: str | None = None
    answered: bool = True


@dataclass
class SentMessage:
    update_id: int
    message: ChatMessage
    handled: bool


@dataclass
class PressResult:
    update_id: int
    callback_query_id: str
    answer: CallbackAnswer | None
    handled: bool


@dataclass
class ChatView:
    version: int
    messages: list[ChatMessage]
    keyboard: dict[str, Any] | None = None


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


class SandboxClient:
    """Talks to ``{url}/sandbox/api``. Share one client between many simulated people."""

    def __init__(self, url: str, session: aiohttp.ClientSession | None = None) -> None:
        self.url = url.rstrip("/")
        self._own_session = session is None
        self._session = session

    @property
    def session(self) -> aiohttp.ClientSession:
        if self._session is None:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=0), timeout=aiohttp.ClientTimeout(total=None)
            )
        return self._session

    async def close(self) -> None:
        if self._own_session and self._session is not None:
            await self._session.close()
            self._session = None

    async def __aenter__(self) -> SandboxClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def request(
        self, method: str, path: str, body: Any = None, params: dict[str, Any] | None = None
    ) -> Any:
        async with self.session.request(method, f"{self.url}{path}", json=body, params=params) as response:
            data = await response.json(content_type=None)
            if response.status >= 400:
                message = data.get("error") if isinstance(data, dict) else None
                raise SandboxError(response.status, message or str(data))
            return data

    # bot and people -------------------------------------------------------------------------------
    async def bot(self, language: str | None = None) -> dict[str, Any]:
        """The bot; with ``language`` also its name, description and short description in it."""
        params = {"language": language} if language is not None else None
        return await self.request("GET", "/sandbox/api/bot", params=params)

    async def bot_for(self, person_id: int) -> dict[str, Any]:
        """The bot as a person sees it: descriptions in their language, their commands, the menu button."""
        return await self.request("GET", f"/sandbox/api/people/{person_id}/bot")

    async def people(self) -> list[dict[str, Any]]:
        return (await self.request("GET", "/sandbox/api/people"))["people"]

    async def create_person(
        self,
        first_name: str,
        last_name: str | None = None,
        username: str | None = None,
        language_code: str | None = None,
        person_id: int | None = None,
        started: bool = True,
    ) -> dict[str, Any]:
        body: dict[str, Any] = {"first_name": first_name, "started": started}
        for key, value in (
            ("last_name", last_name),
            ("username", username),
            ("language_code", language_code),
            ("id", person_id),
        ):
            if value is not None:
                body[key] = value
        return await self.request("POST", "/sandbox/api/people", body)

    async def reset(self) -> None:
        await self.request("POST", "/sandbox/api/reset", {})

    # what a person does ---------------------------------------------------------------------------
    async def send(
        self,
        person_id: int,
        content: dict[str, Any],
        *,
        reply_to_message_id: int | None = None,
        wait: bool = True,
        timeout: float = 10.0,
    ) -> SentMessage:
        """Send one message; ``content`` is e.g. ``{"text": "hi"}`` or ``{"location": {...}}``."""
        body = {**content, "wait": wait, "timeout": timeout}
        if reply_to_message_id is not None:
            body["reply_to_message_id"] = reply_to_message_id
        data = await self.request("POST", f"/sandbox/api/people/{person_id}/messages", body)
        return SentMessage(data["update_id"], ChatMessage.from_json(data["message"]), data["handled"])

    async def send_text(self, person_id: int, text: str, **options: Any) -> SentMessage:
        return await self.send(person_id, {"text": text}, **options)

    async def send_photo(
        self,
        person_id: int,
        data: bytes,
        caption: str | None = None,
        filename: str = "photo.png",
        **options: Any,
    ) -> SentMessage:
        content: dict[str, Any] = {"photo": {"data": _b64(data), "filename": filename}}
        if caption is not None:
            content["caption"] = caption
        return await self.send(person_id, content, **options)

    async def send_document(
        self,
        person_id: int,
        data: bytes,
        filename: str,
        mime_type: str | None = None,
        caption: str | None = None,
        **options: Any,
    ) -> SentMessage:
        document: dict[str, Any] = {"data": _b64(data), "filename": filename}
        if mime_type:
            document["mime_type"] = mime_type
        content: dict[str, Any] = {"document": document}
        if caption is not None:
            content["caption"] = caption
        return await self.send(person_id, content, **options)

    async def send_sticker(self, person_id: int, emoji: str, **options: Any) -> SentMessage:
        return await self.send(person_id, {"sticker": {"emoji": emoji}}, **options)

    async def share_contact(
        self,
        person_id: int,
        phone_number: str,
        first_name: str | None = None,
        user_id: int | None = None,
        own: bool = True,
        **options: Any,
    ) -> SentMessage:
        """Share one's own contact (``own=True``), or someone else's (with ``first_name``, maybe ``user_id``)."""
        contact: dict[str, Any] = {"phone_number": phone_number}
        if first_name is not None:
            contact["first_name"] = first_name
        if not own:
            contact["user_id"] = user_id
        return await self.send(person_id, {"contact": contact}, **options)

    async def share_location(
        self, person_id: int, latitude: float, longitude: float, **options: Any
    ) -> SentMessage:
        return await self.send(
            person_id, {"location": {"latitude": latitude, "longitude": longitude}}, **options
        )

    async def press(
        self, person_id: int, message_id: int, data: str, *, wait: bool = True, timeout: float = 10.0
    ) -> PressResult:
        body = {"message_id": message_id, "data": data, "wait": wait, "timeout": timeout}
        result = await self.request("POST", f"/sandbox/api/people/{person_id}/callbacks", body)
        answer = result.get("answer")
        return PressResult(
            result["update_id"],
            result["callback_query_id"],
            CallbackAnswer(answer.get("text"), bool(answer.get("show_alert")), answer.get("url"))
            if answer
            else None,
            result["handled"],
        )

    async def block(
        self, person_id: int, blocked: bool = True, *, wait: bool = True, timeout: float = 10.0
    ) -> dict:
        body = {"blocked": blocked, "wait": wait, "timeout": timeout}
        return await self.request("POST", f"/sandbox/api/people/{person_id}/block", body)

    async def chat(self, person_id: int, since: int | None = None, wait: float = 25.0) -> ChatView:
        """The whole chat; with ``since``, waits up to ``wait`` seconds for a version newer than it."""
        return await self._chat(f"/sandbox/api/people/{person_id}/chat", since, wait)

    async def _chat(self, path: str, since: int | None, wait: float) -> ChatView:
        params = {"since": since, "wait": wait} if since is not None else None
        data = await self.request("GET", path, params=params)
        return ChatView(
            data["version"], [ChatMessage.from_json(m) for m in data["messages"]], data.get("keyboard")
        )

    # groups and files -----------------------------------------------------------------------------
    async def create_group(
        self,
        title: str,
        group_id: int | None = None,
        members: list[int] | None = None,
        kind: str = "supergroup",
    ) -> dict[str, Any]:
        body: dict[str, Any] = {"title": title, "type": kind, "members": members or []}
        if group_id is not None:
            body["id"] = group_id
        return await self.request("POST", "/sandbox/api/groups", body)

    async def group_chat(self, group_id: int, since: int | None = None, wait: float = 25.0) -> ChatView:
        return await self._chat(f"/sandbox/api/groups/{group_id}/chat", since, wait)

    async def send_to_group(
        self, group_id: int, person_id: int, text: str, *, wait: bool = True, timeout: float = 10.0
    ) -> SentMessage:
        body = {"person_id": person_id, "text": text, "wait": wait, "timeout": timeout}
        data = await self.request("POST", f"/sandbox/api/groups/{group_id}/messages", body)
        return SentMessage(data["update_id"], ChatMessage.from_json(data["message"]), data["handled"])

    async def file(self, file_id: str) -> bytes:
        async with self.session.get(f"{self.url}/sandbox/files/{file_id}") as response:
            if response.status >= 400:
                raise SandboxError(response.status, "no such file")
            return await response.read()
