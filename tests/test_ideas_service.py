"""The rules of ideas and processes against a real database (SQLite, or PostgreSQL with TEST_DATABASE_URL)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select, text

from bot.config import DEFAULT_CITY_FILE, load_city
from bot.i18n import translate
from bot.services import demo, ideas, processes, residents, roles
from bot.services.ideas import _CARD, _list_statements
from bot.services.ideas.moderation import PUBLISHED_LIST
from bot.services.ideas.rules import VISIBLE
from storage.models import AuditEntry, District, Idea, IdeaSupport, Neighborhood, Resident, Theme, utcnow
from tests.conftest import compiled_once, statements_run

CITY = load_city(DEFAULT_CITY_FILE)


async def _hood(session, district: str = "konak", key: str = "pazaryeri") -> Neighborhood:  # noqa: ANN001
    return await session.scalar(
        select(Neighborhood).join(District).where(District.key == district, Neighborhood.key == key)
    )


async def _resident(session, telegram_id: int, hood: Neighborhood, lang: str = "tr") -> Resident:  # noqa: ANN001
    resident = (await residents.get_or_create(session, telegram_id)).resident
    residents.set_language(resident, lang)
    await residents.accept_privacy(session, resident)
    await residents.set_neighborhood(session, resident, hood.id)
    return resident


async def _staff(session, telegram_id: int, hood: Neighborhood) -> Resident:  # noqa: ANN001
    resident = await _resident(session, telegram_id, hood, "en")
    await roles.grant(session, resident, roles.STAFF)
    return resident


async def _theme(session, key: str = "green") -> Theme:  # noqa: ANN001
    return await session.scalar(select(Theme).where(Theme.key == key))


async def _open_process(session, *, limit: int = 3, neighborhood_id: int | None = None, key: str = "pr"):  # noqa: ANN001, ANN202
    now = utcnow()
    return await processes.create(
        session,
        key=key,
        names={"tr": "Birlikte", "en": "Together"},
        opens_at=now - timedelta(days=1),
        closes_at=now + timedelta(days=10),
        idea_limit=limit,
        neighborhood_id=neighborhood_id,
    )


def _draft(process_id: int, theme_id: int, title: str = "Parka bank", **extra) -> ideas.Draft:  # noqa: ANN003
    return ideas.Draft(
        process_id=process_id,
        theme_id=theme_id,
        title=title,
        description="Çocuk parkında oturacak yer yok, birkaç bank konulsun.",
        **extra,
    )


# --- processes -------------------------------------------------------------------------------------


def test_dates_are_typed_in_the_city_timezone_and_stored_in_utc() -> None:
    zone = ZoneInfo("Europe/Istanbul")
    assert processes.parse_local("2026-12-01 09:00", zone) == datetime(2026, 12, 1, 6, 0, tzinfo=UTC)
    assert processes.parse_local("01.12.2026 09:00", zone) == datetime(2026, 12, 1, 6, 0, tzinfo=UTC)
    assert processes.parse_local(" 2026-12-01 ", zone) == datetime(2026, 11, 30, 21, 0, tzinfo=UTC)
    for bad in ("2026-13-01", "tomorrow", "", "2026-12-01 25:00"):
        with pytest.raises(processes.BadDate):
            processes.parse_local(bad, zone)


def test_dates_typed_by_staff_open_today_or_later_and_close_in_the_future() -> None:
    zone = ZoneInfo("Europe/Istanbul")
    now = datetime(2026, 12, 1, 7, 0, tzinfo=UTC)  # 10:00 in İzmir
    processes.check_opening(
        datetime(2026, 11, 30, 21, 0, tzinfo=UTC), zone, now
    )  # 00:00 today: opens at once
    processes.check_opening(datetime(2027, 1, 1, 6, 0, tzinfo=UTC), zone, now)
    with pytest.raises(processes.InPast):
        processes.check_opening(datetime(2026, 11, 30, 20, 59, tzinfo=UTC), zone, now)  # 23:59 yesterday
    opens = datetime(2026, 12, 2, 6, 0, tzinfo=UTC)
    processes.check_closing(opens, opens + timedelta(days=1), now)
    with pytest.raises(processes.InPast):
        processes.check_closing(opens, now - timedelta(minutes=1), now)
    with pytest.raises(processes.BadWindow):
        processes.check_closing(opens, opens, now)


async def test_create_process_validates_and_writes_the_audit_log(sessions) -> None:  # noqa: ANN001
    now = utcnow()
    async with sessions.begin() as session:
        process = await processes.create(
            session,
            names={"tr": "  Yaz   fikirleri ", "en": "Summer ideas"},
            opens_at=now,
            closes_at=now + timedelta(days=3),
            idea_limit=2,
        )
        assert process.key == "summer-ideas" and process.names["tr"] == "Yaz fikirleri"
        assert process.scope == processes.CITY and [p.kind for p in process.phases] == ["submission"]
        again = await processes.create(
            session,
            names={"tr": "Yaz", "en": "Summer ideas"},
            opens_at=now,
            closes_at=now + timedelta(days=1),
        )
        assert again.key == "summer-ideas-2"
        with pytest.raises(processes.KeyTaken):
            await processes.create(
                session,
                key="summer-ideas",
                names={"tr": "a", "en": "b"},
                opens_at=now,
                closes_at=now + timedelta(1),
            )
        with pytest.raises(processes.BadWindow):
            await processes.create(session, names={"tr": "a", "en": "b"}, opens_at=now, closes_at=now)
        with pytest.raises(processes.BadLimit):
            await processes.create(
                session,
                names={"tr": "a", "en": "b"},
                opens_at=now,
                closes_at=now + timedelta(1),
                idea_limit=0,
            )
        with pytest.raises(processes.BadName):
            await processes.create(
                session, names={"tr": " ", "en": "b"}, opens_at=now, closes_at=now + timedelta(1)
            )
        with pytest.raises(processes.BadKey):
            await processes.create(
                session,
                key="Bad Key",
                names={"tr": "a", "en": "b"},
                opens_at=now,
                closes_at=now + timedelta(1),
            )
        logged = await session.scalar(select(func.count()).where(AuditEntry.action == "process.create"))
        assert logged == 2


async def test_later_phases_extend_a_process(sessions) -> None:  # noqa: ANN001
    now = utcnow()
    async with sessions.begin() as session:
        process = await _open_process(session)
        await processes.set_phase(
            session, process, "voting", now + timedelta(days=20), now + timedelta(days=30)
        )
        await processes.set_phase(
            session, process, "voting", now + timedelta(days=21), now + timedelta(days=30)
        )
        with pytest.raises(processes.BadPhase):
            await processes.set_phase(session, process, "party", now, now + timedelta(days=1))
    async with sessions() as session:
        process = await processes.by_key(session, "pr")
        assert [p.kind for p in process.phases] == ["submission", "voting"]
        assert processes.window(process, "voting").starts_at == (now + timedelta(days=21)).replace(
            microsecond=now.microsecond
        )


async def test_outlook_says_what_is_open_what_opens_next_and_what_closed(sessions) -> None:  # noqa: ANN001
    now = utcnow()
    async with sessions.begin() as session:
        konak = await _hood(session)
        bostanli = await _hood(session, "karsiyaka", "bostanli")
        await processes.create(
            session,
            key="old",
            names={"tr": "Eski", "en": "Old"},
            opens_at=now - timedelta(days=30),
            closes_at=now - timedelta(days=2),
        )
        await processes.create(
            session,
            key="soon",
            names={"tr": "Yakında", "en": "Soon"},
            opens_at=now + timedelta(days=5),
            closes_at=now + timedelta(days=9),
        )
        await processes.create(
            session,
            key="local",
            names={"tr": "Yerel", "en": "Local"},
            neighborhood_id=bostanli.id,
            opens_at=now - timedelta(days=1),
            closes_at=now + timedelta(days=9),
        )
        view = await processes.outlook(session, konak.id)
        assert view.open == [] and view.next_opening.key == "soon" and view.last_closed.key == "old"
        refusal = ideas.not_open(view)  # what the resident is told: when the next one opens
        assert (refusal.process.key, refusal.state) == ("soon", processes.UPCOMING)
        assert refusal.at == processes.window(view.next_opening).starts_at
        refusal = ideas.not_open(processes.Outlook(open=[], next_opening=None, last_closed=view.last_closed))
        assert (refusal.process.key, refusal.state) == ("old", processes.CLOSED)
        assert ideas.not_open(processes.Outlook([], None, None)).state is None
        view = await processes.outlook(session, bostanli.id)
        assert [p.key for p in view.open] == ["local"]


# --- submitting ------------------------------------------------------------------------------------


async def test_submit_only_during_the_submission_phase(sessions) -> None:  # noqa: ANN001
    now = utcnow()
    async with sessions.begin() as session:
        hood = await _hood(session)
        ayse = await _resident(session, 1, hood)
        theme = await _theme(session)
        process = await processes.create(
            session,
            key="win",
            names={"tr": "a", "en": "b"},
            opens_at=now + timedelta(hours=1),
            closes_at=now + timedelta(days=1),
        )
        with pytest.raises(ideas.SubmissionNotOpen) as early:
            await ideas.submit(session, ayse, _draft(process.id, theme.id), CITY.bounds)
        assert early.value.state == processes.UPCOMING and early.value.at == process.phases[0].starts_at
        idea = await ideas.submit(
            session, ayse, _draft(process.id, theme.id), CITY.bounds, now + timedelta(hours=2)
        )
        assert idea.status == ideas.PENDING and idea.neighborhood_id == hood.id
        with pytest.raises(ideas.SubmissionNotOpen) as late:
            await ideas.submit(
                session, ayse, _draft(process.id, theme.id), CITY.bounds, now + timedelta(days=2)
            )
        assert late.value.state == processes.CLOSED


async def test_a_neighborhood_process_takes_ideas_only_from_that_neighborhood(sessions) -> None:  # noqa: ANN001
    async with sessions.begin() as session:
        konak = await _hood(session)
        bostanli = await _hood(session, "karsiyaka", "bostanli")
        outsider = await _resident(session, 2, konak)
        local = await _resident(session, 3, bostanli)
        theme = await _theme(session)
        process = await _open_process(session, neighborhood_id=bostanli.id)
        with pytest.raises(ideas.SubmissionNotOpen):
            await ideas.submit(session, outsider, _draft(process.id, theme.id), CITY.bounds)
        idea = await ideas.submit(
            session, local, _draft(process.id, theme.id, scope=ideas.SCOPE_CITY), CITY.bounds
        )
        assert idea.scope == ideas.SCOPE_NEIGHBORHOOD  # a one-neighborhood process has no citywide ideas


async def test_limit_per_process_and_flood_control(sessions) -> None:  # noqa: ANN001
    async with sessions.begin() as session:
        hood = await _hood(session)
        ayse = await _resident(session, 4, hood)
        theme = await _theme(session)
        process = await _open_process(session, limit=2)
        first = await ideas.submit(session, ayse, _draft(process.id, theme.id, "Bir"), CITY.bounds)
        await ideas.submit(session, ayse, _draft(process.id, theme.id, "İki fikir"), CITY.bounds)
        with pytest.raises(ideas.LimitReached) as limit:
            await ideas.submit(session, ayse, _draft(process.id, theme.id, "Üç fikir"), CITY.bounds)
        assert limit.value.limit == 2
        await ideas.withdraw(session, first.id, ayse)  # a withdrawn idea frees its place
        await ideas.submit(session, ayse, _draft(process.id, theme.id, "Üç fikir"), CITY.bounds)

        other = await _open_process(session, limit=10, key="other")
        with pytest.raises(ideas.Flooding):  # three in ten minutes, whatever the process
            await ideas.submit(session, ayse, _draft(other.id, theme.id, "Dört"), CITY.bounds)
        later = utcnow() + timedelta(minutes=11)
        await ideas.submit(session, ayse, _draft(other.id, theme.id, "Dört"), CITY.bounds, later)


async def test_fields_are_checked_again_when_sent(sessions) -> None:  # noqa: ANN001
    async with sessions.begin() as session:
        hood = await _hood(session)
        ayse = await _resident(session, 5, hood)
        theme = await _theme(session)
        process = await _open_process(session)
        for title, problem in (("", "empty"), ("ab", "short"), ("x" * 121, "long")):
            with pytest.raises(ideas.Invalid) as bad:
                await ideas.submit(session, ayse, _draft(process.id, theme.id, title), CITY.bounds)
            assert (bad.value.field, bad.value.problem) == ("title", problem)
        long = ideas.Draft(process.id, theme.id, "Başlık", "y" * 2001)
        with pytest.raises(ideas.Invalid) as bad:
            await ideas.submit(session, ayse, long, CITY.bounds)
        assert (bad.value.field, bad.value.problem) == ("description", "long")
        with pytest.raises(ideas.OutsideCity):
            await ideas.submit(
                session, ayse, _draft(process.id, theme.id, latitude=41.01, longitude=28.97), CITY.bounds
            )
        for nothing in ("   ", "...", "👍👍👍", "\u200b\u200b\u200b"):
            with pytest.raises(ideas.Invalid) as bad:
                ideas.clean_title(nothing)
            assert bad.value.problem == "empty"
            with pytest.raises(ideas.Invalid) as bad:
                ideas.clean_description(nothing * 5)
            assert bad.value.problem == "empty"
        assert ideas.clean_title("  Parka \n  bank  ") == "Parka bank"
        assert ideas.clean_description("a  b\n\n\n\nc   d e f g h") == "a b\n\nc d e f g h"
        idea = await ideas.submit(
            session, ayse, _draft(process.id, theme.id, latitude=38.42, longitude=27.14), CITY.bounds
        )
        assert (idea.latitude, idea.longitude) == (38.42, 27.14)


# --- similarity ------------------------------------------------------------------------------------


def test_similarity_ignores_turkish_letters_case_suffixes_and_word_order() -> None:
    assert ideas.similarity("KARŞIYAKA SAHİLİNE GÖLGELİK", "gölgelik karsiyaka sahiline") == 1.0
    assert ideas.similarity("Çocuk parkına bank konulsun", "Parka banklar konulsun, çocuklar için") == 1.0
    assert ideas.similarity("Konak'ta bisiklet yolu", "Bisiklet yolu yapılsın") >= ideas.SIMILAR_AT
    assert ideas.similarity("Parka bank", "Parka çöp kutusu") < ideas.SIMILAR_AT
    assert ideas.similarity("Sokak lambaları", "Sokak hayvanları için mama") < ideas.SIMILAR_AT
    assert ideas.similarity("Otobüs durağı", "Kütüphane saatleri") == 0.0


async def test_similar_ideas_are_published_ones_of_the_same_neighborhood_and_process(sessions) -> None:  # noqa: ANN001
    async with sessions.begin() as session:
        konak = await _hood(session)
        bostanli = await _hood(session, "karsiyaka", "bostanli")
        staff = await _staff(session, 90, konak)
        theme = await _theme(session)
        process = await _open_process(session, limit=10)
        other = await _open_process(session, limit=10, key="other")
        made = {}
        for n, (who_hood, proc, title, approve) in enumerate(
            [
                (konak, process, "Çocuk parkına bank konulsun", True),
                (konak, process, "Parka banklar", False),  # pending: not offered
                (bostanli, process, "Çocuk parkına bank", True),  # another neighborhood
                (konak, other, "Çocuk parkına bank", True),  # another process
                (konak, process, "Otobüs durağına gölgelik", True),
            ]
        ):
            author = await _resident(session, 100 + n, who_hood)
            idea = await ideas.submit(session, author, _draft(proc.id, theme.id, title), CITY.bounds)
            if approve:
                await ideas.approve(session, idea.id, staff.id)
            made[n] = idea.id
        found = await ideas.similar(session, process.id, konak.id, "BANKLAR, ÇOCUK PARKI İÇİN")
        assert [s.idea.id for s in found] == [made[0]]
        own = (await ideas.get(session, made[0])).author_id  # one's own idea is not offered to support
        assert await ideas.similar(session, process.id, konak.id, "Parka bank", exclude_author=own) == []


# --- supporting ------------------------------------------------------------------------------------


async def _supporting(session):  # noqa: ANN001, ANN202
    """Staff, an author and a fan, all of Pazaryeri; the green theme and an open process."""
    hood = await _hood(session)
    staff = await _staff(session, 91, hood)
    author, fan = await _resident(session, 10, hood), await _resident(session, 11, hood)
    return hood, staff, author, fan, await _theme(session), await _open_process(session)


async def test_support_is_given_once_per_person_and_only_to_published_ideas(sessions) -> None:  # noqa: ANN001
    async with sessions.begin() as session:
        _, staff, author, fan, theme, process = await _supporting(session)
        idea = await ideas.submit(session, author, _draft(process.id, theme.id), CITY.bounds)
        with pytest.raises(ideas.NotSupportable):  # pending
            await ideas.set_support(session, idea.id, fan, True)
        await ideas.approve(session, idea.id, staff.id)
        assert await ideas.set_support(session, idea.id, fan, True) == (True, 1)
        assert await ideas.set_support(session, idea.id, staff, True) == (True, 2)
        # what the button asked for: given twice it counts once, taken back twice it is gone once
        assert await ideas.set_support(session, idea.id, fan, True) == (True, 2)
        assert await ideas.set_support(session, idea.id, fan, False) == (False, 1)
        assert await ideas.set_support(session, idea.id, fan, False) == (False, 1)
        assert await ideas.set_support(session, idea.id, fan, True) == (True, 2)
        with pytest.raises(ideas.OwnIdea):
            await ideas.set_support(session, idea.id, author, True)
        with pytest.raises(ideas.OwnIdea):  # nor take back what they could never give
            await ideas.set_support(session, idea.id, author, False)
        rejected = await ideas.submit(
            session, author, _draft(process.id, theme.id, "Başka bir şey"), CITY.bounds
        )
        await ideas.reject(session, rejected.id, staff.id, reason_key="vague")
        with pytest.raises(ideas.NotSupportable):
            await ideas.set_support(session, rejected.id, fan, True)
        with pytest.raises(ideas.NotFound):
            await ideas.set_support(session, 999_999, fan, True)


async def test_an_idea_card_read_beside_the_person_answers_as_its_own_read(sessions) -> None:  # noqa: ANN001
    """A press that opens an idea's card reads the card in the person's read: for an idea the person
    supports (from an account they deleted, too), one they do not, their own, one not published, one of
    another process and one that does not exist, `card` answers from it, with no statement of its own,
    what it answers reading for itself."""
    from bot.services import privacy

    async with sessions.begin() as session:
        hood, staff, author, fan, theme, process = await _supporting(session)
        other = await _open_process(session, key="other")
        published = await ideas.submit(session, author, _draft(process.id, theme.id), CITY.bounds)
        await ideas.approve(session, published.id, staff.id)
        second = await ideas.submit(session, author, _draft(process.id, theme.id, "Çeşme"), CITY.bounds)
        await ideas.approve(session, second.id, staff.id)
        waiting = await ideas.submit(session, author, _draft(process.id, theme.id, "Gölge"), CITY.bounds)
        await ideas.set_support(session, published.id, fan, True)
        await privacy.delete_account(session, fan)
        await _resident(session, 11, hood)  # back: the support of the deleted account is still theirs
    cases = [(published.id, process.id), (second.id, process.id), (waiting.id, process.id)]
    cases += [(published.id, other.id), (999_999, process.id)]
    answers = []
    for telegram_id in (11, 10, 91):
        for idea_id, process_id in cases:
            async with sessions.begin() as session:
                viewer, _records, _extra = await residents.load_with_state(
                    session,
                    telegram_id,
                    (),
                    beside=(ideas.CARD_BESIDE, {"idea_id": idea_id, "process_id": process_id}),
                )
                statements = statements_run(session.get_bind())
                beside = await ideas.card(session, idea_id, process_id, viewer.resident)
                assert statements == []
                assert await ideas.card(session, idea_id, process_id, viewer.resident) == beside
                assert len(statements) == 1  # the second ask reads for itself
                answers.append(beside)
    shown = [None if a is None else (a.idea.title, a.supports, a.supported) for a in answers]
    assert shown == [
        *(("Parka bank", 1, True), ("Çeşme", 0, False), None, None, None),  # the fan, back
        *(("Parka bank", 1, False), ("Çeşme", 0, False), None, None, None),  # the author
        *(("Parka bank", 1, False), ("Çeşme", 0, False), None, None, None),  # staff
    ]


async def test_a_support_asked_for_holds_whatever_was_stored_meanwhile(sessions, monkeypatch) -> None:  # noqa: ANN001
    """The read that locks the idea may predate the lock's grant on PostgreSQL. Here the support changes
    between the read and the write, behind the press's back, both ways: what the press asked for is
    what is stored after it, and the count says so."""
    async with sessions.begin() as session:
        hood = await _hood(session)
        staff = await _staff(session, 91, hood)
        author, fan = await _resident(session, 10, hood), await _resident(session, 11, hood)
        theme = await _theme(session)
        process = await _open_process(session)
        idea = await ideas.submit(session, author, _draft(process.id, theme.id), CITY.bounds)
        await ideas.approve(session, idea.id, staff.id)
        fan_id, idea_id = fan.id, idea.id
    behind = []  # the statement to make before the press's write

    class Meanwhile:
        """The press's write, with `behind` made just before it in the same transaction."""

        def __init__(self, write) -> None:  # noqa: ANN001
            self.write = write

        async def _behind(self, session) -> None:  # noqa: ANN001
            if behind:
                await session.execute(text(behind.pop()))

        async def execute(self, session, values):  # noqa: ANN001, ANN202
            await self._behind(session)
            return await self.write.execute(session, values)

        async def scalar(self, session, values):  # noqa: ANN001, ANN202 - the write and the count (PostgreSQL)
            await self._behind(session)
            return await self.write.scalar(session, values)

    monkeypatch.setattr(ideas, "_UNSUPPORT", Meanwhile(ideas._UNSUPPORT))  # noqa: SLF001
    monkeypatch.setattr(ideas, "_SUPPORT", Meanwhile(ideas._SUPPORT))  # noqa: SLF001
    changed = {given: Meanwhile(write) for given, write in ideas._CHANGED_AND_COUNTED.items()}  # noqa: SLF001
    monkeypatch.setattr(ideas, "_CHANGED_AND_COUNTED", changed)
    made = (
        "INSERT INTO idea_supports (idea_id, resident_id, created_at) "
        f"VALUES ({idea_id}, {fan_id}, '2026-01-01')"
    )
    gone = f"DELETE FROM idea_supports WHERE idea_id = {idea_id} AND resident_id = {fan_id}"
    # given, given again after it was taken back meanwhile, taken back, taken back again after it was
    # given meanwhile
    for stored_meanwhile, given in ((None, True), (gone, True), (None, False), (made, False)):
        behind.extend([stored_meanwhile] if stored_meanwhile else [])
        async with sessions.begin() as session:
            fan = await session.get(Resident, fan_id)
            assert await ideas.set_support(session, idea_id, fan, given) == (given, int(given))
        assert not behind


