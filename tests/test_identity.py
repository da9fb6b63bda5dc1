"""One person stays one person: a keyed hash of the Telegram id (the identity) survives the deletion of
the account, and every one-per-person rule counts people, not accounts (SQLite, or PostgreSQL with
TEST_DATABASE_URL)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import ColumnElement, func, literal, select

from bot.config import DEFAULT_CITY_FILE, load_city
from bot.services import ideas, privacy, processes, residents, roles
from bot.services.residents import same_person
from storage.models import (
    District,
    Idea,
    IdeaSupport,
    InstallationSecret,
    Neighborhood,
    Resident,
    Theme,
    utcnow,
)
from tests.flows import onboard

CITY = load_city(DEFAULT_CITY_FILE)
DESCRIPTION = "Çocuk parkında oturacak yer yok, birkaç bank konulsun."


async def _hood(session) -> Neighborhood:  # noqa: ANN001
    return await session.scalar(
        select(Neighborhood).join(District).where(District.key == "konak", Neighborhood.key == "pazaryeri")
    )


async def _resident(session, telegram_id: int) -> Resident:  # noqa: ANN001
    """The person with this Telegram id, onboarded (a new account when they deleted the last one)."""
    resident = (await residents.get_or_create(session, telegram_id)).resident
    residents.set_language(resident, "tr")
    await residents.accept_privacy(session, resident)
    await residents.set_neighborhood(session, resident, (await _hood(session)).id)
    return resident


async def _come_back(session, resident: Resident, **choice: bool) -> Resident:  # noqa: ANN001
    telegram_id = resident.telegram_id
    await privacy.delete_account(session, resident, **choice)
    again = await _resident(session, telegram_id)
    assert again.id != resident.id
    return again


async def _process(session, limit: int = 3, key: str = "pr"):  # noqa: ANN001, ANN202
    now = utcnow()
    return await processes.create(
        session,
        key=key,
        names={"tr": "Birlikte", "en": "Together"},
        opens_at=now - timedelta(days=1),
        closes_at=now + timedelta(days=10),
        idea_limit=limit,
    )


async def _draft(session, process_id: int, title: str) -> ideas.Draft:  # noqa: ANN001
    theme = await session.scalar(select(Theme).where(Theme.key == "green"))
    return ideas.Draft(process_id=process_id, theme_id=theme.id, title=title, description=DESCRIPTION)


async def _published(session, author: Resident, title: str = "Parka bank", key: str = "pr") -> Idea:  # noqa: ANN001
    process = await processes.by_key(session, key) or await _process(session, key=key)
    return await _idea(session, author, process.id, title, ideas.APPROVED)


async def _idea(session, author: Resident, process_id: int, title: str, status: str) -> Idea:  # noqa: ANN001
    theme = await session.scalar(select(Theme).where(Theme.key == "green"))
    idea = Idea(
        process_id=process_id,
        author_id=author.id,
        neighborhood_id=author.neighborhood_id,
        theme_id=theme.id,
        title=title,
        description=DESCRIPTION,
        status=status,
    )
    session.add(idea)
    await session.flush()
    return idea


async def test_the_identity_is_a_keyed_hash_with_a_key_the_installation_keeps(sessions) -> None:  # noqa: ANN001
    async with sessions.begin() as session:
        key = await residents.identity_key(session)
        assert len(key) >= 32 and key == await residents.identity_key(session)
        assert await session.scalar(select(func.count()).select_from(InstallationSecret)) == 1
        ayse = await _resident(session, 4242)
        assert ayse.identity == residents.identity_of(key, 4242) != residents.identity_of("other" * 8, 4242)
        assert len(ayse.identity) == 64 and "4242" not in ayse.identity
    async with sessions() as session:
        assert await residents.identity_key(session) == key  # kept across transactions


async def test_identity_key_from_the_settings_wins() -> None:
    from bot.config import ConfigError, load_settings

    assert load_settings(_env_file=None, identity_key="k" * 40).identity_key == "k" * 40
    assert load_settings(_env_file=None, identity_key="").identity_key is None
    with pytest.raises(ConfigError, match="IDENTITY_KEY"):
        load_settings(_env_file=None, identity_key="short")


async def test_a_configured_key_is_used(sessions) -> None:  # noqa: ANN001
    residents.configure_identity("s" * 40)
    try:
        async with sessions.begin() as session:
            ayse = await _resident(session, 77)
            assert ayse.identity == residents.identity_of("s" * 40, 77)
            assert await session.scalar(select(func.count()).select_from(InstallationSecret)) == 0
    finally:
        residents.configure_identity(None)


async def test_the_anonymous_row_keeps_the_identity_and_nothing_of_the_telegram_id(sessions) -> None:  # noqa: ANN001
    telegram_id = 987654321
    async with sessions.begin() as session:
        ayse = await _resident(session, telegram_id)
        identity = ayse.identity
        await privacy.delete_account(session, ayse)
        row_id = ayse.id
    async with sessions() as session:
        row = await session.get(Resident, row_id)
        assert row.telegram_id is None and row.deleted_at is not None
        assert row.identity == identity
        values = [getattr(row, column.key) for column in Resident.__table__.columns]
        assert telegram_id not in values
        assert not any(str(telegram_id) in str(value) for value in values)


async def test_the_rows_of_a_person_are_found_by_id_and_beside_their_row_alike(sessions) -> None:  # noqa: ANN001
    table = Resident.__table__
    async with sessions.begin() as session:
        first = await _resident(session, 11)
        again = await _come_back(session, first)
        other = await _resident(session, 12)
        assert await residents.person_ids(session, again.id) == {first.id, again.id}
        assert await residents.person_ids(session, other.id) == {other.id}

        async def beside(row: Resident, *of: ColumnElement[Any]) -> set[int]:
            """The ids among these rows that `same_person` finds for `row` in a read of `row`'s own."""
            found = select(table.c.id).where(table.c.id == row.id)
            rows = {first.id, again.id, other.id}
            return {i for i in rows if await session.scalar(found.where(literal(i).in_(same_person(*of))))}

        for of in ((table.c.id, table.c.identity), (table.c.id,)):
            assert await beside(again, *of) == {first.id, again.id}
            assert await beside(other, *of) == {other.id}


