"""An update delivered twice (a webhook retry, a replay) is handled once.

The update's id is claimed inside the update's own transaction (after `DatabaseMiddleware`), with an
insert that does nothing on a conflict: one statement and no transaction of its own. On PostgreSQL an
update of a person is claimed in the statement that reads them (`ResidentMiddleware`, with
`claimed_column`: the insert as a data-modifying WITH), one round trip fewer, and this middleware
reads the outcome it left (`CLAIMED`). The claim is committed with what the update did; if handling
fails before anything was committed, the claim is rolled back with the rest and a redelivery is
handled again: a process killed while handling an update has recorded nothing, the webhook call got no
2xx, Telegram delivers the update again and another instance handles it. Two deliveries at once: on
PostgreSQL the second insert waits for the first transaction and then finds the row; on SQLite
transactions run one at a time.

An update arrives again only when its first delivery got no 2xx: the process handling it died or timed
out. If it died after committing what the update did but before its answer went out, the update is
recorded and its answer lost, and handling it again would do it twice (a tick undone, a support
toggled back). So a redelivered update is not handled again: it is answered with the first answer the
update made, kept with its id (`keep_first`). That answer is the first Bot API call made while handling
the update, kept in the transaction that `CommitBeforeSending` commits before the call goes out, or,
when the update made no call, its result (the webhook reply), kept in the transaction committed after
the handler. Sending it again is what the person missed: the webhook reply surely never reached
Telegram; an edit is the same edit; a message sent by a call that did go out arrives twice, which says
no more than the first. An answer that uploads a file is not kept, and an update with no answer kept
(or kept longer ago than `ANSWER_KEEP`) gets a note instead: it was taken, and how to carry on
(`again_text`, in the person's language: this middleware runs after the resident and the locale are
known). A press delivered again is also answered, silently, in the webhook's reply, so that its spinner
stops (or with the answer kept, when that was the press's only one).

A kept answer holds the person's Telegram id (in its own column too), so it is kept only for a person
who has accepted the privacy notice: in a group, before consent, or by the update that deletes the
account or refuses the notice, nothing is kept (and such a redelivery gets the note). The purge
(`purge_processed`, every ten minutes from the worker) clears a kept answer after `ANSWER_KEEP`, and the
deletion of the account or the refusal of the notice at once.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from datetime import timedelta
from typing import Any

import aiogram.methods
from aiogram import BaseMiddleware
from aiogram.exceptions import TelegramAPIError
from aiogram.methods import AnswerCallbackQuery, TelegramMethod
from aiogram.types import TelegramObject, Update
from aiogram.utils.i18n import gettext as _
from pydantic import ValidationError
from pydantic_core import PydanticSerializationError
from sqlalchemy import ColumnElement, bindparam, delete, func, inspect, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.i18n import N_
from bot.middlewares.metrics import DUPLICATE
from storage.models import ProcessedUpdate, Resident, utcnow

log = logging.getLogger(__name__)
KEEP = timedelta(days=2)
ANSWER_KEEP = timedelta(hours=1)


def _claim(dialect: Any) -> Any:
    return (
        dialect.insert(ProcessedUpdate.__table__)
        .values(bot_id=bindparam("bot_id"), update_id=bindparam("update_id"), at=bindparam("at"))
        .on_conflict_do_nothing(index_elements=["bot_id", "update_id"])
    )


# built once per dialect, as every update runs one (a reused statement keeps its cache key)
_CLAIMS = {"postgresql": _claim(postgresql), "sqlite": _claim(sqlite)}

# where `ResidentMiddleware` leaves whether the statement that read the person claimed the update
CLAIMED = "meydan_claimed"


def claimed_column() -> ColumnElement[int]:
    """PostgreSQL: the claim as a column of another statement, 1 if this update was claimed now and 0
    if it had been before (bound `bot_id`, `update_id` and `at`, as `claim`'s). The insert is a WITH
    of that statement, which PostgreSQL runs once and to the end whether or not the rest reads it; a
    second delivery at the same moment waits for the first's transaction, as `claim` does."""
    claimed = _claim(postgresql).returning(ProcessedUpdate.__table__.c.update_id).cte("claim")
    return select(func.count()).select_from(claimed).scalar_subquery().label("claimed")


async def claim(session: AsyncSession, bot_id: int, update_id: int) -> bool:
    """Record the update as handled in the session's transaction; False if it already was."""
    statement = _CLAIMS[session.get_bind().dialect.name]
    result = await session.execute(statement, {"bot_id": bot_id, "update_id": update_id, "at": utcnow()})
    return bool(result.rowcount)


class DedupMiddleware(BaseMiddleware):
    """Skips an update already handled, telling its sender (`again_text`); runs inside
    `DatabaseMiddleware` and uses its session, after the resident and the locale are known."""

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        if not isinstance(event, Update):
            return await handler(event, data)
        session: AsyncSession = data["session"]
        bot_id = data["bot"].id
        claimed = data.pop(CLAIMED, None)
        if claimed is None:
            claimed = await claim(session, bot_id, event.update_id)
        if not claimed:
            log.info("duplicate update skipped update_id=%s", event.update_id)
            data[DUPLICATE] = True
            return await _tell(event, data, await kept_answer(session, bot_id, event.update_id))
        user = data.get("event_from_user")
        first = _First(session, bot_id, event.update_id, user.id if user is not None else None, data)
        token = _first.set(first)
        try:
            result = await handler(event, data)
            if isinstance(result, TelegramMethod):
                await keep_first(session, result)
            return result
        finally:
            _first.reset(token)


AGAIN = N_(
    "⚠️ That reached Meydan a second time, and it was done once. If no answer came, send /menu to carry on."
)


def again_text() -> str:
    return _(AGAIN)


async def _tell(
    update: Update, data: dict[str, Any], answer: TelegramMethod[Any] | None
) -> AnswerCallbackQuery | None:
    """Send the update's kept answer again; without one, say `again_text` to the person whose message or
    press came again (a private chat only). What it returns goes in the webhook's reply: for a press,
    its answer, the kept one or a silent one, so that its spinner stops."""
    query = update.callback_query
    if isinstance(answer, AnswerCallbackQuery):
        return answer
    if answer is not None:
        try:
            await data["bot"](answer)
        except TelegramAPIError as error:  # an edit already made: the first went out
            log.info("kept answer not sent again: %s", type(error).__name__)
    elif _may_note(update, data):
        try:
            await data["bot"].send_message(data["event_from_user"].id, again_text())
        except TelegramAPIError as error:  # blocked, or Telegram refusing: the update stays handled once
            log.info("no word on a duplicate update: %s", type(error).__name__)
    return AnswerCallbackQuery(callback_query_id=query.id) if query is not None else None


def _may_note(update: Update, data: dict[str, Any]) -> bool:
    chat = data.get("event_chat")
    user = data.get("event_from_user")
    if update.message is None and update.callback_query is None:
        return False
    return user is not None and not user.is_bot and (chat is None or chat.type == "private")


async def purge_processed(session_factory: async_sessionmaker[AsyncSession]) -> int:
    """Forget update ids older than two days (Telegram keeps undelivered updates for one day), and the
    answers kept longer than `ANSWER_KEEP`; how many ids were forgotten."""
    now = utcnow()
    async with session_factory.begin() as session:
        result = await session.execute(delete(ProcessedUpdate).where(ProcessedUpdate.at < now - KEEP))
        await session.execute(
            update(ProcessedUpdate)
            .where(ProcessedUpdate.at < now - ANSWER_KEEP, ProcessedUpdate.answer_method.is_not(None))
            .values(FORGET_ANSWER)
            .execution_options(synchronize_session=False)
        )
        return result.rowcount or 0


# -- the update's first answer, kept with its id


class _First:
    """The update being handled, in the task handling it, until its first answer is kept."""

    __slots__ = ("bot_id", "data", "kept", "session", "task", "telegram_id", "update_id")

    def __init__(
        self,
        session: AsyncSession,
        bot_id: int,
        update_id: int,
        telegram_id: int | None,
        data: dict[str, Any],
    ) -> None:
        self.session = session
        self.bot_id = bot_id
        self.update_id = update_id
        self.telegram_id = telegram_id
        self.data = data
        self.task = asyncio.current_task()
        self.kept = False


_first: ContextVar[_First | None] = ContextVar("meydan_first_answer", default=None)

# what clears a kept answer (the purge, the deletion of an account)
FORGET_ANSWER = {"answer_to": None, "answer_method": None, "answer": None}

_UPDATES = ProcessedUpdate.__table__.c
# on the table, not the entity: an ORM UPDATE would look for the row among the session's objects first
_KEEP = (
    update(ProcessedUpdate.__table__)
    .where(_UPDATES.bot_id == bindparam("b_bot_id"), _UPDATES.update_id == bindparam("b_update_id"))
    .values(answer_to=bindparam("answer_to"), answer_method=bindparam("method"), answer=bindparam("answer"))
)
_KEPT = select(ProcessedUpdate.answer_method, ProcessedUpdate.answer).where(
    ProcessedUpdate.bot_id == bindparam("bot_id"),
    ProcessedUpdate.update_id == bindparam("update_id"),
    ProcessedUpdate.at >= bindparam("since"),
)


async def keep_first(session: AsyncSession, method: TelegramMethod[Any]) -> None:
    """Keep `method` as the answer of the update this task is handling, in `session`'s transaction, if it
    is its first: `CommitBeforeSending` calls it before the commit that precedes a call, this middleware
    with the update's result. Nothing is kept for an update delivered again, for a method that uploads a
    file, or for a person who has not accepted the privacy notice (or no longer has an account)."""
    first = _first.get()
    if (
        first is None
        or first.kept
        or first.task is not asyncio.current_task()
        or first.session is not session
    ):
        return
    first.kept = True
    if not _consented(first.data.get("resident")):
        return
    await keep(session, first.bot_id, first.update_id, first.telegram_id, method)


def _consented(resident: Resident | None) -> bool:
    """Whether the person has accepted the privacy notice and still has their account: nothing of them
    is kept before, and nothing after they deleted it or refused the notice in this very update."""
    if resident is None or resident.consent_at is None or resident.telegram_id is None:
        return False
    state = inspect(resident)
    return not (state.deleted or state.was_deleted)


async def keep(
    session: AsyncSession, bot_id: int, update_id: int, answer_to: int | None, method: TelegramMethod[Any]
) -> bool:
    """Keep `method` with the update's id, as answering `answer_to`; False for one that uploads a file."""
    try:
        params = method.model_dump_json(exclude_defaults=True)
    except PydanticSerializationError:
        return False
    values = {"b_bot_id": bot_id, "b_update_id": update_id, "answer_to": answer_to, "answer": params}
    await session.execute(_KEEP, {**values, "method": type(method).__name__})
    return True


async def kept_answer(session: AsyncSession, bot_id: int, update_id: int) -> TelegramMethod[Any] | None:
    """The answer kept for the update, if one was kept less than `ANSWER_KEEP` ago."""
    row = (
        await session.execute(
            _KEPT, {"bot_id": bot_id, "update_id": update_id, "since": utcnow() - ANSWER_KEEP}
        )
    ).first()
    if row is None or row.answer_method is None or row.answer is None:
        return None
    kind = getattr(aiogram.methods, row.answer_method, None)
    if not (isinstance(kind, type) and issubclass(kind, TelegramMethod)):
        return None
    try:
        return kind.model_validate_json(row.answer)
    except ValidationError:  # kept by another version of aiogram, no longer valid
        return None
