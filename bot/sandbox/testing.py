"""The flow-test helper: a running emulator (``Sandbox``) and simulated people (``Person``) who use the bot.

async with Sandbox(limits=Limits.for_tests()) as sb:
    bot = Bot(sb.token, session=AiohttpSession(api=sb.api_server()))
    ...  # start the bot (polling or webhook) against sb.url
    ayse = await sb.person("Ayşe", language_code="tr")
    reply = await ayse.say("/start")
    await ayse.press("English")
"""

from __future__ import annotations

import base64
import struct
import time
import zlib
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from bot.sandbox.client import (
    CallbackAnswer,
    ChatMessage,
    ChatView,
    PressResult,
    SandboxClient,
    SentMessage,
)
from bot.sandbox.emulator import Emulator
from bot.sandbox.limits import Limits

if TYPE_CHECKING:
    from aiogram.client.telegram import TelegramAPIServer

__all__ = ["CallbackAnswer", "ChatMessage", "Group", "Limits", "Person", "Sandbox", "tiny_png"]

SANDBOX_TOKEN = "7000000001:AAsandbox-flow-tests-token_000000"


def tiny_png(width: int = 2, height: int = 2, rgb: tuple[int, int, int] = (200, 40, 40)) -> bytes:
    """A valid PNG image of one colour, for sending photos in tests."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    row = b"\x00" + bytes(rgb) * width
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(row * height))
        + chunk(b"IEND", b"")
    )


class Sandbox:
    """Runs an emulator on 127.0.0.1 (or attaches to one) and creates simulated people."""

    def __init__(
        self,
        limits: Limits | None = None,
        *,
        token: str = SANDBOX_TOKEN,
        emulator: Emulator | None = None,
        url: str | None = None,
        **emulator_options: Any,
    ) -> None:
        self._own = emulator is None and url is None
        if self._own:
            emulator = Emulator(token=token, limits=limits or Limits.for_tests(), **emulator_options)
        self.emulator = emulator
        self._url = url
        self._token = token
        self._client: SandboxClient | None = None

    @property
    def url(self) -> str:
        if self._url is not None:
            return self._url
        assert self.emulator is not None
        return self.emulator.url

    @property
    def token(self) -> str:
        if self.emulator is not None and self.emulator.token:
            return self.emulator.token
        return self._token

    @property
    def client(self) -> SandboxClient:
        if self._client is None:
            self._client = SandboxClient(self.url)
        return self._client

    def api_server(self) -> TelegramAPIServer:
        """aiogram's server description pointing at this sandbox."""
        from aiogram.client.telegram import TelegramAPIServer

        return TelegramAPIServer.from_base(self.url)

    async def __aenter__(self) -> Sandbox:
        if self._own:
            assert self.emulator is not None
            await self.emulator.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._client is not None:
            await self._client.close()
            self._client = None
        if self._own and self.emulator is not None:
            await self.emulator.stop()

    async def person(
        self,
        first_name: str,
        last_name: str | None = None,
        *,
        username: str | None = None,
        language_code: str | None = None,
        id: int | None = None,  # noqa: A002 - the person's Telegram id
        started: bool = True,
    ) -> Person:
        info = await self.client.create_person(first_name, last_name, username, language_code, id, started)
        return Person(self, info)

    async def group(self, title: str, members: list[Person] | None = None, id: int | None = None) -> Group:  # noqa: A002
        info = await self.client.create_group(title, id, [m.id for m in members or []])
        return Group(self, info)

    async def reset(self) -> None:
        await self.client.reset()


def _newest(messages: list[ChatMessage], after: int = 0) -> ChatMessage | None:
    for message in reversed(messages):
        if message.from_bot and message.message_id > after:
            return message
    return None


