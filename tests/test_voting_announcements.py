"""Voting and results announcements, and results counted off the update path.

"Voting is open" once to the residents of a process's pots (a neighborhood pot: its residents; a district
pot: the district's; a city pot: everyone; a person in two pots' areas hears it once), each in their
language with a button to the ballot; not to those who turned "phases" off or the unreachable; one missed
during downtime goes out once after, but not once voting has closed. The reminder the day before voting
closes goes only to those who have not voted. When voting closes the job counts each pot once (across two
runs), and "the results are published" follows; a viewer of a large pot before that is told to wait."""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select, update

from bot.i18n import make_i18n, translate, when
from bot.services import announcements, outbox, processes, residents, roles
from bot.services.budgets import counting, results
from bot.services.geography import by_keys
from bot.telegram import make_bot
from bot.ui.callbacks import MenuCb
from scheduler import results as counting_job
from scheduler.outbox import Pace
from scheduler.setup import Scheduling
from storage.models import (
    BudgetResult,
    OutboxDelivery,
    OutboxMessage,
    Process,
    ProcessPhase,
    Resident,
    utcnow,
)
from tests.budget_fixtures import resident, seed
from tests.results_fixtures import WINNERS, vote_all

pytestmark = pytest.mark.timeout(90)

NAMES = {"tr": "Katılımcı Bütçe", "en": "Participatory Budget"}
PEOPLE = (  # name, language, (district, neighborhood)
    ("Ayşe", "tr", ("konak", "pazaryeri")),
    ("John", "en", ("konak", "pazaryeri")),
    ("Ali", "en", ("konak", "alsancak")),
    ("Deniz", "tr", ("karsiyaka", "bostanli")),
    ("Quiet", "en", ("konak", "pazaryeri")),  # turned "phases" off
    ("Gone", "en", ("konak", "pazaryeri")),  # blocked the bot
)


async def _people(sessions, sandbox=None, chats=None) -> dict[str, Resident]:  # noqa: ANN001
    """The residents of `PEOPLE`; with a sandbox, their chats go into `chats` by name."""
    made = {}
    async with sessions.begin() as session:
        for n, (name, lang, hood) in enumerate(PEOPLE):
            telegram_id = 7000 + n
            if sandbox is not None:
                chat = await sandbox.person(name, language_code=lang)
                chats[name], telegram_id = chat, chat.id
            person = await resident(session, telegram_id, *hood)
            residents.set_language(person, lang)
            if name == "Quiet":
                await residents.set_notification(session, person.id, "phases", False)
            if name == "Gone":
                person.reachable = False
            made[name] = person
    return made


async def _process(
    sessions,  # noqa: ANN001
    pots: tuple[tuple[str, tuple[str, str] | None], ...],
    *,
    opens_in: timedelta,
    closes_in: timedelta,
    created_ago: timedelta = timedelta(days=30),
) -> tuple[int, int, list[int]]:
    """A budgeting process created `created_ago`, its voting phase, and pots of the given scopes
    ("city", "district" or "neighborhood", with the place's keys): (process id, voting phase id, pot ids)."""
    now = utcnow()
    async with sessions.begin() as session:
        process = await processes.create(
            session,
            key=f"b{time.monotonic_ns()}",
            names=NAMES,
            opens_at=now - timedelta(days=60),
            closes_at=now - timedelta(days=50),
        )
        await processes.set_phase(session, process, "voting", now + opens_in, now + closes_in)
        ids = []
        for scope, place in pots:
            where = {}
            if place is not None:
                found = await by_keys(session, *place)
                where = (
                    {"district_id": found.district_id}
                    if scope == "district"
                    else {"neighborhood_id": found.id}
                )
            pot = await counting_pot(session, process, scope, where)
            ids.append(pot.id)
        process.created_at = now - created_ago
        await session.flush()
        phase_id = next(p.id for p in process.phases if p.kind == "voting")
        return process.id, phase_id, ids


async def counting_pot(session, process, scope, where):  # noqa: ANN001, ANN201
    from bot.services import budgets

    return await budgets.create_pot(
        session, process, names={"tr": f"{scope} bütçesi", "en": f"{scope} budget"}, budget=1_000_000,
        scope=scope, **where,
    )  # fmt: skip


async def _recipients(sessions, key_prefix: str) -> list[int]:  # noqa: ANN001
    async with sessions() as session:
        rows = await session.scalars(
            select(OutboxDelivery.resident_id)
            .join(OutboxMessage, OutboxMessage.id == OutboxDelivery.message_id)
            .where(OutboxMessage.key.startswith(key_prefix))
            .order_by(OutboxDelivery.resident_id)
        )
        return list(rows)


