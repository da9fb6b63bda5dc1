"""Presses and commands that only show something (the features' `views`): read with no transaction
(`storage.db.reading`), not recorded as handled, shown again when delivered again; handled as a change
when a conversation is underway, the read leaves something to write, or the handler finds it must write
(`storage.db.will_write`); a write in one refused. On SQLite, or on PostgreSQL with TEST_DATABASE_URL."""

from __future__ import annotations

import random
from datetime import timedelta

import pytest
from aiogram import Router
from aiogram.filters import Command
from aiogram.fsm.context import FSMContext
from aiogram.fsm.storage.base import StorageKey
from aiogram.types import Message
from sqlalchemy import event, func, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.app import Meydan
from bot.config import Settings
from bot.features import FEATURES, Feature
from bot.metrics import UPDATES
from bot.routing import private_router
from bot.services import ideas, processes, residents
from bot.services.budgets import rules
from bot.ui.broadcasts.callbacks import BroadcastCb
from bot.ui.budgets.callbacks import BallotAction as A
from bot.ui.budgets.callbacks import BallotCb, Level, VerifyStaffAction, VerifyStaffCb
from bot.ui.budgets.staff import StaffAction, StaffCb
from bot.ui.callbacks import HubCb, MenuCb, ProcessCb, SettingsCb
from bot.ui.ideas.callbacks import BrowseAction, BrowseCb, IdeaCb, ModAction, ModCb
from bot.ui.messages import respond
from bot.ui.results.callbacks import ResultsAction, ResultsCb
from storage.db import (
    READS_ONLY,
    ChangeNeeded,
    WriteWhileReading,
    make_engine,
    make_session_factory,
    reading,
    will_write,
    writing,
)
from storage.models import (
    BudgetBallot,
    BudgetResult,
    FsmRecord,
    Idea,
    Process,
    ProcessedUpdate,
    Resident,
    utcnow,
)
from tests.budget_fixtures import CITY_PROJECTS, seed
from tests.conftest import STAFF_ID, running_bot
from tests.flows import onboard, post_webhook, press_again
from tests.results_fixtures import close_voting, vote_all
from tests.test_ideas_flow import _labels, _process, _seed_idea

# the buttons a view may name, by their prefix; where its action is one of a set, the set
_BUTTONS = {
    cb.__prefix__: next(iter(cb.model_fields.values())).annotation
    for cb in (
        IdeaCb,
        BrowseCb,
        BallotCb,
        ResultsCb,
        MenuCb,
        SettingsCb,
        HubCb,
        ModCb,
        StaffCb,
        VerifyStaffCb,
        ProcessCb,
        BroadcastCb,
    )
}


def test_every_declared_view_names_a_command_or_a_button_and_its_action() -> None:
    commands = {f"/{command.name}" for feature in FEATURES for command in feature.commands}
    views = [view for feature in FEATURES for view in feature.views]
    assert len(views) == len(set(views))
    for view in views:
        if view.startswith("/"):
            assert view in commands, view
            continue
        prefix, _, action = view.partition(":")
        actions = _BUTTONS[prefix]
        assert action and (actions is str or action in {a.value for a in actions}), view


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """No scheduler beside the bot: its jobs (the lease renewed, phases synced, the outbox polled) begin
    transactions of their own on the same engine, which `_transactions` would count among the updates'."""
    return settings.model_copy(update={"scheduler": False})


def _transactions(meydan: Meydan) -> list[bool]:
    """For each transaction the bot's engine begins from now on: whether it only reads (`settings`:
    with no scheduler, the updates' transactions only)."""
    seen: list[bool] = []
    event.listen(
        meydan.sessions.kw["bind"].sync_engine,
        "begin",
        lambda connection: seen.append(bool(connection.get_execution_options().get(READS_ONLY))),
    )
    return seen


async def _recorded(meydan: Meydan, update_id: int) -> ProcessedUpdate | None:
    async with meydan.sessions() as session:
        return await session.get(ProcessedUpdate, (meydan.bot.id, update_id))


