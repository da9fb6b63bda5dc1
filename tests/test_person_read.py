"""What every update reads first: the person's conversation state and the resident with their roles, in
one statement when the state is kept in the database."""

from __future__ import annotations

from dataclasses import replace

import pytest
from aiogram.fsm.storage.base import StorageKey

from bot.middlewares.dedup import claimed_column, unseen_column
from bot.services import budgets, geography, ideas, residents, roles
from storage.db import current_session
from storage.fsm import SQLStorage
from tests.conftest import STAFF_ID, compiled_once, selects_run, statements_run
from tests.flows import onboard

KEY = StorageKey(bot_id=1, chat_id=4321, user_id=4321)


async def test_the_state_the_boxes_and_the_resident_with_each_role_come_in_one_statement(sessions) -> None:  # noqa: ANN001
    """Three roles (two scoped to a neighborhood, one city-wide) and two rows of state: the resident
    comes with each role and its scope, each row of state is found once, and the storage then reads
    nothing more."""
    storage = SQLStorage(sessions, boxes=["drafts", "notes"])
    drafts = replace(KEY, destiny="drafts")
    async with sessions.begin() as session:
        coordinator = (await residents.get_or_create(session, 4321)).resident
        scopes = set()
        for hood in ("pazaryeri", "alsancak"):
            place = await geography.by_keys(session, "konak", hood)
            await roles.grant(session, coordinator, roles.COORDINATOR, neighborhood_id=place.id)
            scopes.add(place.id)
        await roles.grant(session, coordinator, roles.ORGANISER)
        elsewhere = await geography.by_keys(session, "karsiyaka", "bostanli")
    await storage.set_state(KEY, "Form:title")
    await storage.set_data(drafts, {"pot": [3, 5]})
    selects = selects_run(sessions.kw["bind"])
    async with sessions() as session:
        token = current_session.set(session)
        try:
            names = storage.read_with(KEY)
            assert len(names) == 3  # the state, and a row for each box
            viewer, records, extra = await residents.load_with_state(session, 4321, names)
            assert extra == ()
            # plain values, the state's row and the draft's box ("notes" has no row)
            assert sorted(records) == sorted(
                [(names[0], "Form:title", {}), (names[1], None, {"pot": [3, 5]})]
            )
            storage.remember(session, names, records)
            assert await storage.get_state(KEY) == "Form:title"
            assert await storage.get_data(drafts) == {"pot": [3, 5]}
            assert await storage.get_data(replace(KEY, destiny="notes")) == {}
            assert len(selects) == 1
            assert viewer.grants == {(roles.COORDINATOR, hood) for hood in scopes} | {(roles.ORGANISER, None)}
            assert all(viewer.has(roles.COORDINATOR, hood) for hood in scopes)
            assert not viewer.has(roles.COORDINATOR, elsewhere.id) and not viewer.is_staff
            assert viewer.has(roles.ORGANISER, elsewhere.id)  # a city-wide role holds everywhere
            plain = await residents.load(session, 4321)  # the read with no state beside it
            assert plain.grants == viewer.grants
        finally:
            current_session.reset(token)


async def test_a_person_not_yet_known_and_staff_read_alike(sessions) -> None:  # noqa: ANN001
    """A person with no resident and no state still gets a row: a resident not saved, no records. Staff
    not saved yet are saved with their role from the same read."""
    storage = SQLStorage(sessions)
    async with sessions.begin() as session:
        viewer, records, _ = await residents.load_with_state(session, 777, storage.read_with(KEY))
        assert viewer.resident.id is None and viewer.grants == frozenset() and records == []
        staff, records, _ = await residents.load_with_state(
            session, STAFF_ID, storage.read_with(KEY), staff_ids=frozenset({STAFF_ID})
        )
        assert staff.resident.id is not None and staff.is_staff and records == []
    async with sessions() as session:
        assert (await residents.load(session, STAFF_ID)).is_staff


@pytest.mark.parametrize("dialect", ["postgresql", "sqlite"])
@pytest.mark.parametrize("keys", [0, 2])
def test_the_read_is_compiled_once_nothing_rendered_at_each_run(dialect: str, keys: int) -> None:
    """Every update runs this statement: no parameter of it is one that SQLAlchemy renders into the SQL
    again at each execution (an expanding list, or `aggregate_strings`' separator given as a string)."""
    claiming = claimed_column() if dialect == "postgresql" else unseen_column()
    for read in (residents.PersonRead(), residents.PersonRead(claiming)):
        compiled_once(read.direct(keys).statement, dialect)
        # a ballot press's, an idea card's, a page of ideas', the settings screen's
        pages = (ideas.page_beside(2)[0], ideas.page_beside(2, "top", 4, 6, page=1)[0])
        for beside in (budgets.GATE_BESIDE, ideas.CARD_BESIDE, *pages, residents.settings_beside()):
            compiled_once(read.direct(keys, beside).statement, dialect)


