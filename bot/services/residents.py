"""Residents: onboarding, settings and what the bot knows of each person."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from bot.config import LANGUAGES
from bot.services import roles as roles_service
from storage.models import Neighborhood, Resident, utcnow

NOTIFICATIONS = ("phases", "events", "council")


@dataclass(frozen=True)
class Known:
    """The resident as the handlers see it."""

    resident: Resident
    roles: frozenset[str]

    @property
    def is_staff(self) -> bool:
        return roles_service.STAFF in self.roles


async def get_or_create(
    session: AsyncSession, telegram_id: int, *, staff_ids: frozenset[int] = frozenset()
) -> Known:
    """The resident for a Telegram user; created on first contact. STAFF_IDS always hold the staff role."""
    resident = await session.scalar(
        select(Resident).options(selectinload(Resident.roles)).where(Resident.telegram_id == telegram_id)
    )
    if resident is None:
        resident = Resident(telegram_id=telegram_id)
        session.add(resident)
        await session.flush()
        await session.refresh(resident, ["roles"])
    role_set = {r.role for r in resident.roles}
    if telegram_id in staff_ids and roles_service.STAFF not in role_set:
        await roles_service.grant(session, resident, roles_service.STAFF)
        role_set.add(roles_service.STAFF)
    return Known(resident=resident, roles=frozenset(role_set))


async def by_telegram_id(session: AsyncSession, telegram_id: int) -> Resident | None:
    return await session.scalar(select(Resident).where(Resident.telegram_id == telegram_id))


def is_onboarded(resident: Resident) -> bool:
    return resident.onboarded_at is not None and resident.neighborhood_id is not None


def set_language(resident: Resident, lang: str) -> None:
    if lang not in LANGUAGES:
        raise ValueError(f"unsupported language {lang!r}")
    resident.language = lang


def accept_privacy(resident: Resident) -> None:
    if resident.consent_at is None:
        resident.consent_at = utcnow()


async def set_neighborhood(session: AsyncSession, resident: Resident, neighborhood_id: int) -> Neighborhood:
    """Move the resident to a neighborhood; completes onboarding once consent is given."""
    hood = await session.get(Neighborhood, neighborhood_id)
    if hood is None or not hood.active:
        raise ValueError("no such neighborhood")
    resident.neighborhood_id = hood.id
    if resident.consent_at is not None and resident.onboarded_at is None:
        resident.onboarded_at = utcnow()
    await session.flush()
    return hood


def toggle_notification(resident: Resident, kind: str) -> bool:
    if kind not in NOTIFICATIONS:
        raise ValueError(f"unknown notification kind {kind!r}")
    attr = f"notify_{kind}"
    setattr(resident, attr, not getattr(resident, attr))
    return getattr(resident, attr)


def mark_reachable(resident: Resident, reachable: bool) -> None:
    resident.reachable = reachable


async def mark_unreachable(session: AsyncSession, resident_id: int) -> None:
    """The person blocked the bot: stop counting on messages reaching them."""
    resident = await session.get(Resident, resident_id)
    if resident is not None:
        resident.reachable = False
