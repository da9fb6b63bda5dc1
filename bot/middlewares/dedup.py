"""An update delivered twice (a webhook retry, a replay) is handled once.

The update's id is claimed inside the update's own transaction (after `DatabaseMiddleware`), with an
insert that does nothing on a conflict: one statement and no transaction of its own. An update of a
person is claimed in the statement that reads them (`ResidentMiddleware`), and this middleware reads the
outcome it left (`CLAIMED`). On PostgreSQL that statement makes the insert (`claimed_column`: a
data-modifying WITH). SQLite has no such WITH, so there the read says whether the update's row exists
(`unseen_column`) and the row is written later in the same transaction: with the update's first kept
answer, which is then an insert instead of an update, or else just before the transaction commits
(`_write_claim`). SQLite's transaction holds the write lock from its BEGIN (`storage.db`), so no other
transaction can write the row in between; either way an update of a person costs one statement here,
with its answers kept, where it cost two. The claim is committed with what the update did; if handling
fails before anything was committed, the claim is rolled back with the rest and a redelivery is
handled again: a process killed while handling an update has recorded nothing, the webhook call got no
2xx, Telegram delivers the update again and another instance handles it. Two deliveries at once: on
PostgreSQL the second insert waits for the first transaction and then finds the row; on SQLite
transactions run one at a time.

A press or a command that only shows something (a view, `bot.middlewares.resident`) is not claimed:
it is read with no transaction, its answers are not kept, and delivered again it is shown again.

An update arrives again only when its first delivery got no 2xx: the process handling it died or timed
out. If it died after committing what the update did but before its answers went out, the update is
recorded and its answers lost, and handling it again would do it twice (a tick undone, a support
toggled back). So a redelivered update is not handled again: it is answered with the answers the update
made, kept with its id (`keep_answer`). Each Bot API call that says something to the person (a message,
an edit, a press's answer) is kept, in its order, in the transaction that `CommitBeforeSending` commits
before the call goes out, and its result (the webhook reply) in the transaction committed after the
handler. A press's answer in the reply after an edit is not kept (the edit shows what the press did);
a redelivered press is answered silently, so that its spinner stops.
Sending them again gives the person what they missed: the webhook reply surely never reached Telegram;
an edit is the same edit; a message sent by a call that did go out arrives twice, which says no more
than the first. Kept answers are not sent when they are older than `ANSWER_KEEP`, or when a later update
of the same person has kept answers of its own (they have gone on, and an old edit would undo what
those showed). An answer that uploads a file ends what is kept for the update. Whenever nothing is
sent, or Telegram refuses one of them (other than an edit already made), the person also gets a note:
it was taken, and how to carry on (`again_text`, in their language: this middleware runs after the
resident and the locale are known).

Kept answers hold the person's Telegram id (in their own column too), so they are kept only for a person
who has accepted the privacy notice, never in a group, and not by the update that deletes the account
or refuses the notice, nor for a text that names another person (`keep_none`, which
`bot.ui.messages.respond` calls with `kept=False`). The purge (`purge_processed`, every ten minutes from
the worker) clears them after `ANSWER_KEEP`, and the deletion of the account or the refusal of the
notice at once.
"""

from __future__ import annotations

import asyncio
import json
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
from sqlalchemy import ColumnElement, bindparam, delete, event, func, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import Session

from bot.i18n import N_
from bot.middlewares.metrics import DUPLICATE, VIEWED
from bot.services import residents
from storage.direct import Direct
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

# where `ResidentMiddleware` leaves whether the statement that read the person claimed the update, and
# (SQLite) that the claim's row is still to be written
CLAIMED = "meydan_claimed"
UNWRITTEN = "meydan_claim_unwritten"
# and that the update is a press that only shows something, read with no transaction: not claimed
VIEWING = "meydan_viewing"