async def test_browsing_reads_with_no_transaction_and_records_nothing(meydan: Meydan, sandbox) -> None:  # noqa: ANN001
    process_id = await _process(meydan)
    made = [await _seed_idea(meydan, process_id, f"Fikir {n}", author_tg=100_000_700 + n) for n in range(7)]
    john = await onboard(sandbox, name="John", lang="en")
    await john.say("/menu")
    await john.press("Ideas")
    transactions = _transactions(meydan)
    page = await john.press("Browse ideas")  # idea:browse
    listing = await john.last_message()
    assert f"#{made[6]}" in listing.text
    assert transactions == [True]
    data = listing.button_data("▶")
    pressed = await sandbox.client.press(john.id, listing.message_id, data)  # ib:list, the next page
    assert f"#{made[0]}" in (await john.last_message()).text
    await john.press(f"#{made[0]}")  # ib:view
    card = await john.last_message()
    assert "Fikir 0" in card.text and "Supporters: 0" in card.text
    assert transactions == [True, True, True]
    assert page is None or not page.show_alert
    assert await _recorded(meydan, pressed.update_id) is None  # not claimed, nothing kept
    support = card.button_data(next(label for label in _labels(card) if "Support" in label))
    supported = await sandbox.client.press(john.id, card.message_id, support)  # a change
    assert transactions[3:] and not any(transactions[3:])  # transactions that write
    assert "Supporters: 1" in (await john.last_message()).text
    kept = await _recorded(meydan, supported.update_id)
    assert kept is not None and kept.answer.startswith('[{"method":"Edit')


async def test_the_staff_screens_are_read_with_no_transaction(meydan: Meydan, sandbox) -> None:  # noqa: ANN001
    """Staff tools, the review queue, a card, the next card and the published ideas only show
    something: each is read with no transaction and not recorded; a decision on a card is a change."""
    process_id = await _process(meydan)
    waiting = [
        await _seed_idea(meydan, process_id, f"Bekleyen {n}", author_tg=100_000_720 + n, status=ideas.PENDING)
        for n in range(2)
    ]
    published = await _seed_idea(meydan, process_id, "Yayında", author_tg=100_000_730)
    staff = await onboard(sandbox, name="Selin", lang="en", person_id=STAFF_ID)
    transactions = _transactions(meydan)
    tools = await staff.say("/admin")
    assert "Staff tools" in tools.text
    queue = await sandbox.client.press(staff.id, tools.message_id, HubCb(section="ideas-queue").pack())
    first = await staff.last_message()
    assert "Bekleyen 0" in first.text
    await staff.press("⏭ Next")
    assert "Bekleyen 1" in (await staff.last_message()).text
    await staff.say("/admin")
    await staff.press("✅ Published ideas")
    await staff.press(f"#{published}")
    assert "Yayında" in (await staff.last_message()).text
    assert transactions and all(transactions)
    assert await _recorded(meydan, queue.update_id) is None
    shown = await staff.last_message()
    data = ModCb(action=ModAction.CARD, id=waiting[0]).pack()
    card = await sandbox.client.press(staff.id, shown.message_id, data)
    assert "Bekleyen 0" in (await staff.last_message()).text
    assert await _recorded(meydan, card.update_id) is None
    await staff.press("✅ Approve")  # a change: its transaction may write
    assert transactions[-1] is False
    async with meydan.sessions() as session:
        assert (await session.get(Idea, waiting[0])).status == ideas.APPROVED


