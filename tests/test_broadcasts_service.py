"""The broadcasts service on a real database (SQLite, or PostgreSQL with TEST_DATABASE_URL): the count
staff are shown equals the deliveries made for every kind of audience; a cancelled broadcast is never
released; a composer who lost the right to the audience has it cancelled at release; the progress job
writes at most one edit every 3 s and ends in the final report."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from bot.services import broadcasts, outbox, residents, roles
from bot.services.errors import NotAllowed
from bot.services.geography import by_keys
from scheduler import broadcasts as broadcast_jobs
from storage.models import Broadcast, OutboxDelivery, Resident, utcnow

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
    async with sessions.begin() as session:  # the worker delivered everything
        await session.execute(
            OutboxDelivery.__table__.update()
            .where(OutboxDelivery.message_id == broadcast.message_id)
            .values(status=outbox.SENT)
        )
    await broadcast_jobs.report(sessions, bot, start + timedelta(seconds=3))
    assert bot.calls[-1][0] == "edit" and "100%" in bot.calls[-1][1]
    assert "finished" in bot.calls[-1][1] or "tamamlandı" in bot.calls[-1][1]  # in the composer's language
    async with sessions() as session:
        assert (await session.get(Broadcast, broadcast.id)).status == broadcasts.DONE
    await broadcast_jobs.report(sessions, bot, start + timedelta(seconds=10))
    assert len(bot.calls) == 2  # done: no more edits