async def test_people_supporting_one_idea_at_once_each_see_the_count_after_theirs(sessions) -> None:  # noqa: ANN001
    """Supports given at once, and one taken back: the idea's lock makes them one after another, so
    each press's count is the supports after its own change (on PostgreSQL counted in the change's
    statement), and the last is what is stored."""
    async with sessions.begin() as session:
        hood = await _hood(session)
        staff = await _staff(session, 93, hood)
        author = await _resident(session, 70, hood)
        fans = [await _resident(session, 71 + n, hood) for n in range(5)]
        theme = await _theme(session)
        process = await _open_process(session)
        idea = await ideas.submit(session, author, _draft(process.id, theme.id), CITY.bounds)
        await ideas.approve(session, idea.id, staff.id)
        idea_id, fan_ids = idea.id, [fan.id for fan in fans]
        assert await ideas.set_support(session, idea_id, fans[0], True) == (True, 1)

    async def press(fan_id: int, given: bool) -> int:
        async with sessions.begin() as session:
            fan = await session.get(Resident, fan_id)
            supported, count = await ideas.set_support(session, idea_id, fan, given)
            assert supported is given
            await asyncio.sleep(0.05)  # the idea stays locked a moment: the others wait for it
            return count

    counts = await asyncio.gather(press(fan_ids[0], False), *(press(fan_id, True) for fan_id in fan_ids[1:]))
    # one after another from one support: with k supports before the one taken back, the supports count
    # 2 … k+1, the one taken back k, the rest k+1 … 4
    taken_back = counts[0]
    expected = [*range(2, taken_back + 2), taken_back, *range(taken_back + 1, 5)]
    assert sorted(counts) == sorted(expected), counts
    async with sessions() as session:
        assert await ideas.support_count(session, idea_id) == 4