async def test_the_hub_s_other_sections_and_the_staff_budget_screens_are_views(
    meydan: Meydan,
    sandbox,  # noqa: ANN001
) -> None:
    """Budgets (the processes, a process, a pot, a project, the ideas that may become projects), voting
    verification, processes and broadcasts: each screen is read with no transaction and not recorded.
    Setting a verification level is a change; a resident pressing the screens' buttons is refused."""
    async with meydan.sessions.begin() as session:
        seeded = await seed(session)
        soon = utcnow() + timedelta(days=1)  # voting not begun: a pot still takes projects from ideas
        process = await session.get(Process, seeded.process_id)
        await processes.set_phase(session, process, rules.VOTING, soon, soon + timedelta(days=5))
    staff = await onboard(sandbox, name="Selin", lang="en", person_id=STAFF_ID)
    await staff.say("/admin")
    transactions = _transactions(meydan)
    shown, updates = [], []

    async def press(data: str) -> None:
        pressed = await sandbox.client.press(staff.id, (await staff.last_message()).message_id, data)
        assert pressed.handled
        shown.append((await staff.last_message()).text)
        updates.append(pressed.update_id)

    await press(HubCb(section="budgets").pack())
    await press(StaffCb(action=StaffAction.PROCESS, id=seeded.process_id).pack())
    await press(StaffCb(action=StaffAction.POT, id=seeded.city).pack())
    await press(StaffCb(action=StaffAction.PROJECT, id=seeded.projects["1"]).pack())
    await press(StaffCb(action=StaffAction.IDEAS, id=seeded.city).pack())
    await press(StaffCb(action=StaffAction.PROCESSES).pack())
    await press(HubCb(section="budget-verification").pack())
    await press(VerifyStaffCb(action=VerifyStaffAction.OPEN, process=seeded.process_id).pack())
    await press(HubCb(section="processes").pack())
    await press(HubCb(section="broadcasts").pack())
    assert "Participatory Budget" in shown[1] and "City budget" in shown[2]
    assert CITY_PROJECTS["1"][0] in shown[3] and "Broadcasts" in shown[-1]
    assert not any("something went wrong" in text for text in shown)
    assert len(transactions) == len(shown) and all(transactions)
    assert all([await _recorded(meydan, update_id) is None for update_id in updates])
    await press(HubCb(section="budget-verification").pack())
    data = VerifyStaffCb(action=VerifyStaffAction.LEVEL, process=seeded.process_id, level=Level.PHONE)
    await sandbox.client.press(staff.id, (await staff.last_message()).message_id, data.pack())
    assert transactions[-1] is False  # a change: its transaction may write
    async with meydan.sessions() as session:
        assert (await session.get(Process, seeded.process_id)).verification == rules.PHONE
    john = await onboard(sandbox, name="John", lang="en")  # a resident: the same screens, forged, refused
    message = await john.last_message()
    for data in (
        HubCb(section="budgets").pack(),
        StaffCb(action=StaffAction.PROCESS, id=seeded.process_id).pack(),
        StaffCb(action=StaffAction.POT, id=seeded.city).pack(),
        StaffCb(action=StaffAction.PROJECT, id=seeded.projects["1"]).pack(),
        ProcessCb(action="list").pack(),
    ):
        answer = await john.press_data(message.message_id, data)
        assert answer.show_alert and "staff only" in answer.text, data


async def _browsing(meydan: Meydan, sandbox):  # noqa: ANN001, ANN202
    """An idea published in a process, and John looking at the process's list of ideas."""
    process_id = await _process(meydan)
    idea = await _seed_idea(meydan, process_id, "Sahil yoluna çeşme", author_tg=100_000_710)
    john = await onboard(sandbox, name="John", lang="en")
    await john.say("/menu")
    await john.press("Ideas")
    await john.press("Browse ideas")
    return process_id, idea, john, await john.last_message()


async def test_a_view_delivered_again_is_shown_again(meydan: Meydan, sandbox) -> None:  # noqa: ANN001
    process_id, idea, john, listing = await _browsing(meydan, sandbox)
    data = BrowseCb(action=BrowseAction.VIEW, process=process_id, idea=idea).pack()
    pressed = await sandbox.client.press(john.id, listing.message_id, data)
    before = len(await john.bot_messages())
    again = press_again(john, pressed, listing.message_id, data)
    status, reply = await post_webhook(sandbox, again, meydan.webhook_secret)  # Telegram retries it
    assert status == 200 and len(await john.bot_messages()) == before  # the same card, no note
    assert reply is None or reply["method"] == "answerCallbackQuery"
    assert "Sahil yoluna çeşme" in (await john.last_message()).text
    assert await _recorded(meydan, pressed.update_id) is None


async def test_a_view_pressed_during_a_form_is_a_change(meydan: Meydan, sandbox) -> None:  # noqa: ANN001
    process_id, idea, john, listing = await _browsing(meydan, sandbox)
    await john.say("/ideas")
    await john.press("Share an idea")
    await john.press("Green spaces and parks")  # the form asks for the title: a conversation underway
    transactions = _transactions(meydan)
    data = BrowseCb(action=BrowseAction.VIEW, process=process_id, idea=idea).pack()
    pressed = await sandbox.client.press(john.id, listing.message_id, data)
    [card] = [m for m in await john.chat() if m.message_id == listing.message_id]
    assert "Sahil yoluna çeşme" in card.text
    assert transactions == [True, False]  # read to know, then read again with the claim
    assert await _recorded(meydan, pressed.update_id) is not None
    async with meydan.sessions() as session:
        assert await session.scalar(
            select(func.count()).select_from(FsmRecord).where(FsmRecord.state.is_not(None))
        )


