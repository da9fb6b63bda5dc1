"""Roles: staff (city-wide), coordinator (of one neighborhood's council), organiser (park events)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services import audit
from bot.services.errors import NotAllowed
from storage.models import Resident, Role

STAFF, COORDINATOR, ORGANISER = "staff", "coordinator", "organiser"
ROLES = (STAFF, COORDINATOR, ORGANISER)


class RoleError(ValueError):
    pass


async def grant(
    session: AsyncSession,
    resident: Resident,
    role: str,
    *,
    neighborhood_id: int | None = None,
    actor_id: int | None = None,
) -> bool:
    """Give `role`; returns False when the resident already had it."""
    if role not in ROLES:
        raise RoleError(f"unknown role {role!r}; one of {', '.join(ROLES)}")
    if role == COORDINATOR and neighborhood_id is None:
        raise RoleError("a coordinator role needs the council's neighborhood")
    exists = await session.scalar(
        select(Role).where(
            Role.resident_id == resident.id,
            Role.role == role,
            Role.neighborhood_id.is_not_distinct_from(neighborhood_id),
        )
    )
    if exists:
        return False
    session.add(
        Role(resident_id=resident.id, role=role, neighborhood_id=neighborhood_id, granted_by=actor_id)
    )
    await session.flush()
    await audit.record(
        session,
        "role.grant",
        actor_id=actor_id,
        object_type="resident",
        object_id=resident.id,
        role=role,
        neighborhood_id=neighborhood_id,
    )
    return True


async def revoke(
    session: AsyncSession,
    resident: Resident,
    role: str,
    *,
    neighborhood_id: int | None = None,
    actor_id: int | None = None,
) -> bool:
    if role not in ROLES:
        raise RoleError(f"unknown role {role!r}; one of {', '.join(ROLES)}")
    stmt = select(Role).where(Role.resident_id == resident.id, Role.role == role)
    if neighborhood_id is not None:
        stmt = stmt.where(Role.neighborhood_id == neighborhood_id)
    rows = list(await session.scalars(stmt))
    for row in rows:
        await session.delete(row)
    if rows:
        await session.flush()
        await audit.record(
            session,
            "role.revoke",
            actor_id=actor_id,
            object_type="resident",
            object_id=resident.id,
            role=role,
            neighborhood_id=neighborhood_id,
        )
    return bool(rows)


async def role_names(session: AsyncSession, resident_id: int) -> set[str]:
    rows = await session.scalars(select(Role.role).where(Role.resident_id == resident_id))
    return set(rows)


async def require(
    session: AsyncSession, resident_id: int | None, role: str, neighborhood_id: int | None = None
) -> None:
    """The one role check of the services: `NotAllowed` unless the resident holds `role` city-wide or,
    when `neighborhood_id` is given, for that neighborhood (a council's coordinator)."""
    if resident_id is not None:
        scopes = set(
            await session.scalars(
                select(Role.neighborhood_id).where(Role.resident_id == resident_id, Role.role == role)
            )
        )
        if None in scopes or (neighborhood_id is not None and neighborhood_id in scopes):
            return
    raise NotAllowed(role, neighborhood_id)