async def _browsable(session):  # noqa: ANN001, ANN202
    """Seven published ideas of an open process, the odd ones of Bostanlı, the rest of Konak, the
    fourth on culture and the rest on green; three fans of Konak who support nothing yet."""
    konak = await _hood(session)
    bostanli = await _hood(session, "karsiyaka", "bostanli")
    staff = await _staff(session, 92, konak)
    green, culture = await _theme(session, "green"), await _theme(session, "culture")
    process = await _open_process(session, limit=10)
    fans = [await _resident(session, 200 + n, konak) for n in range(3)]
    made = []
    for n in range(7):
        author = await _resident(session, 300 + n, bostanli if n % 2 else konak)
        theme = culture if n == 3 else green
        idea = await ideas.submit(session, author, _draft(process.id, theme.id, f"Fikir {n}"), CITY.bounds)
        await ideas.approve(session, idea.id, staff.id)
        made.append(idea.id)
    return konak, bostanli, green, culture, process, fans, made


async def test_browse_sorts_filters_and_pages(sessions) -> None:  # noqa: ANN001
    async with sessions.begin() as session:
        konak, bostanli, green, culture, process, fans, made = await _browsable(session)
        hidden_author = await _resident(session, 399, konak)
        pending = await ideas.submit(
            session, hidden_author, _draft(process.id, green.id, "Bekleyen"), CITY.bounds
        )
        for fan in fans:
            await ideas.set_support(session, made[2], fan, True)
        await ideas.set_support(session, made[5], fans[0], True)

        _, newest, total = await ideas.browse(session, process.id, page_size=5)
        assert total == 7 and [i.idea.id for i in newest] == made[::-1][:5]
        _, second, _ = await ideas.browse(session, process.id, page=1, page_size=5)
        assert [i.idea.id for i in second] == made[::-1][5:]
        _, top, _ = await ideas.browse(session, process.id, sort="top", page_size=3)
        assert [(i.idea.id, i.supports) for i in top] == [(made[2], 3), (made[5], 1), (made[6], 0)]
        _, local, total = await ideas.browse(session, process.id, neighborhood_id=bostanli.id)
        assert total == 3 and {i.idea.id for i in local} == {made[1], made[3], made[5]}
        _, themed, total = await ideas.browse(session, process.id, theme_id=culture.id)
        assert total == 1 and themed[0].idea.id == made[3]
        # the same pages with their process, read in the page's statement or, for a page with no ideas
        # on it, in one of its own
        named, top_again, total = await ideas.browse(session, process.id, sort="top", page_size=3)
        assert (named.id, named.key, dict(named.names)) == (process.id, process.key, dict(process.names))
        assert (top_again, total) == (top, 7)
        named, past, total = await ideas.browse(session, process.id, page=9, page_size=5)
        assert named.key == process.key and past == second and total == 7
        named, none, total = await ideas.browse(session, process.id, theme_id=culture.id + 99)
        assert named.key == process.key and (none, total) == ([], 0)
        assert await ideas.browse(session, process.id + 99) == (None, [], 0)
        assert pending.id not in {i.idea.id for i in newest + second}
        assert (await ideas.visible(session, made[0], process.id)).id == made[0]
        assert await ideas.visible(session, pending.id, process.id) is None
        assert await ideas.visible(session, made[0], process.id + 1) is None
        hoods = await ideas.neighborhoods_with_ideas(session, process.id)
        assert [(h.key, n) for h, n in hoods] == [("pazaryeri", 4), ("bostanli", 3)]
        assert {t.key: n for t, n in await ideas.themes_with_ideas(session, process.id)} == {
            "green": 6,
            "culture": 1,
        }


