"""Roles: granted once, revoked, scoped to a council's neighborhood, every change in the audit log."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from bot.services import geography, residents, roles
from storage.models import AuditEntry


async def test_grant_revoke_and_audit(sessions) -> None:  # noqa: ANN001
    async with sessions.begin() as session:
        known = await residents.get_or_create(session, 1234)
        pazaryeri = await geography.by_keys(session, "konak", "pazaryeri")
        alsancak = await geography.by_keys(session, "konak", "alsancak")
        assert await roles.grant(session, known.resident, roles.STAFF)
        assert not await roles.grant(session, known.resident, roles.STAFF)  # once only
        assert await roles.grant(session, known.resident, roles.COORDINATOR, neighborhood_id=pazaryeri.id)
        assert not await roles.grant(session, known.resident, roles.COORDINATOR, neighborhood_id=pazaryeri.id)
        assert await roles.grant(session, known.resident, roles.COORDINATOR, neighborhood_id=alsancak.id)
        with pytest.raises(roles.RoleError, match="neighborhood"):
            await roles.grant(session, known.resident, roles.COORDINATOR)
        with pytest.raises(roles.RoleError, match="unknown role"):
            await roles.grant(session, known.resident, "mayor")
        assert await roles.role_names(session, known.resident.id) == {"staff", "coordinator"}
        assert await roles.revoke(session, known.resident, roles.COORDINATOR, neighborhood_id=alsancak.id)
        assert not await roles.revoke(session, known.resident, roles.ORGANISER)
        assert await roles.revoke(session, known.resident, roles.STAFF)
        assert await roles.role_names(session, known.resident.id) == {"coordinator"}
        actions = list(await session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)))
        assert actions.count("role.grant") == 3 and actions.count("role.revoke") == 2


async def test_staff_ids_always_hold_the_staff_role(sessions) -> None:  # noqa: ANN001
    async with sessions.begin() as session:
        known = await residents.get_or_create(session, 99, staff_ids=frozenset({99}))
        assert known.is_staff
        await roles.revoke(session, known.resident, roles.STAFF)
    async with sessions.begin() as session:
        again = await residents.get_or_create(session, 99, staff_ids=frozenset({99}))
        assert again.is_staff
        other = await residents.get_or_create(session, 100, staff_ids=frozenset({99}))
        assert not other.is_staff


async def test_require_checks_the_role_and_its_scope(sessions) -> None:  # noqa: ANN001
    from bot.services.errors import NotAllowed

    async with sessions.begin() as session:
        coordinator = (await residents.get_or_create(session, 4321)).resident
        pazaryeri = await geography.by_keys(session, "konak", "pazaryeri")
        alsancak = await geography.by_keys(session, "konak", "alsancak")
        await roles.grant(session, coordinator, roles.COORDINATOR, neighborhood_id=pazaryeri.id)
        await roles.require(session, coordinator.id, roles.COORDINATOR, pazaryeri.id)  # their council
        for role, scope in ((roles.COORDINATOR, alsancak.id), (roles.COORDINATOR, None), (roles.STAFF, None)):
            with pytest.raises(NotAllowed):
                await roles.require(session, coordinator.id, role, scope)
        with pytest.raises(NotAllowed):
            await roles.require(session, None, roles.STAFF)
