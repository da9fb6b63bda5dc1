"""The bot's Telegram client: a custom Bot API server when configured, and flood-limit handling."""

from __future__ import annotations

import asyncio
import json
import logging
from http import HTTPStatus
from typing import Any

from aiogram import Bot
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.session.middlewares.base import BaseRequestMiddleware, NextRequestMiddlewareType
from aiogram.client.telegram import TelegramAPIServer
from aiogram.enums import ParseMode
from aiogram.exceptions import TelegramRetryAfter
from aiogram.methods import EditMessageCaption, EditMessageReplyMarkup, EditMessageText, TelegramMethod
from aiogram.methods.base import Response, TelegramType
from aiohttp import FormData, JsonPayload

from bot.middlewares.answer import AnsweredTracker
from bot.middlewares.database import CommitBeforeSending
from bot.middlewares.metrics import TelegramErrorCounter
from bot.middlewares.reply import SendHeldFirst, flood_seen

log = logging.getLogger(__name__)


class RetryAfterMiddleware(BaseRequestMiddleware):
    """On HTTP 429 wait `retry_after` seconds, as Telegram asks, then send again (a few times at most)."""

    def __init__(self, attempts: int = 5, max_wait: float = 60.0) -> None:
        self.attempts = attempts
        self.max_wait = max_wait

    async def __call__(
        self,
        make_request: NextRequestMiddlewareType[TelegramType],
        bot: Bot,
        method: TelegramMethod[TelegramType],
    ) -> Response[TelegramType]:
        for attempt in range(1, self.attempts + 1):
            try:
                return await make_request(bot, method)
            except TelegramRetryAfter as exc:
                flood_seen(exc.retry_after)
                if attempt == self.attempts or exc.retry_after > self.max_wait:
                    raise
                log.info(
                    "flood limit method=%s retry_after=%s attempt=%s",
                    method.__api_method__,
                    exc.retry_after,
                    attempt,
                )
                await asyncio.sleep(exc.retry_after)
        raise AssertionError("unreachable")


class KeepResponseTypes(BaseRequestMiddleware):
    """aiogram validates every answer as `Response[<result type>]`; pydantic keeps such parametrised
    classes only weakly, so under load they are garbage-collected and rebuilt (1-5 ms each) again and
    again. Holding a reference to each method's class the first time it is used stops that."""

    def __init__(self) -> None:
        self._kept: dict[type, type] = {}

    async def __call__(
        self,
        make_request: NextRequestMiddlewareType[TelegramType],
        bot: Bot,
        method: TelegramMethod[TelegramType],
    ) -> Response[TelegramType]:
        kind = type(method)
        if kind not in self._kept:
            self._kept[kind] = Response[method.__returning__]  # type: ignore[name-defined]
        return await make_request(bot, method)


# The updates' parts that hold a message; a press's message is the callback query's.
_MESSAGES = (
    "message",
    "edited_message",
    "channel_post",
    "edited_channel_post",
    "business_message",
    "edited_business_message",
)


# What the bot made and never reads back, in a message of its own: the inline keyboard, and the
# formatting of its text or caption (the HTML it sent, as entities).
_BOT_MADE = ("reply_markup", "entities", "caption_entities")


def _trim(message: dict[str, Any]) -> None:
    for key in _BOT_MADE:
        message.pop(key, None)


def _trim_update(update: dict[str, Any]) -> None:
    for key in _MESSAGES:  # a person's message keeps its formatting: only an inline bot's keyboard goes
        message = update.get(key)
        if isinstance(message, dict):
            message.pop("reply_markup", None)
    query = update.get("callback_query")
    if isinstance(query, dict) and isinstance(query.get("message"), dict):
        _trim(query["message"])  # the pressed message is the bot's own


def loads_trimmed(text: str | bytes) -> Any:
    """JSON from Telegram without what the bot made and never reads back (`_BOT_MADE`): in the message
    a press came from (in every press's update) and in a message just sent or edited (in the answer).
    Parsing a keyboard into aiogram's objects costs more than the rest of the update (0.25-0.35 ms for
    a page of ideas, where the update without it takes 0.03 ms), and the entities of a ballot page's
    four bold or code runs 20 µs, twice a press. A person's own messages keep their entities."""
    data = json.loads(text)
    if not isinstance(data, dict):
        return data
    if "update_id" in data:  # a webhook's body
        _trim_update(data)
        return data
    result = data.get("result")
    if isinstance(result, dict):  # a message sent or edited
        _trim(result)
    elif isinstance(result, list):  # getUpdates
        for update in result:
            if isinstance(update, dict):
                _trim_update(update)
    return data


