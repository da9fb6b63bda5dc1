"""The broadcasts service on a real database (SQLite, or PostgreSQL with TEST_DATABASE_URL): the count
staff are shown equals the deliveries made for every kind of audience; a cancelled broadcast is never
released; a composer who lost the right to the audience has it cancelled at release; the progress job
writes at most one edit every 3 s and ends in the final report. A process's voters and idea authors:
each person once, with a language, minus opt-outs, the unreachable and imported ballots; staff only."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from bot.services import broadcasts, budgets, outbox, processes, residents, roles
from bot.services.errors import NotAllowed, NotFound
from bot.services.geography import by_keys
from scheduler import broadcasts as broadcast_jobs
from storage.models import Broadcast, BudgetBallot, Idea, OutboxDelivery, Resident, Theme, utcnow
from tests import budget_fixtures

STAFF = frozenset({(roles.STAFF, None)})


async def _resident(session, telegram_id: int, lang: str | None, hood: tuple[str, str]) -> int:  # noqa: ANN001
    viewer = await residents.get_or_create(session, telegram_id)
    viewer.resident.language = lang
    viewer.resident.neighborhood_id = (await by_keys(session, *hood)).id
    viewer.resident.consent_at = viewer.resident.onboarded_at = utcnow()
    await session.flush()
    return viewer.resident.id


async def _town(session) -> dict[str, int]:  # noqa: ANN001
    made = {
        "ayse": await _resident(session, 1, "tr", ("konak", "pazaryeri")),
        "john": await _resident(session, 2, "en", ("konak", "pazaryeri")),
        "none": await _resident(session, 3, None, ("konak", "pazaryeri")),  # the city's language
        "deniz": await _resident(session, 4, "tr", ("karsiyaka", "bostanli")),
        "quiet": await _resident(session, 5, "en", ("karsiyaka", "bostanli")),
        "gone": await _resident(session, 6, "tr", ("konak", "pazaryeri")),
    }
    await residents.set_notification(session, made["quiet"], "news", False)
    residents.mark_reachable(await session.get(Resident, made["gone"]), False)
    await session.flush()
    return made


async def test_the_count_shown_is_the_deliveries_made_for_every_audience(sessions) -> None:  # noqa: ANN001
    async with sessions.begin() as session:
        await _town(session)
        hood = await by_keys(session, "konak", "pazaryeri")
        audiences = {
            outbox.Audience("city"): 4,
            outbox.Audience("neighborhood", neighborhood_id=hood.id): 3,
            outbox.Audience("district", district_id=hood.district_id): 3,
            outbox.Audience("language", lang="tr"): 3,  # Ayşe, Deniz and the one who chose none (İzmir: tr)
            outbox.Audience("language", lang="en"): 1,  # John (Quiet opted out)
        }
        staff = await residents.get_or_create(session, 99)
        for audience, expected in audiences.items():
            shown = await broadcasts.count(session, audience, "news")
            draft = broadcasts.Draft({"tr": "x", "en": "x"}, audience, "news")
            broadcast, made = await broadcasts.compose(session, STAFF, staff.resident.id, draft)
            rows = await session.scalar(
                select(func.count()).where(OutboxDelivery.message_id == broadcast.message_id)
            )
            assert shown == made == rows == expected, audience


async def test_cancelled_is_never_released_and_a_lost_role_cancels_at_release(sessions) -> None:  # noqa: ANN001
    async with sessions.begin() as session:
        await _town(session)
        hood = await by_keys(session, "konak", "pazaryeri")
        coordinator = (await residents.get_or_create(session, 98)).resident
        await roles.grant(session, coordinator, roles.COORDINATOR, neighborhood_id=hood.id)
        grants = frozenset({(roles.COORDINATOR, hood.id)})
        later = utcnow() + timedelta(hours=2)
        own = outbox.Audience("neighborhood", neighborhood_id=hood.id)
        first, _n = await broadcasts.compose(
            session,
            grants,
            coordinator.id,
            broadcasts.Draft({"tr": "a", "en": "a"}, own, "news", send_at=later),
        )
        second, _n = await broadcasts.compose(
            session,
            grants,
            coordinator.id,
            broadcasts.Draft({"tr": "b", "en": "b"}, own, "news", send_at=later),
        )
        with pytest.raises(NotAllowed):  # someone else's, not staff
            await broadcasts.cancel(session, frozenset(), 12345, first.id)
        await broadcasts.cancel(session, grants, coordinator.id, first.id)
        with pytest.raises(broadcasts.NotScheduled):
            await broadcasts.cancel(session, grants, coordinator.id, first.id)
        await roles.revoke(session, coordinator, roles.COORDINATOR)
        ids = (first.id, second.id)
    async with sessions.begin() as session:
        assert await broadcasts.release_due(session, later + timedelta(minutes=1)) == []
    async with sessions() as session:
        found = dict((await session.execute(select(Broadcast.id, Broadcast.status))).all())
        assert [found[i] for i in ids] == [broadcasts.CANCELLED, broadcasts.CANCELLED]
        assert await session.scalar(select(func.count()).select_from(OutboxDelivery)) == 0


@dataclass
class _Sent:
    message_id: int


@dataclass
class FakeBot:
    calls: list[tuple[str, str]] = field(default_factory=list)

    async def send_message(self, chat_id: int, text: str) -> _Sent:
        self.calls.append(("send", text))
        return _Sent(len(self.calls))

    async def edit_message_text(self, text: str, *, chat_id: int, message_id: int) -> None:
        self.calls.append(("edit", text))


async def test_progress_is_edited_at_most_every_3_s_and_ends_in_a_report(sessions) -> None:  # noqa: ANN001
    async with sessions.begin() as session:
        await _town(session)
        staff = await residents.get_or_create(session, 99)
        draft = broadcasts.Draft({"tr": "x", "en": "x"}, outbox.Audience("city"), "news")
        broadcast, _n = await broadcasts.compose(session, STAFF, staff.resident.id, draft)
    bot, start = FakeBot(), utcnow()
    await broadcast_jobs.report(sessions, bot, start)
    await broadcast_jobs.report(sessions, bot, start + timedelta(seconds=1))  # too soon: nothing
    assert [kind for kind, _text in bot.calls] == ["send"]
    assert "0%" in bot.calls[0][1] and "#1" in bot.calls[0][1]
    assert "👥 Alıcılar: Herkes" in bot.calls[0][1]  # who it is for, in the composer's language
    async with sessions.begin() as session:  # the worker delivered everything
        await session.execute(
            OutboxDelivery.__table__.update()
            .where(OutboxDelivery.message_id == broadcast.message_id)
            .values(status=outbox.SENT)
        )
    await broadcast_jobs.report(sessions, bot, start + timedelta(seconds=3))
    assert bot.calls[-1][0] == "edit" and "100%" in bot.calls[-1][1] and "Herkes" in bot.calls[-1][1]
    assert "finished" in bot.calls[-1][1] or "tamamlandı" in bot.calls[-1][1]  # in the composer's language
    async with sessions() as session:
        assert (await session.get(Broadcast, broadcast.id)).status == broadcasts.DONE
    await broadcast_jobs.report(sessions, bot, start + timedelta(seconds=10))
    assert len(bot.calls) == 2  # done: no more edits


async def _voters_and_authors(session, made: dict[str, int]) -> dict[str, int]:  # noqa: ANN001
    """A budgeting process (Ayşe in two of its pots, John, Deniz, opted-out Quiet and unreachable Gone
    voted, and an imported ballot with no resident), a second process (the one with no language voted
    there), and ideas: Ayşe's two in the first, the silent one's in the second, Quiet's and Gone's."""
    seeded = await budget_fixtures.seed(session)
    other = await processes.create(
        session,
        key="ikinci",
        names={"tr": "İkinci", "en": "Second"},
        opens_at=utcnow() - timedelta(days=3),
        closes_at=utcnow() + timedelta(days=3),
    )
    other_pot = await budgets.create_pot(session, other, names={"tr": "P", "en": "P"}, budget=1000)
    ballots = [
        (seeded.city, "ayse"), (seeded.hood, "ayse"), (seeded.city, "john"), (seeded.other_hood, "deniz"),
        (seeded.city, "quiet"), (seeded.city, "gone"), (other_pot.id, "none"),
    ]  # fmt: skip
    for number, (pot_id, who) in enumerate(ballots):
        person = await session.get(Resident, made[who])
        session.add(BudgetBallot(pot_id=pot_id, identity=residents.person_key(person), resident_id=person.id,
                                 receipt=f"r{number}"))  # fmt: skip
    session.add(BudgetBallot(pot_id=seeded.city, identity="pb:1:7", resident_id=None, receipt="imported",
                             voter_label="7"))  # fmt: skip
    theme = await session.scalar(select(Theme).limit(1))
    for process_id, who in (
        (seeded.process_id, "ayse"), (seeded.process_id, "ayse"), (other.id, "none"),
        (seeded.process_id, "quiet"), (seeded.process_id, "gone"),
    ):  # fmt: skip
        person = await session.get(Resident, made[who])
        session.add(Idea(process_id=process_id, author_id=person.id, neighborhood_id=person.neighborhood_id,
                         theme_id=theme.id, title="Bank", description="Parka bank konulsun."))  # fmt: skip
    await session.flush()
    return {"budget": seeded.process_id, "other": other.id}


async def test_voters_and_idea_authors_counted_as_delivered_once_each(sessions) -> None:  # noqa: ANN001
    async with sessions.begin() as session:
        made = await _town(session)
        ids = await _voters_and_authors(session, made)
        hood = await by_keys(session, "konak", "pazaryeri")
        budget, other = ids["budget"], ids["other"]
        audiences = {
            outbox.Audience("city", voters_of=budget): 3,  # Ayşe (two pots, once), John, Deniz
            outbox.Audience("city", voters_of=budget, lang="tr"): 2,  # Ayşe, Deniz
            outbox.Audience("city", voters_of=budget, lang="en"): 1,  # John (Quiet opted out)
            outbox.Audience("city", voters_of=other, lang="tr"): 1,  # the one reading the city's language
            outbox.Audience("neighborhood", neighborhood_id=hood.id, voters_of=budget): 2,  # Ayşe, John
            outbox.Audience("city", authors=True): 2,  # Ayşe (two ideas, once) and the silent one
            outbox.Audience("city", authors=True, authors_of=budget): 1,  # Ayşe
            outbox.Audience("city", authors=True, authors_of=other, lang="en"): 0,
            outbox.Audience("city", voters_of=budget, authors=True): 1,  # Ayşe is both
        }
        staff = await residents.get_or_create(session, 99)
        for audience, expected in audiences.items():
            assert outbox.Audience.of(audience.as_json()) == audience
            shown = await broadcasts.count(session, audience, "news")
            draft = broadcasts.Draft({"tr": "x", "en": "x"}, audience, "news")
            broadcast, made_count = await broadcasts.compose(session, STAFF, staff.resident.id, draft)
            rows = await session.scalar(
                select(func.count(func.distinct(OutboxDelivery.resident_id))).where(
                    OutboxDelivery.message_id == broadcast.message_id
                )
            )
            assert shown == made_count == rows == expected, audience
        # a process that does not exist (a forged or stale draft) is refused
        draft = broadcasts.Draft({"tr": "x", "en": "x"}, outbox.Audience("city", voters_of=99999), "news")
        with pytest.raises(NotFound):
            await broadcasts.compose(session, STAFF, staff.resident.id, draft)
        listed = [p.id for p in await broadcasts.voting_processes(session)]
        assert listed == [other, budget]  # newest first
        assert [p.id for p in await broadcasts.idea_processes(session)] == [other, budget]


async def test_the_new_audiences_are_staff_only(sessions) -> None:  # noqa: ANN001
    async with sessions.begin() as session:
        await _town(session)
        hood = await by_keys(session, "konak", "pazaryeri")
        coordinator = (await residents.get_or_create(session, 98)).resident
        grants = frozenset({(roles.COORDINATOR, hood.id)})
        own = outbox.Audience("neighborhood", neighborhood_id=hood.id)
        assert broadcasts.can_reach(grants, own)
        for audience in (
            outbox.Audience("city", voters_of=1),
            outbox.Audience("city", authors=True),
            outbox.Audience("neighborhood", neighborhood_id=hood.id, voters_of=1),
            outbox.Audience("neighborhood", neighborhood_id=hood.id, authors=True, authors_of=1),
            outbox.Audience("neighborhood", neighborhood_id=hood.id, lang="tr"),
        ):
            assert not broadcasts.can_reach(grants, audience) and broadcasts.can_reach(STAFF, audience)
            with pytest.raises(broadcasts.OutsideScope):
                draft = broadcasts.Draft({"tr": "x", "en": "x"}, audience, "news")
                await broadcasts.compose(session, grants, coordinator.id, draft)
