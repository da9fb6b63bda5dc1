"""A resident's own data (KVKK/GDPR): export everything held about them, delete the account.

Each feature registers what it holds with `@exporter("name")` in the modules its manifest line names
in `exports` (the account, the answers kept and the audit entries here, ideas and supports in
`idea_exports`); `export()` adds the form in progress ("drafts"). Deletion unlinks the person from the
account while what they did (votes, supports, ideas) stays counted, no longer linked to them. Exports
hold JSON-ready values only (ISO 8601 times) and never another person's identity.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import and_, delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services import audit, residents
from storage.models import (
    AuditEntry,
    District,
    FsmRecord,
    Idea,
    IdeaSupport,
    Neighborhood,
    NotificationChoice,
    ProcessedUpdate,
    Resident,
    Role,
    utcnow,
)

Exporter = Callable[[AsyncSession, Resident], Awaitable[Any]]
_EXPORTERS: dict[str, Exporter] = {}


def exporter(name: str) -> Callable[[Exporter], Exporter]:
    """Register a function returning the JSON-ready data one feature holds about a resident."""

    def register(func: Exporter) -> Exporter:
        _EXPORTERS[name] = func
        return func

    return register


@exporter("account")
async def _account(session: AsyncSession, resident: Resident) -> dict[str, Any]:
    place = None
    if resident.neighborhood_id is not None:
        row = (
            await session.execute(
                select(Neighborhood.name, District.name)
                .join(District, Neighborhood.district_id == District.id)
                .where(Neighborhood.id == resident.neighborhood_id)
            )
        ).first()
        place = {"neighborhood": row[0], "district": row[1]} if row else None
    roles = await session.scalars(select(Role.role).where(Role.resident_id == resident.id))
    return {
        "telegram_id": resident.telegram_id,
        "language": resident.language,
        "place": place,
        "privacy_accepted_at": _iso(resident.consent_at),
        "joined_at": _iso(resident.created_at),
        "notifications": await residents.notifications(session, resident.id),
        "roles": sorted(roles),
    }


@exporter("answers_kept")
async def _answers_kept(session: AsyncSession, resident: Resident) -> list[dict[str, Any]]:
    """The bot's last answers to the person kept to be sent again should their update come again
    (`bot.middlewares.dedup`: for about an hour), as the Bot API methods they were."""
    if resident.telegram_id is None:
        return []
    rows = await session.execute(
        select(ProcessedUpdate.at, ProcessedUpdate.answer)
        .where(ProcessedUpdate.answer_to == resident.telegram_id, ProcessedUpdate.answer.is_not(None))
        .order_by(ProcessedUpdate.at)
    )
    return [{"at": _iso(at), "answers": json.loads(answer)} for at, answer in rows]


# detail keys of audit entries that may name a person (a resident or Telegram id)
_PERSON_KEYS = frozenset(
    {"actor_id", "author_id", "decided_by", "granted_by", "resident_id", "telegram_id", "user_id", "chat_id"}
)


@exporter("audit")
async def _audit(session: AsyncSession, resident: Resident) -> list[dict[str, Any]]:
    """Audit entries about the person (their account, their ideas) and those they made themselves.

    Other people stay anonymous: an entry by someone else says "staff" (or "system" for the command
    line), a resident acted on by the person is "another resident", and detail fields holding an id
    of a person are left out unless they are the person's own.
    """
    own_ideas = select(Idea.id).where(Idea.author_id == resident.id)
    rows = await session.scalars(
        select(AuditEntry)
        .where(
            or_(
                AuditEntry.actor_id == resident.id,
                and_(AuditEntry.object_type == "resident", AuditEntry.object_id == resident.id),
                and_(AuditEntry.object_type == "idea", AuditEntry.object_id.in_(own_ideas)),
            )
        )
        .order_by(AuditEntry.at, AuditEntry.id)
    )
    own = {resident.id, resident.telegram_id} - {None}
    return [_audit_entry(entry, resident.id, own) for entry in rows]


def _audit_entry(entry: AuditEntry, resident_id: int, own: set[int]) -> dict[str, Any]:
    by = "you" if entry.actor_id == resident_id else "system" if entry.actor_id is None else "staff"
    target: dict[str, Any] | None = None
    if entry.object_type == "resident":
        target = {"type": "resident", "who": "you" if entry.object_id == resident_id else "another resident"}
    elif entry.object_type == "idea":
        target = {"type": "idea", "number": entry.object_id}
    elif entry.object_type is not None:
        target = {"type": entry.object_type, "id": entry.object_id}
    details = {
        key: plain(value)
        for key, value in (entry.details or {}).items()
        if key not in _PERSON_KEYS
        or (isinstance(value, int) and not isinstance(value, bool) and value in own)
    }
    return {"at": _iso(entry.at), "action": entry.action, "by": by, "object": target, "details": details}


async def drafts(
    session: AsyncSession, resident: Resident, conversation: Mapping[str, Any] | None = None
) -> list[dict[str, Any]]:
    """Forms in progress: `conversation` (`{"state": ..., "data": {...}}`, the conversation state the
    handler read from its FSM storage, whatever the storage is) when given, else what the SQL FSM table
    holds for the person's Telegram id, in every chat. Empty when no form is in progress."""
    if conversation is not None:
        state, data = conversation.get("state"), conversation.get("data") or {}
        return [{"state": state, "data": plain(data)}] if state or data else []
    if resident.telegram_id is None:
        return []
    tid = str(resident.telegram_id)
    rows = await session.scalars(
        select(FsmRecord).where(FsmRecord.key.contains(f":{tid}:")).order_by(FsmRecord.updated_at)
    )
    return [
        {"state": row.state, "data": plain(row.data or {}), "updated_at": _iso(row.updated_at)}
        for row in rows
        if fsm_user(row.key) == tid and (row.state or row.data)
    ]