def claimed_column() -> ColumnElement[int]:
    """PostgreSQL: the claim as a column of another statement, 1 if this update was claimed now and 0
    if it had been before (bound `bot_id`, `update_id` and `at`, as `claim`'s). The insert is a WITH
    of that statement, which PostgreSQL runs once and to the end whether or not the rest reads it; a
    second delivery at the same moment waits for the first's transaction, as `claim` does."""
    claimed = _claim(postgresql).returning(ProcessedUpdate.__table__.c.update_id).cte("claim")
    return select(func.count()).select_from(claimed).scalar_subquery().label("claimed")


def unseen_column() -> ColumnElement[bool]:
    """SQLite: whether the update is new (it has no row yet), as a column of another statement (bound
    `bot_id` and `update_id`); its row is written later in the same transaction (`UNWRITTEN`)."""
    seen = select(_UPDATES.update_id).where(
        _UPDATES.bot_id == bindparam("bot_id"), _UPDATES.update_id == bindparam("update_id")
    )
    return (~seen.exists()).label("claimed")


async def claim(session: AsyncSession, bot_id: int, update_id: int) -> bool:
    """Record the update as handled in the session's transaction; False if it already was."""
    statement = _CLAIMS[session.get_bind().dialect.name]
    result = await session.execute(statement, {"bot_id": bot_id, "update_id": update_id, "at": utcnow()})
    return bool(result.rowcount)


class DedupMiddleware(BaseMiddleware):
    """Skips an update already handled, answering it with the answers it made (`kept_answers`) or the
    note (`again_text`), and keeps the answers of the others (`keep_answer`); runs inside
    `DatabaseMiddleware` and uses its session, after the resident and the locale are known."""

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        if not isinstance(event, Update):
            return await handler(event, data)
        viewing = data.pop(VIEWING, False)
        data[VIEWED] = viewing  # a view that turns out to be a change passes here again, as a change
        if viewing:  # shown again if delivered again: nothing to claim, nothing kept
            return await handler(event, data)
        session: AsyncSession = data["session"]
        bot_id = data["bot"].id
        claimed = data.pop(CLAIMED, None)
        unwritten = data.pop(UNWRITTEN, False)
        if claimed is None:
            claimed = await claim(session, bot_id, event.update_id)
        if not claimed:
            log.info("duplicate update skipped update_id=%s", event.update_id)
            data[DUPLICATE] = True
            return await _tell(event, data, await kept_answers(session, bot_id, event.update_id))
        answers = _Answers(session, bot_id, event.update_id, data.get("resident"), written=not unwritten)
        token = _answers.set(answers)
        try:
            result = await handler(event, data)
            # the webhook reply; a press's answer there only if nothing else was (the edit shows it)
            if isinstance(result, TelegramMethod) and not (
                answers.kept and isinstance(result, AnswerCallbackQuery)
            ):
                await keep_answer(session, result)
            if not answers.written:  # nothing kept, nothing committed yet: the transaction ends outside
                await session.run_sync(_claim_row, answers)
            return result
        finally:
            _answers.reset(token)


AGAIN = N_(
    "⚠️ That reached Meydan a second time, and it was done once. If no answer came, send /menu to carry on."
)


def again_text() -> str:
    return _(AGAIN)


async def _tell(
    update: Update, data: dict[str, Any], answers: list[TelegramMethod[Any]]
) -> AnswerCallbackQuery | None:
    """Send the update's kept answers again, in their order; without any, or when one is refused (other
    than an edit already made), also say `again_text` to the person whose message or press came again
    (a private chat only). What it returns goes in the webhook's reply: for a press, its answer (the
    kept one, or a silent one, so that its spinner stops)."""
    query = update.callback_query
    reply: AnswerCallbackQuery | None = None
    refused = not answers
    for answer in answers:
        if isinstance(answer, AnswerCallbackQuery):
            reply = answer
            continue
        try:
            await data["bot"](answer)
        except TelegramAPIError as error:
            if "not modified" not in error.message:  # an edit already made: the first went out
                refused = True
            log.info("kept answer not sent again: %s", type(error).__name__)
    if refused and _may_note(update, data):
        try:
            await data["bot"].send_message(data["event_from_user"].id, again_text())
        except TelegramAPIError as error:  # blocked, or Telegram refusing: the update stays handled once
            log.info("no word on a duplicate update: %s", type(error).__name__)
    if reply is None and query is not None:
        reply = AnswerCallbackQuery(callback_query_id=query.id)
    return reply


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
        await residents.clear_kept_answers(session, ProcessedUpdate.at < now - ANSWER_KEEP)
        return result.rowcount or 0