@pytest.mark.parametrize("dialect", ["postgresql", "sqlite"])
def test_the_statuses_shown_are_bound_in_the_statements_not_rendered_at_each_run(dialect: str) -> None:
    """A page of ideas and an idea's card narrow by status with one parameter a status, compiled once: an
    expanding parameter (`in_` of a list) would be rendered into the SQL again at every execution."""
    built = [_CARD.statement]
    for statuses in (VISIBLE, PUBLISHED_LIST):
        built += [run.statement for run in _list_statements(frozenset({"process_id"}), "top", True, statuses)]
    for statement in built:
        assert {"status_0", "status_1"} <= set(compiled_once(statement, dialect).params)
    page, _count = _list_statements(frozenset({"process_id"}), "top", True, PUBLISHED_LIST)
    assert compiled_once(page.statement, dialect).params["status_1"] == PUBLISHED_LIST[1]


# --- moderation ------------------------------------------------------------------------------------


async def test_moderation_needs_the_staff_role(sessions) -> None:  # noqa: ANN001
    async with sessions.begin() as session:
        hood = await _hood(session)
        author = await _resident(session, 20, hood)
        resident = await _resident(session, 21, hood)
        theme = await _theme(session)
        process = await _open_process(session)
        idea = await ideas.submit(session, author, _draft(process.id, theme.id), CITY.bounds)
        for attempt in (
            ideas.approve(session, idea.id, resident.id),
            ideas.reject(session, idea.id, resident.id, reason_key="vague"),
            ideas.hide(session, idea.id, resident.id),
            ideas.edit_title(session, idea.id, resident.id, "Yeni başlık"),
            ideas.reveal_author(session, idea.id, resident.id),
            ideas.approve(session, idea.id, None),
        ):
            with pytest.raises(ideas.NotAllowed):
                await attempt
        assert (await ideas.get(session, idea.id)).status == ideas.PENDING


