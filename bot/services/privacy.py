"""A resident's own data (KVKK/GDPR): export everything held about them, delete the account.

Each feature registers what it holds with `@exporter("name")`; deletion unlinks the person from
the account while what they did (votes, supports, ideas) stays counted, no longer linked to them.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services import audit
from storage.models import District, FsmRecord, Neighborhood, Resident, Role, utcnow

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
        "notifications": {
            "phases": resident.notify_phases,
            "events": resident.notify_events,
            "council": resident.notify_council,
        },
        "roles": sorted(roles),
    }


async def export(session: AsyncSession, resident: Resident) -> dict[str, Any]:
    data: dict[str, Any] = {"exported_at": _iso(utcnow())}
    for name, func in _EXPORTERS.items():
        data[name] = await func(session, resident)
    return data


async def delete_account(session: AsyncSession, resident: Resident) -> None:
    """Unlink the person: no Telegram id, no preferences, no roles, no conversation state."""
    telegram_id = resident.telegram_id
    resident.telegram_id = None
    resident.language = None
    resident.consent_at = None
    resident.onboarded_at = None
    resident.deleted_at = utcnow()
    resident.reachable = False
    await session.execute(delete(Role).where(Role.resident_id == resident.id))
    if telegram_id is not None:
        await session.execute(delete(FsmRecord).where(FsmRecord.key.contains(f":{telegram_id}:")))
    await session.flush()
    await audit.record(session, "privacy.delete_account", object_type="resident", object_id=resident.id)


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None
