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


async def _shown_beside(session, telegram_id: int):  # noqa: ANN001, ANN202
    """The person read as an update that shows the settings screen reads them: the screen beside."""
    viewer, _records, _extra = await residents.load_with_state(
        session, telegram_id, (), beside=(residents.settings_beside(), {})
    )
    return viewer.resident


async def test_the_screen_read_beside_the_person_answers_as_its_own_read(sessions) -> None:  # noqa: ANN001
    """/settings, and every press that shows the screen, reads it in the person's read: for a person
    with choices stored both ways, one with none, one whose neighborhood or district is out of use and
    one with no neighborhood, `settings_of` answers from it, with no statement of its own, what
    `settings` answers reading for itself; a second ask reads for itself."""
    async with sessions.begin() as session:
        person, other = await _resident(session, PERSON), await _resident(session, OTHER, "buca", "kozagac")
        await residents.set_notification(session, person.id, "ideas", False)
        await residents.set_notification(session, person.id, "news", True)
        await residents.set_notification(session, other.id, "phases", False)
        hood_id = other.neighborhood_id
    cases = [
        lambda: None,
        lambda: update(Neighborhood).where(Neighborhood.id == hood_id).values(active=False),
        lambda: update(Neighborhood).where(Neighborhood.id == hood_id).values(active=True),
        lambda: update(District).where(District.key == "buca").values(active=False),
        lambda: update(District).where(District.key == "buca").values(active=True),
        lambda: update(Resident).where(Resident.telegram_id == OTHER).values(neighborhood_id=None),
    ]
    answers = []
    for change in cases:
        async with sessions.begin() as session:
            if (statement := change()) is not None:
                await session.execute(statement)
        for telegram_id in (PERSON, OTHER):
            async with sessions.begin() as session:
                resident = await _shown_beside(session, telegram_id)
                seen = statements_run(session.bind)
                beside = await residents.settings_of(session, resident)
                assert seen == []
                alone = await residents.settings_of(session, resident)
                assert len(seen) == 1  # the second ask reads for itself
                assert (
                    beside
                    == alone
                    == await residents.settings(session, resident.id, resident.neighborhood_id)
                )
                answers.append(beside)
    assert answers[0].place == ("Pazaryeri", "Konak")
    assert answers[0].notifications == {"ideas": False, "phases": True, "implementation": True, "news": True}
    assert answers[1].place == ("Kozağaç", "Buca") and answers[1].notifications["phases"] is False
    assert [a.place for a in answers[3::2]] == [None, ("Kozağaç", "Buca"), None, ("Kozağaç", "Buca"), None]


async def test_a_choice_turned_shows_the_screen_with_no_read_of_its_own(sessions) -> None:  # noqa: ANN001
    """A notification turned with the screen read beside the person writes the choice, one statement,
    and shows the screen as a read after the write shows it; with no read beside, it reads after."""
    async with sessions.begin() as session:
        await _resident(session, PERSON)
    for category, enabled in (("ideas", False), ("ideas", False), ("news", False), ("ideas", True)):
        async with sessions.begin() as session:
            resident = await _shown_beside(session, PERSON)
            seen = statements_run(session.bind)
            shown = await residents.turn_notification(session, resident, category, enabled)
            assert len(seen) == 1
            assert shown == await residents.settings(session, resident.id, resident.neighborhood_id)
            assert shown.notifications[category] is enabled
        async with sessions.begin() as session:
            resident = (await residents.load_with_state(session, PERSON, ()))[0].resident
            seen = statements_run(session.bind)
            again = await residents.turn_notification(session, resident, category, enabled)
            assert len(seen) == 2 and again == shown
    async with sessions.begin() as session:
        resident = await _shown_beside(session, PERSON)
        with pytest.raises(ValueError, match="unknown notification category"):
            await residents.turn_notification(session, resident, "no-such-category", True)


async def test_the_screen_read_beside_stands_only_for_the_place_it_was_read_for(sessions) -> None:  # noqa: ANN001
    """Read beside the person, then the person moved (their neighborhood changed, flushed or not):
    the screen is read anew, with the new place."""
    async with sessions.begin() as session:
        await _resident(session, PERSON)
        buca = await session.scalar(
            select(Neighborhood).join(District).where(District.key == "buca", Neighborhood.key == "kozagac")
        )
    for flush in (False, True):
        async with sessions.begin() as session:
            resident = await _shown_beside(session, PERSON)
            resident.neighborhood_id = buca.id
            if flush:
                await session.flush()
            seen = statements_run(session.bind)
            shown = await residents.settings_of(session, resident)
            assert shown.place == ("Kozağaç", "Buca") and len(seen) == 1 + (not flush)
            await session.rollback()
