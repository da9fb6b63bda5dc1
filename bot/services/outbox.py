"""The outbox: every message that leaves the update path (notices, staff-group posts, announcements,
broadcasts) is a row of `outbox_messages` plus one `outbox_deliveries` row per recipient, written in the
transaction that decided it. The outbox worker (`scheduler/outbox.py`) sends them at Telegram's limits,
renders each in its recipient's language at delivery, and records what happened. See docs/broadcasts.md.

No aiogram here: the worker passes plain values in and out.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, and_, bindparam, exists, func, insert, literal, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.i18n import translate, when
from storage.models import (
    BudgetBallot,
    BudgetPot,
    Idea,
    Neighborhood,
    NotificationChoice,
    OutboxDelivery,
    OutboxMessage,
    Resident,
    utcnow,
)

PENDING, SENT, UNREACHABLE, FAILED, SKIPPED = "pending", "sent", "unreachable", "failed", "skipped"
URGENT, BULK = 0, 1  # delivery priority: a notice overtakes a broadcast being sent
NOTICE, STAFF, ANNOUNCEMENT, BROADCAST = "notice", "staff", "announcement", "broadcast"
_QUEUED = "meydan.outbox.queued"


# ---- what a message says ---------------------------------------------------------------------


def moment(at: datetime, zone: str) -> dict[str, str]:
    """A parameter shown as a date and time in the city's timezone, in each recipient's language."""
    return {"$when": at.isoformat(), "zone": zone}


def per_language(values: dict[str, str]) -> dict[str, Any]:
    """A parameter with one value per language (a process's name)."""
    return {"$lang": dict(values)}


def _param(value: Any, lang: str) -> Any:
    if isinstance(value, dict):
        if "$when" in value:
            return when(datetime.fromisoformat(value["$when"]), ZoneInfo(value["zone"]), lang)
        if "$lang" in value:
            names: dict[str, str] = value["$lang"]
            return names.get(lang) or names.get("en") or next(iter(names.values()), "")
    return value


@dataclass(frozen=True)
class Rendered:
    text: str
    links: tuple[tuple[str, int, str], ...]  # (kind, id, label) with the label already translated
    url: tuple[str, str] | None  # (label, url)


def render(message: OutboxMessage, lang: str) -> Rendered:
    """The message as `lang` reads it."""
    params = {k: _param(v, lang) for k, v in (message.params or {}).items()}
    if message.texts:
        text = message.texts.get(lang) or next(iter(message.texts.values()))  # as staff wrote it
    else:
        text = translate(message.text or "", lang, **params)
    links = tuple(
        (kind, int(ident), translate(label, lang, id=ident, **params))
        for kind, ident, label in message.links or ()
    )
    url = None
    if message.url:
        url = (translate(params.get("url_label", ""), lang, **params), message.url)
    return Rendered(text, links, url)


# ---- queueing -----------------------------------------------------------------------------------


def add(
    session: AsyncSession,
    *,
    kind: str,
    chat_id: int,
    lang: str,
    text: str,
    params: dict[str, Any] | None = None,
    links: Sequence[tuple[str, int, str]] = (),
    category: str | None = None,
    resident_id: int | None = None,
    photo: str | None = None,
) -> OutboxMessage:
    """A message to one chat, written with the session's transaction (sent only once it commits)."""
    message = OutboxMessage(
        kind=kind,
        text=text,
        photo=photo,
        params=dict(params or {}),
        links=[list(link) for link in links],
        category=category,
        audience={"resident": resident_id} if resident_id is not None else {"chat": chat_id},
    )
    message.deliveries = [
        OutboxDelivery(
            resident_id=resident_id,
            chat_id=chat_id,
            lang=lang,
            status=PENDING,
            attempts=0,
            priority=URGENT,
            not_before=utcnow(),
        )
    ]
    session.add(message)
    session.info.setdefault(_QUEUED, []).append(message)
    return message


def take_queued(session: AsyncSession) -> list[int]:
    """The ids of the messages queued in this session (after its commit), removed from it."""
    return [m.id for m in session.info.pop(_QUEUED, []) if m.id is not None]


@dataclass(frozen=True)
class Audience:
    """Who a message goes to: `scope` "city" (every onboarded resident), "neighborhood" (its
    residents), "district" (the residents of its neighborhoods), "areas" (the residents of any of
    `neighborhoods` and of any neighborhood of `districts`: the union, each person once) or "language"
    (residents reading `lang`, the city's language for those who chose none). Filters narrow any scope:
    `lang` (the same reading condition), `voters_of` (a process: residents with a confirmed ballot, cast
    from their own account, in any of its pots; imported ballots have no resident), `authors` (residents
    who sent an idea, in process `authors_of` when set, whatever became of it); then minus those with a
    ballot in any pot of `without_ballot_in` (by identity, so across a re-created account), those who
    turned `category` off and those the bot cannot reach. Each person is one row whatever matches."""

    scope: str
    neighborhood_id: int | None = None
    district_id: int | None = None
    neighborhoods: tuple[int, ...] = ()
    districts: tuple[int, ...] = ()
    without_ballot_in: tuple[int, ...] = ()
    lang: str | None = None
    voters_of: int | None = None
    authors: bool = False
    authors_of: int | None = None

    @property
    def filtered(self) -> bool:
        """Narrowed by who the residents are (voters, authors) or what they read, beyond a place."""
        reading = self.lang is not None and self.scope != "language"
        return self.voters_of is not None or self.authors or reading

    def as_json(self) -> dict[str, Any]:
        found: dict[str, Any] = {"scope": self.scope, "neighborhood_id": self.neighborhood_id}
        if self.district_id is not None:
            found["district_id"] = self.district_id
        if self.neighborhoods or self.districts:
            found["neighborhoods"], found["districts"] = list(self.neighborhoods), list(self.districts)
        if self.without_ballot_in:
            found["without_ballot_in"] = list(self.without_ballot_in)
        if self.lang is not None:
            found["lang"] = self.lang
        if self.voters_of is not None:
            found["voters_of"] = self.voters_of
        if self.authors:
            found["authors"], found["authors_of"] = True, self.authors_of
        return found

    @classmethod
    def of(cls, data: dict[str, Any]) -> Audience:
        return cls(
            data["scope"],
            data.get("neighborhood_id"),
            data.get("district_id"),
            tuple(data.get("neighborhoods") or ()),
            tuple(data.get("districts") or ()),
            tuple(data.get("without_ballot_in") or ()),
            data.get("lang"),
            data.get("voters_of"),
            bool(data.get("authors")),
            data.get("authors_of"),
        )

    def where(self, default_lang: str) -> Any:
        """The audience's own condition on `Resident` (without the onboarding, reachability and category
        conditions `recipients` adds)."""
        if self.scope == "city":
            who: Any = literal(True)
        elif self.scope == "neighborhood":
            who = Resident.neighborhood_id == self.neighborhood_id
        elif self.scope == "language":
            who = func.coalesce(Resident.language, default_lang) == self.lang
        elif self.scope in ("district", "areas"):
            hoods = set(self.neighborhoods) if self.scope == "areas" else set()
            districts = set(self.districts) if self.scope == "areas" else {self.district_id}
            parts = []
            if hoods:
                parts.append(Resident.neighborhood_id.in_(sorted(hoods)))
            if districts - {None}:
                in_districts = select(Neighborhood.id).where(
                    Neighborhood.district_id.in_(sorted(districts - {None}))
                )
                parts.append(Resident.neighborhood_id.in_(in_districts))
            who = or_(*parts) if parts else literal(False)
        else:
            raise ValueError(f"unknown audience {self.scope!r}")
        if self.lang is not None and self.scope != "language":
            who = and_(who, func.coalesce(Resident.language, default_lang) == self.lang)
        if self.voters_of is not None:
            pots = select(BudgetPot.id).where(BudgetPot.process_id == self.voters_of)
            voted = select(BudgetBallot.id).where(
                BudgetBallot.pot_id.in_(pots), BudgetBallot.resident_id == Resident.id
            )
            who = and_(who, exists(voted))
        if self.authors:
            wrote = select(Idea.id).where(Idea.author_id == Resident.id)
            if self.authors_of is not None:
                wrote = wrote.where(Idea.process_id == self.authors_of)
            who = and_(who, exists(wrote))
        if self.without_ballot_in:
            voted = exists(
                select(BudgetBallot.id).where(
                    BudgetBallot.pot_id.in_(sorted(set(self.without_ballot_in))),
                    BudgetBallot.identity == Resident.identity,
                )
            )
            who = and_(who, ~voted)
        return who


def recipients(
    audience: Audience, default_lang: str, category: str | None, category_default: bool = True
) -> ColumnElement[bool]:
    """The one condition on `Resident` that says who `audience` reaches, shared by `count` and
    `broadcast`, so the number staff are shown is the number of deliveries made."""
    who = and_(
        Resident.onboarded_at.is_not(None),
        Resident.deleted_at.is_(None),
        Resident.telegram_id.is_not(None),
        Resident.reachable.is_(True),
        audience.where(default_lang),
    )
    if category is not None:
        choice = select(NotificationChoice.enabled).where(
            NotificationChoice.resident_id == Resident.id, NotificationChoice.category == category
        )
        off = exists(choice.where(NotificationChoice.enabled.is_(False)))
        on = exists(choice.where(NotificationChoice.enabled.is_(True)))
        who = and_(who, ~off) if category_default else and_(who, on)
    return who


async def count(
    session: AsyncSession,
    audience: Audience,
    *,
    default_lang: str,
    category: str | None = None,
    category_default: bool = True,
) -> int:
    """How many deliveries `broadcast` would make for this audience now (the same condition)."""
    who = recipients(audience, default_lang, category, category_default)
    return int(await session.scalar(select(func.count(Resident.id)).where(who)) or 0)


async def broadcast(
    session: AsyncSession,
    audience: Audience,
    *,
    kind: str,
    default_lang: str,
    text: str | None = None,
    texts: dict[str, str] | None = None,
    params: dict[str, Any] | None = None,
    links: Sequence[tuple[str, int, str]] = (),
    category: str | None = None,
    category_default: bool = True,
    key: str | None = None,
    created_by: int | None = None,
    photo: str | None = None,
) -> tuple[OutboxMessage, int]:
    """A message to everyone in `audience`, expanded into one delivery row per recipient by one
    INSERT … SELECT in this transaction; returns the message and how many recipients it has."""
    message = OutboxMessage(
        kind=kind,
        key=key,
        text=text,
        texts=texts,
        params=dict(params or {}),
        links=[list(link) for link in links],
        category=category,
        audience=audience.as_json(),
        created_by=created_by,
        photo=photo,
    )
    session.add(message)
    await session.flush()
    who = recipients(audience, default_lang, category, category_default)
    now = utcnow()
    chosen = select(
        literal(message.id),
        Resident.id,
        Resident.telegram_id,
        func.coalesce(Resident.language, default_lang),
        literal(PENDING),
        literal(0),
        literal(BULK),
        literal(now, type_=OutboxDelivery.__table__.c.not_before.type),
    ).where(who)
    result = await session.execute(
        insert(OutboxDelivery).from_select(
            ["message_id", "resident_id", "chat_id", "lang", "status", "attempts", "priority", "not_before"],
            chosen,
        )
    )
    session.info.setdefault(_QUEUED, []).append(message)
    return message, result.rowcount or 0


async def exists_key(session: AsyncSession, key: str) -> bool:
    return (await session.scalar(select(OutboxMessage.id).where(OutboxMessage.key == key))) is not None


# ---- the worker's side ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Claimed:
    id: int
    message_id: int
    resident_id: int | None
    chat_id: int
    lang: str
    attempts: int


async def claim(
    session: AsyncSession, worker: str, limit: int, claim_timeout: float, now: datetime | None = None
) -> list[Claimed]:
    """Take up to `limit` due deliveries for `worker`: pending, due, and not claimed by a live worker (a
    claim older than `claim_timeout` seconds belongs to a worker that died). On PostgreSQL the rows are
    locked with SKIP LOCKED, so several workers take different rows; SQLite runs one writer at a time."""
    now = now or utcnow()
    stale = now - timedelta(seconds=claim_timeout)
    due = (
        select(OutboxDelivery.id)
        .where(
            OutboxDelivery.status == PENDING,
            OutboxDelivery.not_before <= now,
            or_(OutboxDelivery.claimed_at.is_(None), OutboxDelivery.claimed_at < stale),
        )
        .order_by(OutboxDelivery.priority, OutboxDelivery.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    ids = list((await session.scalars(due)).all())
    if not ids:
        return []
    await session.execute(
        update(OutboxDelivery)
        .where(OutboxDelivery.id.in_(ids))
        .values(claimed_at=now, claimed_by=worker)
        .execution_options(synchronize_session=False)
    )
    rows = await session.execute(
        select(
            OutboxDelivery.id,
            OutboxDelivery.message_id,
            OutboxDelivery.resident_id,
            OutboxDelivery.chat_id,
            OutboxDelivery.lang,
            OutboxDelivery.attempts,
        )
        .where(OutboxDelivery.id.in_(ids))
        .order_by(OutboxDelivery.id)
    )
    return [Claimed(*row) for row in rows.all()]


async def touch(session: AsyncSession, ids: Iterable[int], worker: str, now: datetime | None = None) -> None:
    """Renew the claims `worker` still holds (in its queue, or waiting on a chat), so that no other
    worker takes them for abandoned."""
    wanted = list(ids)
    for start in range(0, len(wanted), 500):
        await session.execute(
            update(OutboxDelivery)
            .where(OutboxDelivery.id.in_(wanted[start : start + 500]), OutboxDelivery.claimed_by == worker)
            .values(claimed_at=now or utcnow())
            .execution_options(synchronize_session=False)
        )


async def messages(session: AsyncSession, ids: Iterable[int]) -> dict[int, OutboxMessage]:
    wanted = set(ids)
    if not wanted:
        return {}
    found = await session.scalars(select(OutboxMessage).where(OutboxMessage.id.in_(wanted)))
    return {m.id: m for m in found.all()}


@dataclass
class Outcome:
    """What became of one attempt: `status` SENT/UNREACHABLE/FAILED, or PENDING with `not_before` (a
    retry); `error` is the error's type name."""

    id: int
    status: str
    resident_id: int | None = None
    telegram_message_id: int | None = None
    not_before: datetime | None = None
    error: str | None = None
    attempted: bool = True
    message_id: int | None = None


async def record(session: AsyncSession, outcomes: Sequence[Outcome], worker: str) -> None:
    """Write what the worker did, in one transaction (one executemany); a row claimed meanwhile by
    another worker (this one was too slow) is left to that one. A recipient who blocked the bot is marked
    unreachable, and their other pending deliveries are skipped."""
    if not outcomes:
        return
    now = utcnow()
    table = OutboxDelivery.__table__
    c = table.c
    statement = (
        table.update()
        .where(c.id == bindparam("b_id"), c.claimed_by == worker)
        .values(
            status=bindparam("b_status"),
            claimed_at=None,
            claimed_by=None,
            attempts=c.attempts + bindparam("b_tried"),
            error=bindparam("b_error"),
            sent_at=func.coalesce(bindparam("b_sent_at", type_=c.sent_at.type), c.sent_at),
            telegram_message_id=func.coalesce(
                bindparam("b_tg", type_=c.telegram_message_id.type), c.telegram_message_id
            ),
            not_before=func.coalesce(bindparam("b_not_before", type_=c.not_before.type), c.not_before),
        )
    )
    rows = [
        {
            "b_id": o.id,
            "b_status": o.status,
            "b_tried": 1 if o.attempted else 0,
            "b_error": o.error,
            "b_sent_at": now if o.status == SENT else None,
            "b_tg": o.telegram_message_id,
            "b_not_before": o.not_before,
        }
        for o in outcomes
    ]
    await session.execute(statement, rows)
    blocked = {o.resident_id for o in outcomes if o.status == UNREACHABLE and o.resident_id is not None}
    if blocked:
        await session.execute(update(Resident).where(Resident.id.in_(blocked)).values(reachable=False))
        await session.execute(
            update(OutboxDelivery)
            .where(
                OutboxDelivery.resident_id.in_(blocked),
                OutboxDelivery.status == PENDING,
                OutboxDelivery.claimed_at.is_(None),
            )
            .values(status=SKIPPED, error="unreachable")
            .execution_options(synchronize_session=False)
        )


async def unreachable_residents(session: AsyncSession, resident_ids: Iterable[int]) -> set[int]:
    wanted = {r for r in resident_ids if r is not None}
    if not wanted:
        return set()
    found = await session.scalars(
        select(Resident.id).where(Resident.id.in_(wanted), Resident.reachable.is_(False))
    )
    return set(found.all())


async def next_due(session: AsyncSession) -> datetime | None:
    """When the earliest pending delivery becomes due (None: nothing pending)."""
    return await session.scalar(
        select(func.min(OutboxDelivery.not_before)).where(OutboxDelivery.status == PENDING)
    )


async def progress(session: AsyncSession, message_id: int) -> dict[str, int]:
    """How many deliveries of a message are in each status (for a progress bar)."""
    rows = await session.execute(
        select(OutboxDelivery.status, func.count())
        .where(OutboxDelivery.message_id == message_id)
        .group_by(OutboxDelivery.status)
    )
    return {status: count for status, count in rows.all()}


class Signal:
    """Wakes this process's outbox worker when an update queued something, and lets the update wait a
    moment for its own messages to be handled (sent, or put off by a limit)."""

    def __init__(self) -> None:
        self.event = asyncio.Event()
        self.worker_running = False
        self._waiters: dict[int, list[asyncio.Future[None]]] = {}

    def wake(self) -> None:
        self.event.set()

    async def queued(self, message_ids: Sequence[int], wait: float) -> None:
        """Wake the worker; when it runs in this process, wait up to `wait` seconds for it to have
        handled these messages (an attempt each), so the person answered sees the update's effects."""
        self.event.set()
        if not self.worker_running or wait <= 0 or not message_ids:
            return
        loop = asyncio.get_running_loop()
        futures = []
        for mid in message_ids:
            future: asyncio.Future[None] = loop.create_future()
            self._waiters.setdefault(mid, []).append(future)
            futures.append(future)
        try:
            await asyncio.wait_for(asyncio.gather(*futures), wait)
        except TimeoutError:
            pass
        finally:
            for mid, future in zip(message_ids, futures, strict=True):
                waiting = self._waiters.get(mid)
                if waiting and future in waiting:
                    waiting.remove(future)
                    if not waiting:
                        del self._waiters[mid]

    def waits_for(self, message_id: int | None) -> bool:
        return message_id in self._waiters

    def handled(self, message_id: int) -> None:
        for future in self._waiters.pop(message_id, []):
            if not future.done():
                future.set_result(None)