async def test_voting_open_goes_once_to_the_residents_of_its_pots(sessions) -> None:  # noqa: ANN001
    people = await _people(sessions)
    # a neighborhood pot (Pazaryeri) and a district pot (Konak): Pazaryeri's residents are in both
    _p, phase_id, _pots = await _process(
        sessions,
        (("neighborhood", ("konak", "pazaryeri")), ("district", ("konak", "pazaryeri"))),
        opens_in=timedelta(minutes=-5),
        closes_in=timedelta(days=5),
    )
    for _twice in range(2):
        async with sessions.begin() as session:
            await announcements.announce(session, phase_id, announcements.OPEN)
    got = await _recipients(sessions, f"phase:{phase_id}:open:")
    assert got == sorted(people[n].id for n in ("Ayşe", "John", "Ali"))  # once each; not Deniz, Quiet, Gone
    async with sessions() as session:
        message = await session.scalar(
            select(OutboxMessage).where(OutboxMessage.key.startswith(f"phase:{phase_id}:"))
        )
        assert message.links == [["budgets", 0, "🗳 Vote now"]] and message.category == "phases"
        langs = dict((await session.execute(select(OutboxDelivery.resident_id, OutboxDelivery.lang))).all())
    assert langs[people["Ayşe"].id] == "tr" and langs[people["John"].id] == "en"

    # a neighborhood pot only: its residents
    _p, hood_phase, _pots = await _process(
        sessions, (("neighborhood", ("karsiyaka", "bostanli")),),
        opens_in=timedelta(minutes=-5), closes_in=timedelta(days=5),
    )  # fmt: skip
    async with sessions.begin() as session:
        await announcements.announce(session, hood_phase, announcements.OPEN)
    assert await _recipients(sessions, f"phase:{hood_phase}:open:") == [people["Deniz"].id]

    # a city pot and a neighborhood pot: everyone onboarded, once
    _p, city_phase, _pots = await _process(
        sessions, (("city", None), ("neighborhood", ("konak", "pazaryeri"))),
        opens_in=timedelta(minutes=-5), closes_in=timedelta(days=5),
    )  # fmt: skip
    async with sessions.begin() as session:
        await announcements.announce(session, city_phase, announcements.OPEN)
    assert await _recipients(sessions, f"phase:{city_phase}:open:") == sorted(
        people[n].id for n in ("Ayşe", "John", "Ali", "Deniz")
    )


async def test_the_reminder_goes_only_to_those_who_have_not_voted(sessions) -> None:  # noqa: ANN001
    from bot.services import budgets

    people = await _people(sessions)
    _p, phase_id, (city_pot, hood_pot) = await _process(
        sessions, (("city", None), ("neighborhood", ("konak", "pazaryeri"))),
        opens_in=timedelta(days=-5), closes_in=timedelta(hours=12),
    )  # fmt: skip
    async with sessions.begin() as session:
        project = await budgets.add_project(  # (the process set up whole, its voting already open)
            session, await session.get(budgets.BudgetPot, city_pot), titles={"en": "Trees"}, cost=100,
            building=True,
        )  # fmt: skip
        other = await budgets.add_project(
            session, await session.get(budgets.BudgetPot, hood_pot), titles={"en": "Benches"}, cost=100,
            building=True,
        )  # fmt: skip
        john = await session.get(Resident, people["John"].id)
        ali = await session.get(Resident, people["Ali"].id)
        await budgets.confirm(session, john, city_pot, [project.id])  # voted in the city pot
        await budgets.confirm(session, ali, city_pot, [project.id])
        del other
    async with sessions() as session:
        future, missed = await announcements.upcoming(session)
    assert [(e.phase_id, e.edge) for e in missed if e.phase_id == phase_id] == [(phase_id, "remind")]
    async with sessions.begin() as session:
        assert await announcements.announce(session, phase_id, announcements.REMIND) == 2
    assert await _recipients(sessions, f"phase:{phase_id}:remind:") == sorted(
        people[n].id for n in ("Ayşe", "Deniz")
    )
    # no reminder once voting has closed
    _p, closed, _pots = await _process(
        sessions, (("city", None),), opens_in=timedelta(days=-5), closes_in=timedelta(minutes=-1),
    )  # fmt: skip
    async with sessions.begin() as session:
        assert await announcements.announce(session, closed, announcements.REMIND) is None
        assert await announcements.announce(session, closed, announcements.OPEN) is None


def _scheduling(sessions, sandbox) -> Scheduling:  # noqa: ANN001
    return Scheduling(
        sessions,
        lambda: make_bot(sandbox.token, sandbox.url, max_retry_wait=0),
        outbox.Signal(),
        pace=Pace(rate=100.0),
        poll=0.1,
    )


