"""What the settings screen reads and the notification toggle writes, against a real database (SQLite, or
PostgreSQL with TEST_DATABASE_URL): one statement each, and what they hold."""

from __future__ import annotations

import pytest
from sqlalchemy import select, update

from bot.features import categories
from bot.services import residents
from storage.models import District, Neighborhood, NotificationChoice, Resident
from tests.conftest import statements_run

PERSON, OTHER = 610_000_001, 610_000_002


async def _resident(session, telegram_id: int, district: str = "konak", key: str = "pazaryeri") -> Resident:  # noqa: ANN001
    hood = await session.scalar(
        select(Neighborhood).join(District).where(District.key == district, Neighborhood.key == key)
    )
    resident = (await residents.get_or_create(session, telegram_id)).resident
    await residents.accept_privacy(session, resident)
    await residents.set_neighborhood(session, resident, hood.id)
    return resident


async def test_the_screen_reads_the_place_and_the_choices_in_one_statement(sessions) -> None:  # noqa: ANN001
    async with sessions.begin() as session:
        person, other = await _resident(session, PERSON), await _resident(session, OTHER, "buca", "kozagac")
        await residents.set_notification(session, person.id, "ideas", False)
        await residents.set_notification(session, other.id, "news", False)
        seen = statements_run(session.bind)
        shown = await residents.settings(session, person.id, person.neighborhood_id)
        assert len(seen) == 1
        assert shown.place == ("Pazaryeri", "Konak")
        # the person's own choice, the defaults for the rest, nothing of the other person's
        assert shown.notifications == await residents.notifications(session, person.id)
        assert shown.notifications["ideas"] is False and shown.notifications["news"] is True
        other_shown = await residents.settings(session, other.id, other.neighborhood_id)
        assert other_shown.place == ("Kozağaç", "Buca") and other_shown.notifications["news"] is False
        # no choice stored: the defaults, and the place all the same
        assert (await residents.settings(session, 0, person.neighborhood_id)).place == ("Pazaryeri", "Konak")
        defaults = {category.key: category.default for category in categories()}
        assert (await residents.settings(session, 0, person.neighborhood_id)).notifications == defaults


async def test_a_place_out_of_use_or_none_is_not_shown(sessions) -> None:  # noqa: ANN001
    async with sessions.begin() as session:
        person = await _resident(session, PERSON)
        assert (await residents.settings(session, person.id, None)).place is None
        hood = await session.get(Neighborhood, person.neighborhood_id)
        await session.execute(update(District).where(District.id == hood.district_id).values(active=False))
        assert (await residents.settings(session, person.id, hood.id)).place is None
        await session.execute(update(District).where(District.id == hood.district_id).values(active=True))
        await session.execute(update(Neighborhood).where(Neighborhood.id == hood.id).values(active=False))
        shown = await residents.settings(session, person.id, hood.id)
        assert shown.place is None and shown.notifications["ideas"] is True


async def test_a_choice_is_written_whole_in_one_statement(sessions) -> None:  # noqa: ANN001
    async with sessions.begin() as session:
        person = await _resident(session, PERSON)
        seen = statements_run(session.bind)
        await residents.set_notification(session, person.id, "ideas", False)
        assert len(seen) == 1
        # the same choice again (a press that came twice) leaves it as it was, in the one row
        await residents.set_notification(session, person.id, "ideas", False)
        assert (await residents.notifications(session, person.id))["ideas"] is False
        await residents.set_notification(session, person.id, "ideas", True)
        rows = (
            await session.execute(
                select(NotificationChoice.category, NotificationChoice.enabled).where(
                    NotificationChoice.resident_id == person.id
                )
            )
        ).all()
        assert [tuple(row) for row in rows] == [("ideas", True)]
        with pytest.raises(ValueError, match="unknown notification category"):
            await residents.set_notification(session, person.id, "no-such-category", True)