class Person:
    """A simulated Telegram user in a private chat with the bot."""

    def __init__(self, sandbox: Sandbox, info: dict[str, Any]) -> None:
        self.sandbox = sandbox
        self.id: int = info["id"]
        self.first_name: str = info["first_name"]
        self.last_name: str | None = info.get("last_name")
        self.username: str | None = info.get("username")
        self.language_code: str | None = info.get("language_code")
        self.timeout = 10.0

    def __repr__(self) -> str:
        return f"Person({self.id}, {self.first_name!r})"

    @property
    def client(self) -> SandboxClient:
        return self.sandbox.client

    async def _reply_to(self, sent: SentMessage, check: bool) -> ChatMessage | None:
        if check and not sent.handled:
            raise AssertionError(f"the bot did not handle update {sent.update_id} within {self.timeout}s")
        return _newest(await self.chat(), after=sent.message.message_id)

    async def _send(self, content: dict[str, Any], reply_to: int | None, check: bool) -> ChatMessage | None:
        sent = await self.client.send(self.id, content, reply_to_message_id=reply_to, timeout=self.timeout)
        return await self._reply_to(sent, check)

    # sending ---------------------------------------------------------------------------------------
    async def say(self, text: str, *, reply_to: int | None = None, check: bool = True) -> ChatMessage | None:
        """Send text (``/command`` included); the newest bot message sent in answer, or None."""
        return await self._send({"text": text}, reply_to, check)

    async def send_photo(
        self, data: bytes | None = None, caption: str | None = None, *, check: bool = True
    ) -> ChatMessage | None:
        content: dict[str, Any] = {"photo": {"data": _b64(data or tiny_png()), "filename": "photo.png"}}
        if caption is not None:
            content["caption"] = caption
        return await self._send(content, None, check)

    async def send_document(
        self,
        data: bytes,
        filename: str,
        mime_type: str | None = None,
        caption: str | None = None,
        *,
        check: bool = True,
    ) -> ChatMessage | None:
        document: dict[str, Any] = {"data": _b64(data), "filename": filename}
        if mime_type:
            document["mime_type"] = mime_type
        content: dict[str, Any] = {"document": document}
        if caption is not None:
            content["caption"] = caption
        return await self._send(content, None, check)

    async def send_sticker(self, emoji: str = "👍", *, check: bool = True) -> ChatMessage | None:
        return await self._send({"sticker": {"emoji": emoji}}, None, check)

    async def share_contact(
        self,
        phone: str = "+905551112233",
        user_id: int | None = None,
        first_name: str | None = None,
        *,
        check: bool = True,
    ) -> ChatMessage | None:
        """Share one's own contact, or someone else's when ``user_id`` names another person (or is 0)."""
        contact: dict[str, Any] = {"phone_number": phone}
        if user_id is not None and user_id != self.id:
            contact["user_id"] = user_id or None
            contact["first_name"] = first_name or "Contact"
        elif first_name is not None:
            contact["first_name"] = first_name
        return await self._send({"contact": contact}, None, check)

    async def share_location(
        self, latitude: float, longitude: float, *, check: bool = True
    ) -> ChatMessage | None:
        return await self._send({"location": {"latitude": latitude, "longitude": longitude}}, None, check)

    # buttons ---------------------------------------------------------------------------------------
    async def press(
        self, label: str, message: ChatMessage | None = None, *, check: bool = True
    ) -> CallbackAnswer:
        """Press the inline button ``label`` in ``message`` (default: the newest bot message with buttons)."""
        if message is None:
            messages = await self.chat()
            message = next(
                (m for m in reversed(messages) if m.from_bot and m.inline_keyboard),
                None,
            )
            if message is None:
                keyboard = await self.keyboard()
                hint = f"; the reply keyboard has {keyboard} (use tap())" if keyboard else ""
                raise AssertionError(f"no bot message with inline buttons{hint}")
        try:
            button = message.button(label)
        except AssertionError as error:
            keyboard = await self.keyboard()
            if any(label in row for row in keyboard):
                raise AssertionError(f"{error}; {label!r} is on the reply keyboard (use tap())") from None
            raise
        data = button.get("callback_data")
        if data is None:
            raise AssertionError(f"button {button['text']!r} has no callback_data: {button}")
        return await self.press_data(message.message_id, data, check=check)

    async def press_data(self, message_id: int, data: str, *, check: bool = True) -> CallbackAnswer:
        """Press a button with raw (possibly forged) callback data on message ``message_id``."""
        result: PressResult = await self.client.press(self.id, message_id, data, timeout=self.timeout)
        if check and not result.handled:
            raise AssertionError(
                f"the bot did not handle callback update {result.update_id} within {self.timeout}s"
            )
        if result.answer is None:
            return CallbackAnswer(text=None, show_alert=False, url=None, answered=False)
        return result.answer

    async def keyboard(self) -> list[list[str]]:
        """Labels of the reply keyboard the person has now (empty when none)."""
        view = await self.view()
        rows = (view.keyboard or {}).get("keyboard") or []
        return [[button["text"] for button in row] for row in rows]

    async def tap(
        self,
        label: str,
        *,
        phone: str = "+905551112233",
        location: tuple[float, float] | None = None,
        check: bool = True,
    ) -> ChatMessage | None:
        """Tap a reply-keyboard button: sends its text, or the contact / location it requests."""
        view = await self.view()
        rows = (view.keyboard or {}).get("keyboard") or []
        button = next((b for row in rows for b in row if b["text"] == label), None)
        if button is None:
            labels = [[b["text"] for b in row] for row in rows]
            raise AssertionError(f"no reply-keyboard button {label!r}; keyboard: {labels}")
        if button.get("request_contact"):
            return await self.share_contact(phone, check=check)
        if button.get("request_location"):
            if location is None:
                raise AssertionError(f"{label!r} requests a location: pass location=(latitude, longitude)")
            return await self.share_location(*location, check=check)
        return await self.say(label, check=check)

    # blocking --------------------------------------------------------------------------------------
    async def block(self) -> None:
        await self.client.block(self.id, True, timeout=self.timeout)

    async def unblock(self) -> None:
        await self.client.block(self.id, False, timeout=self.timeout)

    # reading ---------------------------------------------------------------------------------------
    async def view(self) -> ChatView:
        return await self.client.chat(self.id)

    async def chat(self) -> list[ChatMessage]:
        """The whole chat as the person sees it now, oldest first."""
        return (await self.view()).messages

    async def bot_messages(self) -> list[ChatMessage]:
        return [m for m in await self.chat() if m.from_bot]

    async def last_message(self) -> ChatMessage | None:
        """The newest message from the bot (with its current text and keyboard), or None."""
        return _newest(await self.chat())

    async def wait_for(self, predicate: Callable[[ChatMessage], bool], timeout: float = 5.0) -> ChatMessage:
        """The first bot message sent after this call that matches ``predicate`` (for broadcasts, reminders)."""
        view = await self.view()
        known = max((m.message_id for m in view.messages), default=0)
        deadline = time.monotonic() + timeout
        seen: list[ChatMessage] = []
        while True:
            fresh = [m for m in view.messages if m.from_bot and m.message_id > known]
            for message in fresh:
                if predicate(message):
                    return message
            seen = fresh
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(
                    f"no matching bot message within {timeout}s; new bot messages: {[m.body for m in seen]}"
                )
            view = await self.client.chat(self.id, since=view.version, wait=remaining)


class Group:
    """A group chat the bot is in (for example the staff group)."""

    def __init__(self, sandbox: Sandbox, info: dict[str, Any]) -> None:
        self.sandbox = sandbox
        self.id: int = info["id"]
        self.title: str = info["title"]

    async def messages(self) -> list[ChatMessage]:
        return (await self.sandbox.client.group_chat(self.id)).messages

    async def last_message(self) -> ChatMessage | None:
        return _newest(await self.messages())

    async def say(self, person: Person, text: str) -> ChatMessage | None:
        sent = await self.sandbox.client.send_to_group(self.id, person.id, text)
        return _newest(await self.messages(), after=sent.message.message_id)

    async def wait_for(self, predicate: Callable[[ChatMessage], bool], timeout: float = 5.0) -> ChatMessage:
        client = self.sandbox.client
        view = await client.group_chat(self.id)
        known = max((m.message_id for m in view.messages), default=0)
        deadline = time.monotonic() + timeout
        while True:
            for message in view.messages:
                if message.from_bot and message.message_id > known and predicate(message):
                    return message
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"no matching bot message in group {self.title!r} within {timeout}s")
            view = await client.group_chat(self.id, since=view.version, wait=remaining)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")