# -- the update's answers, kept with its id

# the Bot API methods that say something to the person (by their class names): what is kept
ANSWERS = ("Send", "Edit", "Copy", "AnswerCallbackQuery")
MAX_ANSWERS = 5  # kept for one update


class _Answers:
    """The update being handled, in the task handling it, and the answers kept for it so far."""

    __slots__ = ("bot_id", "done", "kept", "resident", "session", "task", "update_id", "written")

    def __init__(
        self,
        session: AsyncSession,
        bot_id: int,
        update_id: int,
        resident: Resident | None,
        *,
        written: bool = True,
    ) -> None:
        self.session = session
        self.bot_id = bot_id
        self.update_id = update_id
        self.resident = resident  # read before the update is handled: consent is decided as it is kept
        self.task = asyncio.current_task()
        self.kept: list[str] = []  # each as `entry` makes it
        self.done = False  # nothing more is kept for this update
        self.written = written  # the update's row exists in the session's transaction (or was committed)


_answers: ContextVar[_Answers | None] = ContextVar("meydan_kept_answers", default=None)

_UPDATES = ProcessedUpdate.__table__.c
# on the table, not the entity: an ORM UPDATE would look for the row among the session's objects first
_KEEP = Direct(
    update(ProcessedUpdate.__table__)
    .where(_UPDATES.bot_id == bindparam("b_bot_id"), _UPDATES.update_id == bindparam("b_update_id"))
    .values(answer_to=bindparam("answer_to"), answer=bindparam("answer"))
)
# SQLite: the update's row, written with its first kept answer (`UNWRITTEN`)
_CLAIM_KEPT = Direct(
    insert(ProcessedUpdate.__table__).values(
        bot_id=bindparam("bot_id"),
        update_id=bindparam("update_id"),
        at=bindparam("at"),
        answer_to=bindparam("answer_to"),
        answer=bindparam("answer"),
    )
)
_KEPT = select(_UPDATES.answer_to, _UPDATES.answer).where(
    _UPDATES.bot_id == bindparam("bot_id"),
    _UPDATES.update_id == bindparam("update_id"),
    _UPDATES.at >= bindparam("since"),
)
# a later update of the same person kept an answer: they have gone on since
_LATER = (
    select(_UPDATES.update_id)
    .where(
        _UPDATES.answer_to == bindparam("answer_to"),
        _UPDATES.bot_id == bindparam("bot_id"),
        _UPDATES.update_id > bindparam("update_id"),
    )
    .limit(1)
)


def _mine(session: AsyncSession) -> _Answers | None:
    """The update this task is handling in `session`, if its answers are still kept."""
    answers = _answers.get()
    if answers is None or answers.done or answers.task is not asyncio.current_task():
        return None
    return answers if answers.session is session else None


def keep_none() -> None:
    """Keep none of the answers of the update this task is handling (from now on): for a screen that
    shows another person, which should not outlive what that person does with their account."""
    answers = _answers.get()
    if answers is not None and answers.task is asyncio.current_task():
        answers.done = True