async def test_the_person_key_is_the_same_in_python_and_in_sql(sessions) -> None:  # noqa: ANN001
    async with sessions.begin() as session:
        known = await _resident(session, 13)
        bare = Resident(telegram_id=None, identity=None)  # a row without identity: keyed by its id
        session.add(bare)
        await session.flush()
        for row in (known, bare):
            key = await session.scalar(select(residents.PERSON_KEY).where(Resident.id == row.id))
            assert key == residents.person_key(row)
        assert residents.person_key(bare) == f"resident:{bare.id}"


async def test_a_support_given_before_deleting_still_counts_after_coming_back(sessions) -> None:  # noqa: ANN001
    async with sessions.begin() as session:
        author = await _resident(session, 1)
        idea = await _published(session, author)
        fan = await _resident(session, 2)
        assert await ideas.set_support(session, idea.id, fan, True) == (True, 1)
        fan = await _come_back(session, fan)
        assert await ideas.supports(session, idea.id, fan.id)  # shown as supported
        # never a second support from the same person, and taking it back takes the old one back
        assert await ideas.set_support(session, idea.id, fan, True) == (True, 1)
        assert await ideas.set_support(session, idea.id, fan, False) == (False, 0)
        assert await ideas.set_support(session, idea.id, fan, True) == (True, 1)
        fan = await _come_back(session, fan)
        assert await ideas.supports(session, idea.id, fan.id)
        assert await ideas.support_count(session, idea.id) == 1
        # nor does the author support their own idea from a new account
        author = await _come_back(session, author)
        with pytest.raises(ideas.OwnIdea):
            await ideas.set_support(session, idea.id, author, True)


async def test_a_process_limited_to_one_idea_refuses_a_second_after_coming_back(sessions) -> None:  # noqa: ANN001
    async with sessions.begin() as session:
        ayse = await _resident(session, 5)
        process = await _process(session, limit=1)
        await ideas.submit(session, ayse, await _draft(session, process.id, "Parka bank"), CITY.bounds)
        ayse = await _come_back(session, ayse)
        with pytest.raises(ideas.LimitReached):
            await ideas.submit(session, ayse, await _draft(session, process.id, "Çeşme"), CITY.bounds)
        # withdrawn when deleting the account: the place is free again, as for any withdrawn idea
        mehmet = await _resident(session, 7)
        await ideas.submit(session, mehmet, await _draft(session, process.id, "Parka bank"), CITY.bounds)
        mehmet = await _come_back(session, mehmet, withdraw_waiting=True)
        await ideas.submit(session, mehmet, await _draft(session, process.id, "Çeşme"), CITY.bounds)