async def test_decisions_follow_the_states_and_are_audited(sessions) -> None:  # noqa: ANN001
    async with sessions.begin() as session:
        hood = await _hood(session)
        staff = await _staff(session, 93, hood)
        author = await _resident(session, 30, hood, "en")
        theme, other_theme = await _theme(session), await _theme(session, "culture")
        process = await _open_process(session, limit=10)
        idea = await ideas.submit(session, author, _draft(process.id, theme.id), CITY.bounds)
        assert await ideas.queue_count(session) == 1
        assert (await ideas.next_pending(session)).id == idea.id
        with pytest.raises(ideas.AlreadyDecided):  # only a published idea becomes a project
            await ideas.make_project(session, idea.id, staff.id)
        await ideas.edit_title(session, idea.id, staff.id, "Parka  bank  ve gölge")
        await ideas.set_theme(session, idea.id, staff.id, other_theme.id)
        approved = await ideas.approve(session, idea.id, staff.id)
        assert approved.title == "Parka bank ve gölge" and approved.theme_id == other_theme.id
        assert approved.decided_by == staff.id and await ideas.queue_count(session) == 0
        with pytest.raises(ideas.AlreadyDecided) as twice:
            await ideas.reject(session, idea.id, staff.id, reason="Geç kaldı")
        assert twice.value.status == ideas.APPROVED
        project = await ideas.make_project(session, idea.id, staff.id)
        assert project.status == ideas.PROJECT
        assert await ideas.reveal_author(session, idea.id, staff.id) == 30
        actions = list(
            await session.scalars(
                select(AuditEntry.action).where(AuditEntry.object_type == "idea").order_by(AuditEntry.id)
            )
        )
        assert actions == [
            "idea.edit_title",
            "idea.edit_theme",
            "idea.approve",
            "idea.project",
            "idea.reveal_author",
        ]