async def _quiet(sessions, timeout: float = 15.0) -> None:  # noqa: ANN001
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        async with sessions() as session:
            left = await session.scalar(select(func.count()).where(OutboxDelivery.status == outbox.PENDING))
        if not left:
            return
        await asyncio.sleep(0.1)
    raise AssertionError("the outbox did not drain")


def _plain(text: str) -> str:
    return text.replace("<b>", "").replace("</b>", "")


async def test_voting_open_missed_during_downtime_is_sent_once_in_each_language(sessions, sandbox) -> None:  # noqa: ANN001
    import handlers

    handlers.routers()  # as `meydan worker` does: the features register how their buttons open
    chats: dict = {}
    await _people(sessions, sandbox, chats)
    process_id, _phase, _pots = await _process(
        sessions, (("city", None), ("neighborhood", ("konak", "pazaryeri"))),
        opens_in=timedelta(hours=-1), closes_in=timedelta(days=5),
    )  # fmt: skip
    async with sessions() as session:
        closes = processes.window(await processes.get(session, process_id), "voting").ends_at
    for restart in range(2):
        scheduling = _scheduling(sessions, sandbox)
        await scheduling.start()
        try:
            if restart == 0:  # a loaded machine may take a while over the first sync
                await chats["John"].wait_for(lambda m: bool(m.inline_keyboard), timeout=15)
            await asyncio.sleep(0.5)
            await _quiet(sessions)
        finally:
            await scheduling.stop()
    zone = ZoneInfo("Europe/Istanbul")
    text = announcements.TEXTS[("voting", "open")]
    for name, lang in (("Ayşe", "tr"), ("John", "en"), ("Deniz", "tr"), ("Ali", "en")):
        got = await chats[name].bot_messages()
        expected = _plain(translate(text, lang, process=NAMES[lang], closes=when(closes, zone, lang)))
        assert [m.text for m in got] == [expected], name
        buttons = [b for row in got[0].inline_keyboard for b in row]
        assert [b["text"] for b in buttons] == [translate("🗳 Vote now", lang)]
        assert buttons[0]["callback_data"] == MenuCb(action="budget").pack()
    assert await chats["Quiet"].bot_messages() == []


async def test_voting_open_is_not_sent_after_voting_closed(sessions, sandbox) -> None:  # noqa: ANN001
    await _people(sessions, sandbox, {})
    _process_id, phase_id, _pots = await _process(
        sessions, (("city", None),), opens_in=timedelta(days=-5), closes_in=timedelta(minutes=-10),
    )  # fmt: skip
    scheduling = _scheduling(sessions, sandbox)
    await scheduling.start()
    try:
        await asyncio.sleep(1.0)
        await _quiet(sessions)
    finally:
        await scheduling.stop()
    async with sessions() as session:
        keys = list(await session.scalars(select(OutboxMessage.key)))
    assert not [k for k in keys if k.startswith(f"phase:{phase_id}:")]  # neither opening nor reminder


async def _closed_and_voted(sessions):  # noqa: ANN001, ANN202
    async with sessions.begin() as session:
        seeded = await seed(session)
        await vote_all(session, seeded)
    async with sessions.begin() as session:
        now = utcnow()
        await session.execute(
            update(ProcessPhase)
            .where(ProcessPhase.process_id == seeded.process_id, ProcessPhase.kind == "voting")
            .values(ends_at=now - timedelta(minutes=1))
        )
        await session.execute(
            update(Process).where(Process.id == seeded.process_id).values(created_at=now - timedelta(days=40))
        )
    return seeded


async def test_the_job_counts_each_pot_once_and_announces_the_results(sessions, monkeypatch) -> None:  # noqa: ANN001
    seeded = await _closed_and_voted(sessions)
    counted: list[int] = []
    real = counting.count

    def counting_spy(pot, election):  # noqa: ANN001, ANN202
        counted.append(pot.id)
        return real(pot, election)

    monkeypatch.setattr(counting, "count", counting_spy)
    lock, signal = asyncio.Lock(), outbox.Signal()
    assert await counting_job.count_due(sessions, signal, lock) == 4  # the city, district and two hood pots
    assert await counting_job.count_due(sessions, signal, lock) == 0  # a second run: nothing to count
    assert sorted(counted) == sorted([seeded.city, seeded.district, seeded.hood, seeded.other_hood])
    async with sessions() as session:
        stored = await session.get(BudgetResult, seeded.city)
        assert tuple(stored.outcome["selected"]) == WINNERS and stored.ballots == 13
        messages = list(
            await session.scalars(select(OutboxMessage).where(OutboxMessage.key.startswith("results:")))
        )
    assert len(messages) == 1 and messages[0].links == [["results", 0, "📊 See the results"]]
    voters = await _recipients(sessions, "results:")
    assert len(voters) == 13  # the city pot: everyone set up (the voters of the fixtures)
    # a viewer now reads the stored outcome; nothing is counted again
    async with sessions() as session:
        shown = await results.pot_results(session, seeded.city)
    assert shown.outcome.selected == WINNERS and len(counted) == 4