def fsm_user(key: str) -> str | None:
    """The user id in an FSM key as storage.fsm builds it (aiogram's DefaultKeyBuilder with destiny:
    `fsm:<chat>[:<thread>]:<user>:<destiny>`), or None for another shape."""
    parts = key.split(":")
    return parts[-2] if len(parts) >= 4 and parts[0] == "fsm" else None


async def export(
    session: AsyncSession, resident: Resident, conversation: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """Everything held about the resident, JSON-ready: each registered exporter's part, then "drafts"
    (see `drafts()`; the handler passes the FSM conversation as a plain dict)."""
    from bot.features import load_exporters

    load_exporters()
    data: dict[str, Any] = {"exported_at": _iso(utcnow())}
    for name, part in _EXPORTERS.items():
        data[name] = await part(session, resident)
    data["drafts"] = await drafts(session, resident, conversation)
    return data


@dataclass(frozen=True)
class Footprint:
    """What stays of a person when they delete their account: their published ideas (shown without a
    name), their ideas waiting for review (kept, or withdrawn as they choose) and their supports."""

    published: int
    waiting: int
    supports: int


async def footprint(session: AsyncSession, resident: Resident) -> Footprint:
    from bot.services.ideas.rules import PENDING, VISIBLE

    async def count(*where: Any) -> int:
        return await session.scalar(select(func.count()).select_from(Idea).where(*where)) or 0

    mine = Idea.author_id == resident.id
    supports = await session.scalar(
        select(func.count()).select_from(IdeaSupport).where(IdeaSupport.resident_id == resident.id)
    )
    return Footprint(
        published=await count(mine, Idea.status.in_(VISIBLE)),
        waiting=await count(mine, Idea.status == PENDING),
        supports=supports or 0,
    )


async def delete_account(session: AsyncSession, resident: Resident, *, withdraw_waiting: bool = False) -> int:
    """Unlink the person: no Telegram id, no language, no neighborhood, no notification choices, no
    roles, no conversation state, no answers kept to be sent again. What they did (ideas, supports)
    stays counted, anonymously; with `withdraw_waiting` their ideas still waiting for review are
    withdrawn (published ones stay).

    The identity (a keyed hash of the Telegram id, `residents.identity_of`) stays on the anonymous row:
    it is not the Telegram id and cannot be turned back into it without the key, and it keeps "one per
    person" rules true when the person comes back. Returns how many waiting ideas were withdrawn."""
    from bot.services.ideas.rules import PENDING, WITHDRAWN

    await residents.identify(session, resident)
    withdrawn = 0
    if withdraw_waiting:
        result = await session.execute(
            update(Idea)
            .where(Idea.author_id == resident.id, Idea.status == PENDING)
            .values(status=WITHDRAWN, decided_at=utcnow())
            .execution_options(synchronize_session=False)
        )
        withdrawn = result.rowcount or 0
    telegram_id = resident.telegram_id
    resident.telegram_id = None
    resident.language = None
    resident.neighborhood_id = None
    resident.consent_at = None
    resident.onboarded_at = None
    resident.deleted_at = utcnow()
    resident.reachable = False
    await session.execute(delete(Role).where(Role.resident_id == resident.id))
    await session.execute(delete(NotificationChoice).where(NotificationChoice.resident_id == resident.id))
    if telegram_id is not None:
        await session.execute(delete(FsmRecord).where(FsmRecord.key.contains(f":{telegram_id}:")))
        await residents.forget_kept_answers(session, telegram_id)
    await session.flush()
    await audit.record(
        session,
        "privacy.delete_account",
        object_type="resident",
        object_id=resident.id,
        **({"withdrawn": withdrawn} if withdraw_waiting else {}),
    )
    return withdrawn


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def plain(value: Any) -> Any:
    """`value` as JSON-ready data: dates as ISO 8601 text, tuples and sets as lists, other objects as text."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [plain(v) for v in value]
    return str(value)