async def test_a_view_whose_read_leaves_a_write_is_a_change(meydan: Meydan, sandbox) -> None:  # noqa: ANN001
    process_id, _idea, john, listing = await _browsing(meydan, sandbox)
    async with meydan.sessions.begin() as session:  # a row from before identities: the read gives one
        await session.execute(update(Resident).where(Resident.telegram_id == john.id).values(identity=None))
    transactions = _transactions(meydan)
    data = BrowseCb(action=BrowseAction.LIST, process=process_id).pack()
    pressed = await sandbox.client.press(john.id, listing.message_id, data)
    assert pressed.handled and "Sahil yoluna çeşme" in (await john.last_message()).text
    assert transactions == [True, False]
    assert await _recorded(meydan, pressed.update_id) is not None
    async with meydan.sessions() as session:
        assert await session.scalar(select(Resident.identity).where(Resident.telegram_id == john.id))


async def test_a_ballot_is_browsed_in_views_and_only_its_ticks_are_changes(meydan: Meydan, sandbox) -> None:  # noqa: ANN001
    async with meydan.sessions.begin() as session:
        seeded = await seed(session)
    john = await onboard(sandbox, name="John", lang="en")
    await john.say("/budget")
    transactions = _transactions(meydan)
    await john.press("City budget")  # pb:pot
    await john.press("Library garden")  # pb:card
    assert transactions == [True, True]
    card = await john.last_message()
    ticked = await sandbox.client.press(john.id, card.message_id, card.button_data("Add to my ballot"))
    assert transactions[2:] == [False]
    back = await sandbox.client.press(john.id, card.message_id, card.button_data("Back to the projects"))
    page = await john.last_message()
    assert any(label.startswith("✅") and "Library garden" in label for label in _labels(page))
    await john.press("Review and confirm (1)")  # pb:review
    assert "Library garden" in (await john.last_message()).text
    assert transactions[3:] == [True, True]
    assert await _recorded(meydan, ticked.update_id) is not None
    assert await _recorded(meydan, back.update_id) is None
    await john.press("Confirm my ballot")
    async with meydan.sessions() as session:
        assert (await session.scalars(select(BudgetBallot.pot_id))).all() == [seeded.city]


_OUTCOMES = ("handled", "viewed")


async def test_a_pot_that_asks_to_verify_first_is_read_then_handled_as_a_change(
    state_settings: Settings,
    sandbox,  # noqa: ANN001
) -> None:
    async with running_bot(state_settings, sandbox) as meydan:
        async with meydan.sessions.begin() as session:
            seeded = await seed(session)
            (await session.get(Process, seeded.process_id)).verification = rules.PHONE
        john = await onboard(sandbox, name="John", lang="en", person_id=random.randint(10**9, 2 * 10**9))
        await john.say("/budget")
        transactions = _transactions(meydan)
        home = await john.last_message()
        counted = {outcome: UPDATES.labels("callback_query", outcome)._value.get() for outcome in _OUTCOMES}
        pressed = await sandbox.client.press(
            john.id, home.message_id, BallotCb(action=A.POT, pot=seeded.city).pack()
        )
        assert pressed.handled and await john.keyboard() == [["📱 Share my phone number"], ["✖️ Cancel"]]
        assert transactions == [True, False]  # the view found the prompt to set: read again with the claim
        assert await _recorded(meydan, pressed.update_id) is not None
        moved = {o: UPDATES.labels("callback_query", o)._value.get() - counted[o] for o in _OUTCOMES}
        assert moved == {"handled": 1, "viewed": 0}  # counted as what it became
        if state_settings.redis_url is None:  # the state in the database
            async with meydan.sessions() as session:
                assert await session.scalar(select(FsmRecord.state).where(FsmRecord.state.is_not(None)))
        answer = await john.say("+905551112233")  # the prompt's state holds: a typed number is refused
        assert "Please press “📱 Share my phone number” below" in answer.text