async def test_a_viewer_of_a_large_pot_before_the_count_is_told_to_wait(sessions, monkeypatch) -> None:  # noqa: ANN001
    seeded = await _closed_and_voted(sessions)
    monkeypatch.setattr(results, "SMALL_POT", 10)  # the city pot's 13 ballots make it large
    async with sessions() as session:
        with pytest.raises(results.BeingCounted):
            await results.pot_results(session, seeded.city)
        assert (await results.pot_results(session, seeded.hood)).ballots == 0  # a small pot: counted
        assert await session.scalar(select(func.count()).select_from(BudgetResult)) == 1
        await session.commit()  # as the update's middleware does
    from bot.ui.errors import refusal

    i18n = make_i18n()
    with i18n.context(), i18n.use_locale("tr"):
        told = refusal(results.BeingCounted("x"), {"lang": "tr"})
    assert told == translate(
        "⏳ The results are being counted; you will get a message when they are ready.", "tr"
    )
    assert await counting_job.count_due(sessions, outbox.Signal(), asyncio.Lock()) == 3
    async with sessions() as session:
        assert (await results.pot_results(session, seeded.city)).outcome.selected == WINNERS

    # staff count a large pot again: marked, counted by the job, and the staff member is told
    async with sessions() as session:
        staff = await resident(session, 9900)
        await roles.grant(session, staff, roles.STAFF)
        assert await results.recount(session, staff.id, seeded.city) is None
        await session.commit()
        with pytest.raises(results.BeingCounted):
            await results.pot_results(session, seeded.city)
    assert await counting_job.count_due(sessions, outbox.Signal(), asyncio.Lock()) == 1
    async with sessions() as session:
        told = await session.scalar(select(OutboxMessage).where(OutboxMessage.text == counting_job.RECOUNTED))
        assert told is not None and told.params["pot"] == "City budget"
        assert (await results.pot_results(session, seeded.city)).ballots == 13


async def test_results_counted_by_the_scheduler_and_announced_once_across_restarts(
    sessions, sandbox, monkeypatch
) -> None:  # noqa: ANN001
    import handlers

    handlers.routers()
    chats: dict = {}
    people = await _people(sessions, sandbox, chats)
    process_id, _phase, (city_pot,) = await _process(
        sessions, (("city", None),), opens_in=timedelta(days=-5), closes_in=timedelta(days=1),
    )  # fmt: skip
    from bot.services import budgets

    async with sessions.begin() as session:
        pot = await session.get(budgets.BudgetPot, city_pot)
        project = await budgets.add_project(session, pot, titles={"en": "Trees"}, cost=100, building=True)
        john = await session.get(Resident, people["John"].id)
        await budgets.confirm(session, john, city_pot, [project.id])
        await session.execute(  # voting closed an hour ago, while no scheduler ran
            update(ProcessPhase)
            .where(ProcessPhase.process_id == process_id, ProcessPhase.kind == "voting")
            .values(ends_at=utcnow() - timedelta(hours=1))
        )
    counted: list[int] = []
    real = counting.count
    monkeypatch.setattr(
        counting, "count", lambda pot, election: counted.append(pot.id) or real(pot, election)
    )
    for _restart in range(2):
        scheduling = _scheduling(sessions, sandbox)
        await scheduling.start()
        try:
            deadline = time.monotonic() + 10
            while not counted and time.monotonic() < deadline:
                await asyncio.sleep(0.1)
            await asyncio.sleep(0.5)
            await _quiet(sessions)
        finally:
            await scheduling.stop()
    assert counted == [city_pot]  # once, across the restart
    text = announcements.RESULTS_TEXT
    for name, lang in (("Ayşe", "tr"), ("John", "en"), ("Deniz", "tr")):
        got = [m for m in await chats[name].bot_messages() if "📊" in m.text]
        assert [m.text for m in got] == [_plain(translate(text, lang, process=NAMES[lang]))], name
        buttons = [b for row in got[0].inline_keyboard for b in row]
        assert [b["callback_data"] for b in buttons] == [MenuCb(action="results").pack()]
    assert [m for m in await chats["Quiet"].bot_messages() if "📊" in m.text] == []