async def test_on_postgresql_the_read_claims_the_update(sessions) -> None:  # noqa: ANN001
    """The claim in the person's read: 1 the first time, 0 for the same update again, in a later
    transaction as in the same one; the person's rows come back the same either way."""
    from bot.middlewares.dedup import claimed_column
    from storage.models import utcnow

    if sessions.kw["bind"].dialect.name != "postgresql":
        pytest.skip("a data-modifying WITH is PostgreSQL's")
    claiming = residents.PersonRead(claimed_column())
    params = {"bot_id": 1, "update_id": 55, "at": utcnow()}
    storage = SQLStorage(sessions)
    await storage.set_state(KEY, "Form:title")
    names = storage.read_with(KEY)

    async def read(session) -> int:  # noqa: ANN001
        viewer, records, (claimed,) = await residents.load_with_state(
            session, 4321, names, statement=claiming, params=params
        )
        assert [state for _key, state, _data in records] == ["Form:title"] and viewer.resident.id is None
        return claimed

    async with sessions.begin() as session:
        assert await read(session) == 1
        assert await read(session) == 0  # the same update again, in the same transaction
    async with sessions.begin() as session:
        assert await read(session) == 0  # and in a later one
        params["update_id"] = 56  # with the state kept elsewhere (Redis): no keys, the claim the same
        viewer, records, (claimed,) = await residents.load_with_state(
            session, 4321, (), statement=claiming, params=params
        )
        assert (claimed, records, viewer.resident.id) == (1, [], None)


async def test_an_update_reads_the_state_with_the_resident(meydan, sandbox) -> None:  # noqa: ANN001
    """Through the whole bot: no update reads the conversation state or the resident on its own, and on
    PostgreSQL the same statement claims the update (on SQLite the claim is an INSERT of its own); a
    view, which only shows something, is read the same way and not claimed."""
    person = await onboard(sandbox, lang="en")
    statements = statements_run(meydan.sessions.kw["bind"])
    await person.say("/start")  # a change
    await person.say("/settings")  # views
    await person.say("/help")
    first = [s for s in statements if "fsm_state" in s or "FROM residents" in s]
    assert first, "the updates read their person"
    for statement in first:
        assert "fsm_state" in statement and "residents" in statement, statement
    claims = [s for s in statements if s.startswith("INSERT INTO processed_updates")]
    if meydan.sessions.kw["bind"].dialect.name == "postgresql":
        assert claims == [] and sum("processed_updates" in s for s in first) == 1
    else:
        assert len(claims) == 1


async def test_an_update_from_a_group_is_still_claimed_once(meydan, sandbox) -> None:  # noqa: ANN001
    """No person is read in a group, so nothing claims the update with the read: the dedup's own INSERT
    does, on both databases, and each group update is recorded once."""
    from sqlalchemy import func, select

    from storage.models import ProcessedUpdate

    person = await onboard(sandbox, lang="en")
    group = await sandbox.group("Mahalle", [person])
    async with meydan.sessions() as session:
        before = await session.scalar(select(func.count()).select_from(ProcessedUpdate))
    statements = statements_run(meydan.sessions.kw["bind"])
    await group.say(person, "/help")
    await group.say(person, "hello")
    claims = [s for s in statements if s.startswith("INSERT INTO processed_updates")]
    assert len(claims) == 2
    assert not [s for s in statements if "FROM residents" in s]  # nobody's read in a group
    async with meydan.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(ProcessedUpdate)) == before + 2


def test_a_press_names_the_read_made_beside_the_person() -> None:
    """Which presses and commands have a read made in the person's read (`Feature.beside`), with what: a
    ballot press of a pot its gate, the press that opens an idea its card, /settings and the presses
    that show the settings screen the screen; another button's data or command, one with no pot or
    idea, or data that does not unpack (left to the router, which refuses it) none."""
    from bot.features import beside
    from bot.ui.budgets.callbacks import BallotAction, BallotCb
    from bot.ui.ideas.callbacks import BrowseAction, BrowseCb, Sort

    def asked(data: str):  # noqa: ANN202
        found = [read(data) for read in beside()]
        return next(((b.name, params) for b, params in filter(None, found)), None)

    tick = BallotCb(action=BallotAction.ADD, pot=3, project=7).pack()
    assert asked(tick) == ("budgets.gate", {"pot_id": 3})
    opened = BrowseCb(action=BrowseAction.VIEW, process=2, idea=9).pack()
    assert asked(opened) == ("ideas.card", {"idea_id": 9, "process_id": 2})
    listed = BrowseCb(action=BrowseAction.LIST, process=2, page=3).pack()
    assert asked(listed) == ("ideas.list:new:process_id", {"process_id": 2, "offset": 15, "limit": 5})
    narrowed = BrowseCb(action=BrowseAction.LIST, process=2, sort=Sort.TOP, hood=4, theme=6).pack()
    assert asked(narrowed) == (
        "ideas.list:top:neighborhood_id,process_id,theme_id",
        {"process_id": 2, "neighborhood_id": 4, "theme_id": 6, "offset": 0, "limit": 5},
    )
    for shows in ("/settings", "menu:settings", "set:notify-on:ideas", "set:notify-off:news"):
        assert asked(shows) == ("residents.settings", {}), shows
    for none in (
        "/start",
        "set:language",  # the languages, not the screen
        "set:set-language:en",  # changes the person first: the screen is read after
        BallotCb(action=BallotAction.HOME).pack(),  # my open pots: no pot
        BrowseCb(action=BrowseAction.SUPPORT, process=2, idea=9).pack(),  # locks the idea: its own read
        "pb:add:zz:1:0",  # forged
        "pb:add:99999999999:1:0",
        "pbs:pot:3",  # staff's budget buttons
        "ib:view:2:new:0:0:0",  # too short
    ):
        assert asked(none) is None, none