# Parameters that pydantic's dump leaves as Telegram takes them: a keyboard is dicts, lists, texts and
# flags (no file, no date, no default of the bot's), and `prepare_value` walking its buttons one by one
# in Python cost an edit with a page of fifteen buttons about 25 µs.
_DUMPED_AS_SENT = frozenset({"reply_markup"})


# Edits whose answer, the message as edited, the bot never reads: a successful one answers `True`,
# one answer for all (aiogram hands its caller the result and drops the answer)
_EDITS = (EditMessageText, EditMessageCaption, EditMessageReplyMarkup)
_EDITED = Response[bool](ok=True, result=True)


class Session(AiohttpSession):
    """aiogram's aiohttp session that parses answers with `loads_trimmed` and sends a call
    without files as a JSON body: aiogram's urlencoded form percent-escapes a keyboard's JSON byte by
    byte in Python (0.1-0.2 ms a call for a page of ideas), where `json.dumps` does it in C.

    A successful edit of a message (`_EDITS`) answers `True` rather than the message as edited, which
    the bot never reads (a press's screen is edited in place, `bot.ui.messages.replace`): validating
    that message into aiogram's objects cost about 40 µs an edit, most presses' one call. An edit that
    fails raises as any call does."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("json_loads", loads_trimmed)
        super().__init__(**kwargs)

    def json_body(self, bot: Bot, call: TelegramMethod[Any], **extra: Any) -> JsonPayload | None:
        """The call's parameters (and `extra`) as a JSON body, or None when it uploads a file. Fields
        left None are left out by pydantic, as `prepare_value` would drop them: a keyboard's button has
        a dozen fields and uses two, and walking the rest in Python cost a page of buttons 25 µs."""
        files: dict[str, Any] = {}
        values = {**extra}
        for key, value in call.model_dump(warnings=False, exclude_none=True).items():
            if key in _DUMPED_AS_SENT:
                values[key] = value
                continue
            prepared = self.prepare_value(value, bot=bot, files=files, _dumps_json=False)
            if prepared is not None:
                values[key] = prepared
        return None if files else JsonPayload(values, dumps=self.json_dumps)

    def check_response(
        self, bot: Bot, method: TelegramMethod[TelegramType], status_code: int, content: str
    ) -> Response[TelegramType]:
        if isinstance(method, _EDITS) and status_code == HTTPStatus.OK:
            answer = self.json_loads(content)
            if isinstance(answer, dict) and answer.get("ok") is True and "result" in answer:
                return _EDITED  # type: ignore[return-value]
        return super().check_response(bot, method, status_code, content)

    def build_form_data(self, bot: Bot, method: TelegramMethod[TelegramType]) -> FormData:
        body = self.json_body(bot, method)
        return super().build_form_data(bot, method) if body is None else body  # type: ignore[return-value]


def make_bot(
    token: str,
    api_url: str | None = None,
    *,
    max_retry_wait: float = 60.0,
    client: str = "updates",
    **session_kwargs: Any,
) -> Bot:
    """The client; `client` names it in the 429/403 counters of `/metrics` (updates or outbox)."""
    session = (
        Session(api=TelegramAPIServer.from_base(api_url), **session_kwargs)
        if api_url
        else Session(**session_kwargs)
    )
    session.middleware(SendHeldFirst())  # outermost: the held message goes through all the rest
    session.middleware(CommitBeforeSending())
    session.middleware(KeepResponseTypes())
    session.middleware(RetryAfterMiddleware(max_wait=max_retry_wait))
    session.middleware(TelegramErrorCounter(client))  # inside the retry: every 429 counts
    session.middleware(AnsweredTracker())
    return Bot(token, session=session, default=DefaultBotProperties(parse_mode=ParseMode.HTML))