async def test_results_not_yet_counted_are_counted_by_a_change_and_then_read_in_views(
    meydan: Meydan, sandbox
) -> None:  # noqa: ANN001
    async with meydan.sessions.begin() as session:
        seeded = await seed(session)
        await vote_all(session, seeded)
        await close_voting(session, seeded.process_id)
    john = await onboard(sandbox, name="John", lang="en")
    await john.say("/results")
    home = await john.last_message()
    transactions = _transactions(meydan)
    data = ResultsCb(action=ResultsAction.SUMMARY, pot=seeded.city).pack()  # before the count job ran
    counted = await sandbox.client.press(john.id, home.message_id, data)
    assert "Night buses" in (await john.last_message()).body
    # a small pot is counted on the spot: read, then read again and counted as a change
    assert transactions[0] and len(transactions) > 1 and not any(transactions[1:])
    changes = len(transactions)
    await john.press("Why each project won or lost")  # res:projects
    await john.press("Bike lanes")  # res:project
    assert "it cost ₺1,500,000, and only ₺600,000 was left" in (await john.last_message()).body
    assert transactions[changes:] == [True, True]
    assert await _recorded(meydan, counted.update_id) is not None
    async with meydan.sessions() as session:
        assert await session.get(BudgetResult, seeded.city) is not None


async def test_will_write_asks_for_a_change_only_in_a_session_that_reads(sessions) -> None:  # noqa: ANN001
    resident_id = await _a_resident(sessions)
    async with sessions() as session:
        will_write(session)  # a session like any other: nothing to do
        await session.get(Resident, resident_id)
        will_write(session)
    async with sessions() as session:
        reading(session)
        assert await session.scalar(select(Resident.language).where(Resident.id == resident_id)) == "en"
        with pytest.raises(ChangeNeeded):
            will_write(session)
        await writing(session)  # what the handler is then run again with
        will_write(session)
        await session.execute(update(Resident).where(Resident.id == resident_id).values(language="tr"))
        await session.commit()
    assert await _language(sessions, resident_id) == "tr"


async def test_the_sessions_of_a_factory_read_through_one_twin_of_its_engine(sessions) -> None:  # noqa: ANN001
    """The reading twin is made once for a factory's sessions; a session of the same engine made
    otherwise gets a twin of its own, and `writing` gives each its engine back."""
    resident_id = await _a_resident(sessions)
    engine = sessions.kw["bind"].sync_engine
    twins = []
    for _ in range(2):
        async with sessions() as session:
            reading(session)
            twins.append(session.sync_session.bind)
            assert await session.scalar(select(Resident.id).where(Resident.id == resident_id)) == resident_id
            await writing(session)
            assert session.sync_session.bind is engine
    assert twins[0] is twins[1] and twins[0] is not engine
    assert twins[0].get_execution_options()[READS_ONLY]
    async with AsyncSession(sessions.kw["bind"]) as session:
        reading(session)
        assert session.sync_session.bind is not twins[0]
        assert session.sync_session.bind.get_execution_options()[READS_ONLY]
        with pytest.raises(WriteWhileReading):
            await session.execute(update(Resident).where(Resident.id == resident_id).values(language="tr"))
        await writing(session)
        assert session.sync_session.bind is engine


async def _renames(message: Message, session: AsyncSession, viewer: residents.Viewer) -> None:
    """A handler declared as a view that writes all the same."""
    await session.execute(update(Resident).where(Resident.id == viewer.resident.id).values(language="tr"))
    await respond(message, "renamed")


async def _shows_then_renames(message: Message, session: AsyncSession, viewer: residents.Viewer) -> None:
    """A view that writes after a message has gone out (which committed what the update did so far: a
    typed message's first answer is held for the webhook's reply and sent when a second comes)."""
    await respond(message, "shown")
    await respond(message, "and more")
    await session.execute(update(Resident).where(Resident.id == viewer.resident.id).values(language="tr"))


async def _shows_then_asks_to_write(
    message: Message, session: AsyncSession, viewer: residents.Viewer
) -> None:
    """A view that finds it must write once a message has gone out: too late to be run again."""
    await respond(message, "seen once")
    await respond(message, "and more")
    will_write(session)
    await session.execute(update(Resident).where(Resident.id == viewer.resident.id).values(language="tr"))


async def _sets_the_state(message: Message, state: FSMContext) -> None:
    """A view that begins a conversation (sets the person's state) without asking to write first."""
    await state.set_state("Writes:typing")
    await respond(message, "now type")


def make_writing_router() -> Router:
    router = private_router("writes")
    router.message.register(_renames, Command("writes"))
    router.message.register(_sets_the_state, Command("writesstate"))
    router.message.register(_shows_then_renames, Command("writeslater"))
    router.message.register(_shows_then_asks_to_write, Command("writestoolate"))
    return router