async def keep_answer(session: AsyncSession, method: TelegramMethod[Any]) -> None:
    """Keep `method` among the answers of the update this task is handling, in `session`'s transaction,
    if it says something to the person: `CommitBeforeSending` calls it before the commit that precedes
    a call, this middleware with the update's result (a press's answer only when nothing was kept before
    it). Nothing is kept for an update delivered again, for a person who has not accepted the privacy
    notice (or no longer has an account), after `keep_none`, after an answer that uploads a file, or
    past `MAX_ANSWERS`."""
    answers = _mine(session)
    if answers is None or not type(method).__name__.startswith(ANSWERS):
        return
    made = entry(method) if residents.may_keep_answers(answers.resident) else None
    if made is None or len(answers.kept) >= MAX_ANSWERS:
        answers.done = True  # what follows an answer not kept is not sent again without it
        return
    answers.kept.append(made)
    # the person answered: their Telegram id is set, as `may_keep_answers` holds
    answer_to = answers.resident.telegram_id
    if answers.written:
        await keep(session, answers.bot_id, answers.update_id, answer_to, answers.kept)
        return
    await keep_first(session, answers.bot_id, answers.update_id, answer_to, answers.kept)
    answers.written = True


@event.listens_for(Session, "before_commit")
def _write_claim(session: Session) -> None:
    """SQLite: the row of the update being handled in `session`, written before its transaction commits
    if no kept answer has written it yet (`UNWRITTEN`): the claim is committed with what the update did,
    whatever ends its transaction."""
    answers = _answers.get()
    if answers is not None and not answers.written and answers.session.sync_session is session:
        _claim_row(session, answers)


def _claim_row(session: Session, answers: _Answers) -> None:
    """The update's row, with no answer, in `session`'s transaction (the end of an update that kept
    none runs it through `AsyncSession.run_sync`)."""
    values = {"bot_id": answers.bot_id, "update_id": answers.update_id, "at": utcnow()}
    session.execute(_CLAIMS[session.get_bind().dialect.name], values)
    answers.written = True


def entry(method: TelegramMethod[Any]) -> str | None:
    """`method` as one kept answer (JSON: its class name and its parameters); None for one that uploads
    a file."""
    try:
        params = method.model_dump_json(exclude_defaults=True)
    except PydanticSerializationError:
        return None
    return f'{{"method":"{type(method).__name__}","params":{params}}}'


async def keep(
    session: AsyncSession, bot_id: int, update_id: int, answer_to: int | None, entries: list[str]
) -> None:
    """Keep `entries` (made by `entry`) as the answers of the update, to the person `answer_to`."""
    values = {"b_bot_id": bot_id, "b_update_id": update_id, "answer_to": answer_to}
    await _KEEP.execute(session, {**values, "answer": _joined(entries)})


async def keep_first(
    session: AsyncSession, bot_id: int, update_id: int, answer_to: int | None, entries: list[str]
) -> None:
    """`keep` for an update whose row is not written yet (`UNWRITTEN`): the row, with its answers."""
    values = {"bot_id": bot_id, "update_id": update_id, "at": utcnow(), "answer_to": answer_to}
    await _CLAIM_KEPT.execute(session, {**values, "answer": _joined(entries)})


def _joined(entries: list[str]) -> str:
    return f"[{','.join(entries)}]"


async def kept_answers(session: AsyncSession, bot_id: int, update_id: int) -> list[TelegramMethod[Any]]:
    """The answers kept for the update, if kept less than `ANSWER_KEEP` ago and the person has not gone
    on since (a later update of theirs kept answers: sending these now would undo what those showed)."""
    since = utcnow() - ANSWER_KEEP
    row = (await session.execute(_KEPT, {"bot_id": bot_id, "update_id": update_id, "since": since})).first()
    if row is None or row.answer is None or row.answer_to is None:
        return []
    later = {"answer_to": row.answer_to, "bot_id": bot_id, "update_id": update_id}
    if (await session.execute(_LATER, later)).first() is not None:
        return []
    methods: list[TelegramMethod[Any]] = []
    try:
        for kept in json.loads(row.answer):
            kind = getattr(aiogram.methods, kept["method"], None)
            if not (isinstance(kind, type) and issubclass(kind, TelegramMethod)):
                return []
            methods.append(kind.model_validate(kept["params"]))
    except (ValueError, TypeError, KeyError, ValidationError):  # kept by another version, no longer valid
        return []
    return methods