async def test_withdraw_only_own_pending_ideas(sessions) -> None:  # noqa: ANN001
    async with sessions.begin() as session:
        hood = await _hood(session)
        staff = await _staff(session, 94, hood)
        author = await _resident(session, 40, hood)
        other = await _resident(session, 41, hood)
        theme = await _theme(session)
        process = await _open_process(session)
        idea = await ideas.submit(session, author, _draft(process.id, theme.id), CITY.bounds)
        with pytest.raises(ideas.NotWithdrawable):
            await ideas.withdraw(session, idea.id, other)
        withdrawn = await ideas.withdraw(session, idea.id, author)
        assert withdrawn.status == ideas.WITHDRAWN
        with pytest.raises(ideas.AlreadyDecided):
            await ideas.approve(session, idea.id, staff.id)
        second = await ideas.submit(session, author, _draft(process.id, theme.id, "Başka"), CITY.bounds)
        await ideas.approve(session, second.id, staff.id)
        with pytest.raises(ideas.NotWithdrawable):
            await ideas.withdraw(session, second.id, author)


async def test_merge_moves_supports_without_counting_anyone_twice(sessions) -> None:  # noqa: ANN001
    async with sessions.begin() as session:
        hood = await _hood(session)
        staff = await _staff(session, 95, hood)
        target_author = await _resident(session, 50, hood)
        dup_author = await _resident(session, 51, hood)
        both, only_dup, only_target = [await _resident(session, 52 + n, hood) for n in range(3)]
        theme = await _theme(session)
        process = await _open_process(session)
        target = await ideas.submit(
            session, target_author, _draft(process.id, theme.id, "Parka bank"), CITY.bounds
        )
        dup = await ideas.submit(
            session, dup_author, _draft(process.id, theme.id, "Banklar parka"), CITY.bounds
        )
        await ideas.approve(session, target.id, staff.id)
        await ideas.approve(session, dup.id, staff.id)
        await ideas.set_support(session, target.id, both, True)
        await ideas.set_support(session, dup.id, both, True)
        await ideas.set_support(session, dup.id, only_dup, True)
        await ideas.set_support(session, target.id, only_target, True)
        # the target's author supported the duplicate
        await ideas.set_support(session, dup.id, target_author, True)
        assert [s.idea.id for s in await ideas.merge_targets(session, dup)][:1] == [target.id]

        with pytest.raises(ideas.BadTarget):
            await ideas.merge(session, dup.id, dup.id, staff.id)
        merged = await ideas.merge(session, dup.id, target.id, staff.id)
        assert merged.status == ideas.MERGED and merged.merged_into_id == target.id
        supporters = set(
            await session.scalars(select(IdeaSupport.resident_id).where(IdeaSupport.idea_id == target.id))
        )
        # both once, only_dup moved, only_target kept, the duplicate's author joins; the target's own author not
        assert supporters == {both.id, only_dup.id, only_target.id, dup_author.id}
        assert await ideas.support_count(session, dup.id) == 0
        with pytest.raises(ideas.AlreadyDecided):
            await ideas.merge(session, dup.id, target.id, staff.id)
        rejected = await ideas.submit(session, only_dup, _draft(process.id, theme.id, "Gölge"), CITY.bounds)
        await ideas.reject(session, rejected.id, staff.id, reason="Bu bir deneme")
        pending = await ideas.submit(session, only_target, _draft(process.id, theme.id, "Işık"), CITY.bounds)
        with pytest.raises(ideas.BadTarget):  # only into a published or waiting idea
            await ideas.merge(session, pending.id, rejected.id, staff.id)
        assert [i.id for i in await ideas.merge_pair(session, pending.id, target.id)] == [
            pending.id,
            target.id,
        ]
        with pytest.raises(ideas.AlreadyDecided):  # a rejected idea is not merged anywhere
            await ideas.merge_pair(session, rejected.id, target.id)
        with pytest.raises(ideas.NotFound):
            await ideas.merge_pair(session, 999_999, target.id)
        with pytest.raises(ideas.BadTarget):
            await ideas.merge_pair(session, pending.id, 999_999)


