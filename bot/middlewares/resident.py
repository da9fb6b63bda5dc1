"""The person behind each update: their lock, their conversation state, and the resident with the roles
they hold (the `viewer`).

This middleware stands where aiogram's FSM middleware stood and does its work with it (`dp.fsm`: the
same context, the same per-person lock, the same `state` and `raw_state`), and loads the resident
inside the lock as well. When the state is kept in the database (`SQLStorage`), the state's rows and
the resident are read in one statement, the first of the update's transaction
(`residents.load_with_state`): every update of a private chat reads both, and one round trip is cheaper
than two. A press or a command whose handler reads something first has that read made in the same
statement too, where its feature declares it (`Feature.beside`: a ballot press, its pot's gate;
/settings, its screen), and the service takes it from there (`residents.taken_beside`). With the
state in Redis, the state comes from Redis and the resident from the database. The same statement
claims the update for `DedupMiddleware`, which reads the outcome from `dedup.CLAIMED`: on PostgreSQL
it writes the claim (`dedup.claimed_column`), on SQLite it reads whether the update was claimed before
and the claim is written later in the transaction (`dedup.unseen_column`).

The update's transaction is committed inside the lock when the handler returns, or rolled back there if
anything raises: an update of the same person waits for the lock, so it begins after this commit and
sees all this update did.

A press or a command that only shows something (a page of ideas, an idea's card, /help: the features'
`views` in `bot.features`) is read and handled with no transaction (`storage.db.reading`): no BEGIN and
COMMIT, no write lock on SQLite, and the update is not claimed (`VIEWING`), so its answers are not kept
either. Delivered again, it is shown again. Whether an update is one is known from its data or its
command before it is routed, as the claim is made by the read; one of a person with a conversation
underway (a prompt it ends, a form) or whose read leaves something to write is handled as any other
update, read again with the claim. So is one whose handler finds it must write after all and says so
before writing or sending anything (`storage.db.will_write`, which raises `ChangeNeeded`): it is read
again with the claim and handled from its start.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from aiogram import BaseMiddleware
from aiogram.fsm.context import FSMContext
from aiogram.fsm.middleware import FSMContextMiddleware
from aiogram.fsm.storage.base import StorageKey
from aiogram.types import TelegramObject, Update, User
from sqlalchemy.ext.asyncio import AsyncSession

from bot.middlewares.database import handled
from bot.middlewares.dedup import CLAIMED, UNWRITTEN, VIEWING, claimed_column, unseen_column
from bot.services import residents
from bot.text import command_of
from storage.db import ChangeNeeded, reading, writing
from storage.fsm import SQLStorage
from storage.models import utcnow

# the person read and the update claimed, one statement (on SQLite the claim's row written later)
_CLAIMING = {
    "postgresql": residents.PersonRead(claimed_column()),
    "sqlite": residents.PersonRead(unseen_column()),
}


class ResidentMiddleware(BaseMiddleware):
    def __init__(
        self,
        fsm: FSMContextMiddleware,
        staff_ids: frozenset[int],
        views: tuple[str, ...] = (),
        beside: tuple[Callable[[str], tuple[residents.Beside, Mapping[str, Any]] | None], ...] = (),
    ) -> None:
        self._fsm = fsm
        self._staff_ids = staff_ids
        self._views = frozenset(views)  # a press's data is one of these or begins with one and ":"
        self._view_prefixes = tuple(f"{view}:" for view in views)
        self._beside = beside  # the features' reads beside the person's, by a press's data or a command

    def _beside_of(self, event: TelegramObject) -> tuple[residents.Beside, Mapping[str, Any]] | None:
        """The read a feature's press or command makes first, to make in the person's read
        (`Feature.beside`): a press by its data, a command by its first word (without "@bot")."""
        if not isinstance(event, Update):
            return None
        if event.callback_query is not None:
            data = event.callback_query.data
        else:
            data = command_of(event.message.text) if event.message is not None else None
        if data is None:
            return None
        for read in self._beside:
            found = read(data)
            if found is not None:
                return found
        return None

    def _is_view(self, event: TelegramObject) -> bool:
        """Whether the update is a press or a command declared as a view: a press's data is one of
        the views or begins with one and ":", a command is its first word (without "@bot")."""
        if not isinstance(event, Update):
            return False
        if event.callback_query is not None:
            data = event.callback_query.data
            return data is not None and (data in self._views or data.startswith(self._view_prefixes))
        return event.message is not None and command_of(event.message.text) in self._views

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        fsm = self._fsm
        context = fsm.resolve_event_context(data["bot"], data)
        data["fsm_storage"] = fsm.storage
        if context is None:  # no chat and no person: nobody to load either
            return await handler(event, data)
        # the state is read inside the lock, as aiogram's own middleware does, and so is the resident:
        # the update's transaction begins with that read, never before the lock
        async with fsm.events_isolation.lock(key=context.key):
            user: User | None = data.get("event_from_user")
            chat = data.get("event_chat")
            if user is not None and not user.is_bot and (chat is None or chat.type == "private"):
                session: AsyncSession = data["session"]
                viewing = bool(self._views) and self._is_view(event)
                if viewing:
                    reading(session)
                viewer = await self._person(event, data, context.key, user.id, claim=not viewing)
                raw_state = await context.get_state()
                if viewing and (
                    raw_state is not None or await context.get_data() or session.new or session.dirty
                ):
                    # the update may end the conversation, or the read left a write: a change after all
                    viewing = False
                    viewer, raw_state = await self._as_change(event, data, context, user.id)
                data[VIEWING] = viewing
                data["viewer"] = viewer
                data["resident"] = viewer.resident
            else:
                viewing = False
                raw_state = await context.get_state()
            data.update(state=context, raw_state=raw_state)
            # ended before the lock goes: the person's next update, waiting for it, reads what this one
            # did (on PostgreSQL it would otherwise begin before this commit and read the rows as they
            # were: the state before this answer, an account this update deleted), and waits for no row
            # this one still holds
            try:
                return await handled(data["session"], handler, event, data)
            except ChangeNeeded:
                if not viewing:
                    raise
                # the view found a write to make, before it sent anything: handled again, as a change
                viewer, raw_state = await self._as_change(event, data, context, user.id)
                data.update(viewer=viewer, resident=viewer.resident, raw_state=raw_state)
                data[VIEWING] = False
                return await handled(data["session"], handler, event, data)

    async def _as_change(
        self, event: TelegramObject, data: dict[str, Any], context: FSMContext, telegram_id: int
    ) -> tuple[residents.Viewer, str | None]:
        """The person and their state read again with the claim, in a transaction that may write: a view
        that turned out to be a change. What the reading session did is rolled back first."""
        await writing(data["session"])
        viewer = await self._person(event, data, context.key, telegram_id)
        return viewer, await context.get_state()

    async def _person(
        self,
        event: TelegramObject,
        data: dict[str, Any],
        key: StorageKey,
        telegram_id: int,
        *,
        claim: bool = True,
    ) -> residents.Viewer:
        """Read the resident, with the state's rows when the storage is `SQLStorage` (kept for the
        update) and what the press reads first (`Feature.beside`), and claim the update (unless not to
        `claim` it), in one statement."""
        session: AsyncSession = data["session"]
        storage = self._fsm.storage
        names = storage.read_with(key) if isinstance(storage, SQLStorage) else []
        beside = self._beside_of(event)
        dialect = session.get_bind().dialect.name
        claiming = _CLAIMING.get(dialect) if claim and isinstance(event, Update) else None
        if claiming is not None:
            params = {"bot_id": data["bot"].id, "update_id": event.update_id}
            if dialect == "postgresql":
                params["at"] = utcnow()
            viewer, records, (claimed,) = await residents.load_with_state(
                session,
                telegram_id,
                names,
                staff_ids=self._staff_ids,
                statement=claiming,
                params=params,
                beside=beside,
            )
            data[CLAIMED] = bool(claimed)
            data[UNWRITTEN] = bool(claimed) and dialect == "sqlite"
        else:
            viewer, records, _ = await residents.load_with_state(
                session, telegram_id, names, staff_ids=self._staff_ids, beside=beside
            )
        if isinstance(storage, SQLStorage):
            storage.remember(session, names, records)
        return viewer