async def test_flood_control_counts_across_the_deletion(sessions) -> None:  # noqa: ANN001
    async with sessions.begin() as session:
        ayse = await _resident(session, 6)
        process = await _process(session, limit=ideas.FLOOD_COUNT + 5)
        for n in range(ideas.FLOOD_COUNT):
            await ideas.submit(
                session, ayse, await _draft(session, process.id, f"Fikir {n} bank"), CITY.bounds
            )
            ayse = await _come_back(session, ayse)
        with pytest.raises(ideas.Flooding):
            await ideas.submit(
                session, ayse, await _draft(session, process.id, "Bir fikir daha"), CITY.bounds
            )


async def test_a_merge_counts_a_person_once_across_their_accounts(sessions) -> None:  # noqa: ANN001
    async with sessions.begin() as session:
        staff = await _resident(session, 10)
        await roles.grant(session, staff, roles.STAFF)
        author = await _resident(session, 11)
        first = await _published(session, author, "Parka bank")
        second = await _idea(session, author, first.process_id, "Parka banklar", ideas.APPROVED)
        fan = await _resident(session, 12)
        other = await _resident(session, 13)
        await ideas.set_support(session, first.id, fan, True)
        await ideas.set_support(session, first.id, other, True)
        fan = await _come_back(session, fan)
        # the old row's support of `first` and a support of `second` by the new row: one person
        session.add(IdeaSupport(idea_id=second.id, resident_id=fan.id))
        await session.flush()
        await ideas.merge(session, first.id, second.id, staff.id)
        assert await ideas.support_count(session, second.id) == 2  # fan and other, once each
        assert await ideas.support_count(session, first.id) == 0


async def test_residents_saved_before_identities_get_theirs_on_load(sessions) -> None:  # noqa: ANN001
    async with sessions.begin() as session:
        ayse = await _resident(session, 31)
        ayse.identity = None  # as migration 0005 leaves an existing row
        await session.flush()
    async with sessions.begin() as session:
        viewer = await residents.load(session, 31)
        assert viewer.resident.identity == residents.identity_of(await residents.identity_key(session), 31)


async def test_deleting_keeps_or_withdraws_waiting_ideas_as_chosen(sessions) -> None:  # noqa: ANN001
    async with sessions.begin() as session:
        process = await _process(session)
        for telegram_id, withdraw in ((41, False), (42, True)):
            ayse = await _resident(session, telegram_id)
            waiting = await _idea(session, ayse, process.id, f"Bekleyen {telegram_id}", ideas.PENDING)
            shown = await _idea(session, ayse, process.id, f"Yayında {telegram_id}", ideas.APPROVED)
            left = await privacy.footprint(session, ayse)
            assert (left.published, left.waiting, left.supports) == (1, 1, 0)
            withdrawn = await privacy.delete_account(session, ayse, withdraw_waiting=withdraw)
            assert withdrawn == (1 if withdraw else 0)
            await session.refresh(waiting)
            await session.refresh(shown)
            assert waiting.status == (ideas.WITHDRAWN if withdraw else ideas.PENDING)
            assert shown.status == ideas.APPROVED and shown.author_id == ayse.id


async def test_the_delete_screen_offers_to_withdraw_waiting_ideas(meydan, sandbox) -> None:  # noqa: ANN001
    person = await onboard(sandbox, lang="en")
    async with meydan.sessions.begin() as session:
        ayse = await residents.by_telegram_id(session, person.id)
        process = await _process(session)
        await _idea(session, ayse, process.id, "Waiting idea", ideas.PENDING)
        await _idea(session, ayse, process.id, "Shown idea", ideas.APPROVED)
    await person.say("/settings")
    await person.press("Delete my account")
    question = await person.last_message()
    assert "published ideas: 1" in question.text and "waiting for review: 1" in question.text
    assert "Erased" in question.text
    await person.press("Delete and withdraw waiting ideas")
    assert "deleted" in (await person.last_message()).text
    async with meydan.sessions() as session:
        statuses = dict((await session.execute(select(Idea.title, Idea.status))).all())
        assert statuses == {"Waiting idea": ideas.WITHDRAWN, "Shown idea": ideas.APPROVED}
        assert await residents.by_telegram_id(session, person.id) is None