async def test_two_staff_members_deciding_at_once_one_wins(sessions) -> None:  # noqa: ANN001
    async with sessions.begin() as session:
        hood = await _hood(session)
        first = await _staff(session, 96, hood)
        second = await _staff(session, 97, hood)
        author = await _resident(session, 60, hood)
        theme = await _theme(session)
        process = await _open_process(session)
        idea_id = (await ideas.submit(session, author, _draft(process.id, theme.id), CITY.bounds)).id
        staff_ids = (first.id, second.id)

    async def decide(actor_id: int, approve: bool) -> str:
        async with sessions.begin() as session:
            await session.get(Idea, idea_id)  # both have read the idea as pending
            await asyncio.sleep(0.05)
            try:
                if approve:
                    await ideas.approve(session, idea_id, actor_id)
                else:
                    await ideas.reject(session, idea_id, actor_id, reason_key="duplicate")
            except ideas.AlreadyDecided as exc:
                return f"late:{exc.status}"
            await asyncio.sleep(0.2)  # hold the decision open while the other one tries
            return "won"

    results = await asyncio.gather(decide(staff_ids[0], True), decide(staff_ids[1], False))
    assert sorted(r.split(":")[0] for r in results) == ["late", "won"]
    async with sessions() as session:
        idea = await session.get(Idea, idea_id)
        decisions = await session.scalar(
            select(func.count()).where(
                AuditEntry.object_id == idea_id, AuditEntry.action.in_(["idea.approve", "idea.reject"])
            )
        )
    winner = "approved" if results[0] == "won" else "rejected"
    assert idea.status == winner and decisions == 1
    loser = results[1] if results[0] == "won" else results[0]
    assert loser == f"late:{winner}"


# --- notices ---------------------------------------------------------------------------------------


async def test_the_author_is_told_in_their_own_language(sessions) -> None:  # noqa: ANN001
    async with sessions.begin() as session:
        hood = await _hood(session)
        staff = await _staff(session, 98, hood)
        turkish = await _resident(session, 70, hood, "tr")
        english = await _resident(session, 71, hood, "en")
        theme = await _theme(session)
        process = await _open_process(session)
        a = await ideas.submit(session, turkish, _draft(process.id, theme.id, "Parka <bank>"), CITY.bounds)
        b = await ideas.submit(session, english, _draft(process.id, theme.id, "Park benches"), CITY.bounds)
        assert await ideas.notice_for_author(session, a, "tr") is None  # pending: nothing to say
        a = await ideas.reject(session, a.id, staff.id, reason_key="remit")
        notice = await ideas.notice_for_author(session, a, "en")
        assert notice.chat_id == 70 and notice.lang == "tr"
        assert "Parka &lt;bank&gt;" in notice.render() and f"#{a.id}" in notice.render()
        assert translate(ideas.REJECT_REASONS["remit"], "tr") in notice.render()
        b = await ideas.reject(session, b.id, staff.id, reason="Please <b>ask</b> the district office.")
        notice = await ideas.notice_for_author(session, b, "tr")
        assert notice.lang == "en" and "Please &lt;b&gt;ask&lt;/b&gt; the district office." in notice.render()


async def test_every_decision_the_author_hears_of_in_their_language(sessions) -> None:  # noqa: ANN001
    async with sessions.begin() as session:
        hood = await _hood(session)
        staff = await _staff(session, 99, hood)
        turkish = await _resident(session, 80, hood, "tr")
        english = await _resident(session, 81, hood, "en")
        theme = await _theme(session)
        process = await _open_process(session, limit=10)

        async def sent(author: Resident, title: str) -> Idea:
            return await ideas.submit(session, author, _draft(process.id, theme.id, title), CITY.bounds)

        target = await ideas.approve(session, (await sent(turkish, "Sahile <gölge>")).id, staff.id)
        notice = await ideas.notice_for_author(session, target, "en")
        assert (
            notice.lang == "tr"
            and "yayımlandı" in notice.render()
            and "Sahile &lt;gölge&gt;" in notice.render()
        )
        dup = await ideas.merge(session, (await sent(english, "Shade on the beach")).id, target.id, staff.id)
        notice = await ideas.notice_for_author(session, dup, "tr")
        assert notice.lang == "en" and "were merged" in notice.render()
        assert (
            f"#{target.id} “Sahile &lt;gölge&gt;”" in notice.render()
            and f"supporters of #{target.id}" in notice.render()
        )
        project = await ideas.make_project(session, target.id, staff.id)
        notice = await ideas.notice_for_author(session, project, "en")
        assert notice.lang == "tr" and "belediye projesine dönüştü" in notice.render()
        hidden = await ideas.hide(
            session, (await sent(english, "Something else")).id, staff.id, reason_key="spam"
        )
        notice = await ideas.notice_for_author(session, hidden, "tr")  # hiding tells the author why
        assert (
            notice.lang == "en" and "hidden" in notice.render() and "advertising or spam" in notice.render()
        )
        shown = await ideas.unhide(session, hidden.id, staff.id)
        notice = await ideas.notice_for_author(session, shown, "tr", ideas.Decision.UNHIDE)
        assert notice.lang == "en" and "can be seen again" in notice.render()
        gone = await ideas.approve(session, (await sent(english, "Park lights")).id, staff.id)
        english.deleted_at = utcnow()
        assert await ideas.notice_for_author(session, gone, "en") is None  # a deleted account hears nothing


