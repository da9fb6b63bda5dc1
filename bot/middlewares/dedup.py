"""An update delivered twice (a webhook retry, a replay) is handled once.

The update's id is claimed inside the update's own transaction (after `DatabaseMiddleware`), with an
insert that does nothing on a conflict: one statement and no transaction of its own. On PostgreSQL an
update of a person is claimed in the statement that reads them (`ResidentMiddleware`, with
`claimed_column`: the insert as a data-modifying WITH), one round trip fewer, and this middleware
reads the outcome it left (`CLAIMED`). The claim is
committed with what the update did; if handling fails before anything was committed, the claim is rolled
back with the rest and a redelivery is handled again: a process killed while handling an update has
recorded nothing, the webhook call got no 2xx, Telegram delivers the update again and another instance
handles it. Two deliveries at once: on PostgreSQL the second insert waits for the first transaction and
then finds the row; on SQLite transactions run one at a time.

An update arrives again only when its first delivery got no 2xx: the process handling it died or timed
out. If it died after committing what the update did but before its answer went out, the update is
recorded and its answer lost, and handling it again would do it twice (a tick undone, a support
toggled back). So a redelivered update is not handled again, but the person is told it was taken and
how to carry on (`again_text`, in their language: this middleware runs after the resident and the
locale are known), instead of hearing nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

from aiogram import BaseMiddleware
from aiogram.exceptions import TelegramAPIError
from aiogram.types import TelegramObject, Update
from aiogram.utils.i18n import gettext as _
from sqlalchemy import ColumnElement, bindparam, delete, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.i18n import N_
from bot.middlewares.metrics import DUPLICATE
from storage.models import ProcessedUpdate, utcnow

log = logging.getLogger(__name__)
KEEP = timedelta(days=2)


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
        claimed = data.pop(CLAIMED, None)
        if claimed is None:
            claimed = await claim(data["session"], data["bot"].id, event.update_id)
        if not claimed:
            log.info("duplicate update skipped update_id=%s", event.update_id)
            data[DUPLICATE] = True
            await _tell(event, data)
            return None
        return await handler(event, data)


AGAIN = N_(
    "⚠️ That reached Meydan a second time, and it was done once. If no answer came, send /menu to carry on."
)


def again_text() -> str:
    return _(AGAIN)


async def _tell(update: Update, data: dict[str, Any]) -> None:
    """Say `again_text` to the person whose message or press came again (a private chat only)."""
    chat = data.get("event_chat")
    user = data.get("event_from_user")
    if update.message is None and update.callback_query is None:
        return
    if user is None or user.is_bot or (chat is not None and chat.type != "private"):
        return
    try:
        await data["bot"].send_message(user.id, again_text())
    except TelegramAPIError as error:  # blocked, or Telegram refusing: the update stays handled once
        log.info("no word on a duplicate update: %s", type(error).__name__)


async def purge_processed(session_factory: async_sessionmaker[AsyncSession]) -> int:
    """Forget update ids older than two days (Telegram keeps undelivered updates for one day)."""
    async with session_factory.begin() as session:
        result = await session.execute(delete(ProcessedUpdate).where(ProcessedUpdate.at < utcnow() - KEEP))
        return result.rowcount or 0