WRITES = Feature(
    "writes",
    router="tests.test_views:make_writing_router",
    views=("/writes", "/writeslater", "/writestoolate", "/writesstate"),
)


async def test_a_view_that_writes_is_refused_and_nothing_is_written(settings: Settings, sandbox) -> None:  # noqa: ANN001
    async with running_bot(settings, sandbox, extra_features=[WRITES]) as app:
        john = await onboard(sandbox, name="John", lang="en")
        answer = await john.say("/writes")
        assert "something went wrong" in answer.text and "renamed" not in answer.text
        await john.say("/writeslater")  # also once a message has gone out (and the update committed)
        texts = [m.text for m in await john.bot_messages()]
        assert "shown" in texts and "something went wrong" in texts[-1]
        await john.say("/writestoolate")  # not run again as a change: what went out would go twice
        texts = [m.text for m in await john.bot_messages()]
        assert texts.count("seen once") == 1 and "something went wrong" in texts[-1]
        async with app.sessions() as session:
            assert (
                await session.scalar(select(Resident.language).where(Resident.telegram_id == john.id)) == "en"
            )


async def test_a_view_that_writes_the_conversation_state_is_refused_in_either_store(
    state_settings: Settings,
    sandbox,  # noqa: ANN001
) -> None:
    """The state is written where it is kept, the database or Redis: a view writing it is refused in
    either, and nothing is kept of it."""
    async with running_bot(state_settings, sandbox, extra_features=[WRITES]) as app:
        john = await onboard(sandbox, name="John", lang="en", person_id=random.randint(10**9, 2 * 10**9))
        answer = await john.say("/writesstate")
        assert "something went wrong" in answer.text and "now type" not in answer.text
        key = StorageKey(bot_id=app.bot.id, chat_id=john.id, user_id=john.id)
        assert await app.storage.get_state(key) is None


async def _a_resident(sessions) -> int:  # noqa: ANN001
    async with sessions.begin() as session:
        resident = Resident(telegram_id=500_000_901, language="en")
        session.add(resident)
        await session.flush()
        return resident.id


async def _language(sessions, resident_id: int) -> str | None:  # noqa: ANN001
    async with sessions() as session:
        return await session.scalar(select(Resident.language).where(Resident.id == resident_id))


async def test_a_reading_session_refuses_a_write_before_the_database_sees_it(sessions) -> None:  # noqa: ANN001
    resident_id = await _a_resident(sessions)
    async with sessions() as session:
        reading(session)
        assert await session.scalar(select(Resident.language).where(Resident.id == resident_id)) == "en"
        with pytest.raises(WriteWhileReading):
            await session.execute(update(Resident).where(Resident.id == resident_id).values(language="tr"))
        await session.commit()  # as before a message to Telegram: the session still only reads after it
        with pytest.raises(WriteWhileReading):
            await session.execute(update(Resident).where(Resident.id == resident_id).values(language="tr"))
        await session.commit()
    assert await _language(sessions, resident_id) == "en"


async def test_a_reading_session_holds_no_transaction_and_hands_its_connection_back_as_it_was(
    sessions,
    database_url: str,  # noqa: ANN001
) -> None:
    resident_id = await _a_resident(sessions)
    other = make_engine(
        database_url, connect_args={"timeout": 1} if database_url.startswith("sqlite") else {}
    )
    try:
        async with sessions() as session:
            reading(session)
            assert await session.scalar(select(Resident.language).where(Resident.id == resident_id)) == "en"
            if session.get_bind().dialect.name == "postgresql":
                pid = await session.scalar(text("SELECT pg_backend_pid()"))
                async with other.connect() as connection:
                    query = text("SELECT state FROM pg_stat_activity WHERE pid = :pid")
                    assert (await connection.execute(query, {"pid": pid})).scalar() == "idle"
            # SQLite: no write lock held, another connection writes at once (it would wait a second)
            async with make_session_factory(other).begin() as writer:
                await writer.execute(update(Resident).where(Resident.id == resident_id).values(language="tr"))
        assert await _language(sessions, resident_id) == "tr"
        async with sessions() as session:  # the next transaction on that connection is one again
            await session.execute(update(Resident).where(Resident.id == resident_id).values(language="en"))
            await session.rollback()
        assert await _language(sessions, resident_id) == "tr"
    finally:
        await other.dispose()