# --- demo data -------------------------------------------------------------------------------------


async def test_demo_data_is_created_once(sessions) -> None:  # noqa: ANN001
    async with sessions.begin() as session:
        await demo.seed_ideas(session, CITY)
    async with sessions.begin() as session:
        await demo.seed_ideas(session, CITY)
    async with sessions() as session:
        process = await processes.by_key(session, demo.PROCESS_KEY)
        assert processes.submission_state(process) == processes.OPEN
        assert processes.name(process, "tr") == "İzmir'i Birlikte Tasarlayalım"
        statuses = list(await session.scalars(select(Idea.status).where(Idea.process_id == process.id)))
        assert len(statuses) == len(demo.SAMPLES)
        assert {ideas.APPROVED, ideas.PENDING} == set(statuses)
        _, top, _ = await ideas.browse(session, process.id, sort="top", page_size=1)
        assert top[0].supports == 9
        ids = set(await session.scalars(select(Resident.telegram_id)))
        demo_ids = {i for i in ids if i is not None and i >= demo.FIRST_DEMO_ID}
        assert demo_ids and all(100_000_950 <= i <= 100_000_999 for i in demo_ids)


def test_invisible_characters_do_not_count_towards_a_title() -> None:
    with pytest.raises(ideas.Invalid) as caught:
        ideas.clean_title("ab\u200b\u200b\u200d\u2060")  # zero-width space, joiner, word joiner
    assert caught.value.problem == "short"
    assert ideas.clean_title("Park\u200bı") == "Parkı"


async def test_a_page_of_ideas_read_beside_the_person_answers_as_its_own_read(sessions) -> None:  # noqa: ANN001
    """A press of a page of ideas reads the page in the person's read: newest first and most supported
    first (ties newest first), narrowed to a neighborhood or a theme, a later page, a page past the end,
    a page with no ideas and a process that does not exist; `browse` answers from it what it answers
    reading for itself, with no statement of its own where the page has ideas on it."""
    from bot.ui.ideas.callbacks import PAGE_SIZE, BrowseAction, BrowseCb, Sort, idea_list

    async with sessions.begin() as session:
        konak, bostanli, green, culture, process, fans, made = await _browsable(session)
        await _resident(session, 93, konak)  # who browses
        for fan in fans:
            await ideas.set_support(session, made[2], fan, True)
        for fan, idea_id in ((fans[0], made[5]), (fans[1], made[1]), (fans[2], made[4])):
            await ideas.set_support(session, idea_id, fan, True)
    presses = [
        BrowseCb(action=BrowseAction.LIST, process=process.id),
        BrowseCb(action=BrowseAction.LIST, process=process.id, page=1),
        BrowseCb(action=BrowseAction.LIST, process=process.id, page=9),  # past the end: the last page
        BrowseCb(action=BrowseAction.LIST, process=process.id, sort=Sort.TOP),
        BrowseCb(action=BrowseAction.LIST, process=process.id, sort=Sort.TOP, page=1),
        BrowseCb(action=BrowseAction.LIST, process=process.id, hood=bostanli.id),
        BrowseCb(action=BrowseAction.LIST, process=process.id, sort=Sort.TOP, theme=green.id, hood=konak.id),
        BrowseCb(action=BrowseAction.LIST, process=process.id, theme=culture.id + 99),  # no ideas
        BrowseCb(action=BrowseAction.LIST, process=process.id + 99),  # no such process
    ]
    answers = []
    for press in presses:
        asked = {"sort": press.sort.value, "page": press.page, "page_size": PAGE_SIZE}
        asked.update(neighborhood_id=press.hood or None, theme_id=press.theme or None)
        async with sessions.begin() as session:
            found, _records, _extra = await residents.load_with_state(
                session, 93, (), beside=idea_list(press.pack())
            )
            statements = statements_run(session.get_bind())
            beside = await ideas.browse(session, press.process, resident=found.resident, **asked)
            assert (statements == []) is (bool(beside[1]) and press.page < 9), press
            alone = await ideas.browse(session, press.process, resident=found.resident, **asked)
            assert beside == alone == await ideas.browse(session, press.process, **asked), press
            answers.append([(i.idea.id, i.supports) for i in beside[1]] + [beside[2]])
    supports = {made[2]: 3, made[5]: 1, made[1]: 1, made[4]: 1}
    newest = [(i, supports.get(i, 0)) for i in made[::-1]]
    assert answers[0] == [*newest[:5], 7]
    assert answers[1] == answers[2] == [*newest[5:], 7]
    top = [(made[2], 3), (made[5], 1), (made[4], 1), (made[1], 1), (made[6], 0), (made[3], 0), (made[0], 0)]
    assert answers[3] == [*top[:5], 7] and answers[4] == [*top[5:], 7]
    assert answers[5] == [(made[5], 1), (made[3], 0), (made[1], 1), 3]
    assert answers[6] == [(made[2], 3), (made[4], 1), (made[6], 0), (made[0], 0), 4]
    assert answers[7] == [0] and answers[8] == [0]
