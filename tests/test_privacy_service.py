"""The data export against a real database (SQLite, or PostgreSQL with TEST_DATABASE_URL): it holds the
account, ideas, supports, forms in progress and audit entries of the person, and nothing that names
anyone else."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from bot.config import DEFAULT_CITY_FILE, load_city
from bot.services import audit, ideas, privacy, processes, residents, roles
from storage.models import District, FsmRecord, Neighborhood, Resident, Theme, utcnow

CITY = load_city(DEFAULT_CITY_FILE)
AUTHOR, NEIGHBOUR, SUPPORTER, STAFF = 500_000_001, 500_000_002, 500_000_003, 500_000_009


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


async def _process(session):  # noqa: ANN001, ANN202
    now = utcnow()
    return await processes.create(
        session,
        key="parks",
        names={"tr": "Parklarımız", "en": "Our parks"},
        opens_at=now - timedelta(days=1),
        closes_at=now + timedelta(days=10),
        idea_limit=3,
    )


def _draft(process_id: int, theme_id: int, title: str, description: str, **extra) -> ideas.Draft:  # noqa: ANN003
    return ideas.Draft(
        process_id=process_id, theme_id=theme_id, title=title, description=description, **extra
    )


def _fsm_key(telegram_id: int, chat_id: int | None = None) -> str:
    """The key storage.fsm.SQLStorage writes (aiogram DefaultKeyBuilder with destiny)."""
    return f"fsm:{chat_id or telegram_id}:{telegram_id}:default"


async def test_export_holds_everything_about_the_person_and_nobody_else(sessions) -> None:  # noqa: ANN001, PLR0915
    async with sessions.begin() as session:
        hood = await _hood(session)
        theme = await session.scalar(select(Theme).where(Theme.key == "green"))
        process = await _process(session)
        author = await _resident(session, AUTHOR, hood, "tr")
        neighbour = await _resident(session, NEIGHBOUR, hood, "en")
        supporter = await _resident(session, SUPPORTER, hood, "en")
        staff = await _resident(session, STAFF, hood, "en")
        await roles.grant(session, staff, roles.STAFF)

        # the neighbour's ideas: one the author's idea is merged into, one the author never touches
        target = await ideas.submit(
            session,
            neighbour,
            _draft(process.id, theme.id, "Parka gölgelik", "Oyun alanına gölgelik yapılsın lütfen."),
            CITY.bounds,
        )
        await ideas.approve(session, target.id, staff.id)
        private = await ideas.submit(
            session,
            neighbour,
            _draft(
                process.id, theme.id, "Komşunun gizli fikri", "Bu metin yalnızca komşuya aittir ve ona kalır."
            ),
            CITY.bounds,
        )
        await ideas.approve(session, private.id, staff.id)

        # the author's two ideas: one merged (after a supporter backed it), one rejected with a reason
        merged = await ideas.submit(
            session,
            author,
            _draft(
                process.id,
                theme.id,
                "Parka gölge",
                "Çocuk parkında hiç gölge yok, ağaç ya da tente olsun.",
                photo_file_id="AgACAgQAAxkBAAIB-photo",
                latitude=38.4275,
                longitude=27.1439,
            ),
            CITY.bounds,
        )
        await ideas.approve(session, merged.id, staff.id)
        await ideas.set_support(session, merged.id, supporter, True)
        await ideas.merge(session, merged.id, target.id, staff.id)
        rejected = await ideas.submit(
            session,
            author,
            _draft(process.id, theme.id, "Havuz yapılsın", "Mahalleye olimpik bir yüzme havuzu yapılsın."),
            CITY.bounds,
        )
        await ideas.reject(session, rejected.id, staff.id, reason="Bu süreç bütçesini aşıyor.")

        # supports: the merge carried the author's voice to the target; the supporter backs `private`
        await ideas.set_support(session, private.id, supporter, True)

        # roles and audit: granted to the author by staff; one the author granted to the neighbour
        await roles.grant(session, author, roles.ORGANISER, actor_id=staff.id)
        await roles.grant(session, neighbour, roles.ORGANISER, actor_id=author.id)
        await audit.record(
            session, "test.other", actor_id=neighbour.id, object_type="resident", object_id=neighbour.id
        )

        # forms in progress, in the SQL FSM table
        session.add(
            FsmRecord(
                key=_fsm_key(AUTHOR),
                state="IdeaForm:description",
                data={"process_id": process.id, "title": "Yarım kalan bank fikri"},
            )
        )
        session.add(
            FsmRecord(key=_fsm_key(NEIGHBOUR), state="IdeaForm:title", data={"title": "Komşu taslağı"})
        )
        session.add(FsmRecord(key=_fsm_key(NEIGHBOUR, chat_id=-100123), state=None, data={"n": AUTHOR}))
        ids = {
            "process": process.id,
            "merged": merged.id,
            "rejected": rejected.id,
            "target": target.id,
            "private": private.id,
        }

    async with sessions() as session:
        author = await residents.by_telegram_id(session, AUTHOR)
        data = await privacy.export(session, author)

    text = json.dumps(data, ensure_ascii=False)  # JSON-ready: no default= needed
    assert set(data) >= {"exported_at", "account", "ideas", "supports", "drafts", "audit"}
    assert data["account"]["telegram_id"] == AUTHOR
    assert data["account"]["notifications"] == {
        "ideas": True,
        "phases": True,
        "implementation": True,
        "news": True,
    }
    assert data["account"]["roles"] == ["organiser"]

    by_number = {i["number"]: i for i in data["ideas"]}
    assert list(by_number) == [ids["merged"], ids["rejected"]]
    one = by_number[ids["merged"]]
    assert one["process"] == {"key": "parks", "name": "Parklarımız"}
    assert one["theme"] == {"key": "green", "name": "Yeşil alanlar ve parklar"}
    assert one["title"] == "Parka gölge"
    assert one["description"] == "Çocuk parkında hiç gölge yok, ağaç ya da tente olsun."
    assert one["scope"] == ideas.SCOPE_NEIGHBORHOOD
    assert one["neighborhood"] == {"name": "Pazaryeri", "district": "Konak"}
    assert one["has_photo"] is True and one["photo_file_id"] == "AgACAgQAAxkBAAIB-photo"
    assert one["location"] == {"latitude": 38.4275, "longitude": 27.1439}
    assert one["status"] == ideas.MERGED and one["merged_into"] == ids["target"]
    assert one["reason"] is None
    assert one["supports"] == 0  # the merge moved its supports to the target
    assert datetime.fromisoformat(one["created_at"]).tzinfo is not None
    assert datetime.fromisoformat(one["decided_at"]) >= datetime.fromisoformat(one["created_at"])
    two = by_number[ids["rejected"]]
    assert two["status"] == ideas.REJECTED
    assert two["reason"] == {"key": None, "text": "Bu süreç bütçesini aşıyor."}
    assert two["has_photo"] is False and two["photo_file_id"] is None and two["location"] is None
    assert two["merged_into"] is None

    assert [(s["idea"], s["title"]) for s in data["supports"]] == [(ids["target"], "Parka gölgelik")]
    assert datetime.fromisoformat(data["supports"][0]["supported_at"]).tzinfo is not None

    assert data["drafts"] == [
        {
            "state": "IdeaForm:description",
            "data": {"process_id": ids["process"], "title": "Yarım kalan bank fikri"},
            "updated_at": data["drafts"][0]["updated_at"],
        }
    ]

    entries = data["audit"]
    seen = {(e["action"], json.dumps(e["object"], sort_keys=True), e["by"]) for e in entries}
    idea = lambda n: json.dumps({"type": "idea", "number": n}, sort_keys=True)  # noqa: E731
    me = json.dumps({"type": "resident", "who": "you"}, sort_keys=True)
    other = json.dumps({"type": "resident", "who": "another resident"}, sort_keys=True)
    assert seen == {
        ("idea.approve", idea(ids["merged"]), "staff"),
        ("idea.merge", idea(ids["merged"]), "staff"),
        ("idea.reject", idea(ids["rejected"]), "staff"),
        ("role.grant", me, "staff"),
        ("role.grant", other, "you"),
    }
    reject = next(e for e in entries if e["action"] == "idea.reject")
    assert reject["details"]["reject_reason"] == "Bu süreç bütçesini aşıyor."
    merge = next(e for e in entries if e["action"] == "idea.merge")
    assert merge["details"]["merged_into_id"] == ids["target"]
    assert [e["at"] for e in entries] == sorted(e["at"] for e in entries)

    # nobody else's identity or data
    for absent in (
        str(NEIGHBOUR),
        str(SUPPORTER),
        str(STAFF),
        "Komşu",
        "gizli",
        "Oyun alanına",
        "decided_by",
    ):
        assert absent not in text, absent
    assert not any("actor" in e or "actor_id" in e["details"] for e in entries)


async def test_standard_reasons_are_in_the_persons_language_and_supports_are_counted(sessions) -> None:  # noqa: ANN001
    async with sessions.begin() as session:
        hood = await _hood(session)
        theme = await session.scalar(select(Theme).where(Theme.key == "green"))
        process = await _process(session)
        author = await _resident(session, AUTHOR, hood, "en")
        staff = await _resident(session, STAFF, hood, "en")
        await roles.grant(session, staff, roles.STAFF)
        liked = await ideas.submit(
            session,
            author,
            _draft(process.id, theme.id, "Benches", "More benches along the promenade."),
            CITY.bounds,
        )
        await ideas.approve(session, liked.id, staff.id)
        for telegram_id in (NEIGHBOUR, SUPPORTER):
            await ideas.set_support(session, liked.id, await _resident(session, telegram_id, hood), True)
        vague = await ideas.submit(
            session,
            author,
            _draft(process.id, theme.id, "Nicer city", "Make everything better please."),
            CITY.bounds,
        )
        await ideas.reject(session, vague.id, staff.id, reason_key="vague")

    async with sessions() as session:
        data = await privacy.export(session, await residents.by_telegram_id(session, AUTHOR))
    by_number = {i["number"]: i for i in data["ideas"]}
    assert by_number[liked.id]["supports"] == 2 and by_number[liked.id]["status"] == ideas.APPROVED
    assert by_number[vague.id]["reason"] == {"key": "vague", "text": "It is not specific enough to act on."}
    assert data["supports"] == []


async def test_the_conversation_given_by_the_handler_is_the_draft(sessions) -> None:  # noqa: ANN001
    async with sessions.begin() as session:
        resident = await _resident(session, AUTHOR, await _hood(session))
        session.add(FsmRecord(key=_fsm_key(AUTHOR), state="Old:state", data={"title": "stored"}))

    when = datetime(2026, 5, 1, 9, 30, tzinfo=UTC)
    conversation = {"state": "IdeaForm:photo", "data": {"title": "Yeni bank", "at": when, "keys": (1, 2)}}
    async with sessions() as session:
        resident = await residents.by_telegram_id(session, AUTHOR)
        given = await privacy.export(session, resident, conversation)
        idle = await privacy.export(session, resident, {"state": None, "data": {}})
        stored = await privacy.export(session, resident)
    assert given["drafts"] == [
        {"state": "IdeaForm:photo", "data": {"title": "Yeni bank", "at": when.isoformat(), "keys": [1, 2]}}
    ]
    json.dumps(given)
    assert idle["drafts"] == []
    assert [(d["state"], d["data"]) for d in stored["drafts"]] == [("Old:state", {"title": "stored"})]


async def test_a_person_with_nothing_gets_empty_lists(sessions) -> None:  # noqa: ANN001
    async with sessions.begin() as session:
        hood = await _hood(session)
        await _resident(session, AUTHOR, hood)
        # someone else's data in every table the export reads
        other = await _resident(session, NEIGHBOUR, hood)
        staff = await _resident(session, STAFF, hood, "en")
        await roles.grant(session, staff, roles.STAFF, actor_id=None)
        await roles.grant(session, other, roles.ORGANISER, actor_id=staff.id)
        session.add(FsmRecord(key=_fsm_key(NEIGHBOUR), state="IdeaForm:title", data={}))
        session.add(FsmRecord(key=_fsm_key(AUTHOR + 1, chat_id=AUTHOR), state="X:y", data={}))  # not theirs

    async with sessions() as session:
        data = await privacy.export(session, await residents.by_telegram_id(session, AUTHOR))
    assert data["ideas"] == [] and data["supports"] == [] and data["drafts"] == [] and data["audit"] == []
    assert data["account"]["roles"] == []
    json.dumps(data)


def test_fsm_keys_name_their_user_and_values_become_json() -> None:
    assert privacy.fsm_user("fsm:42:42:default") == "42"
    assert privacy.fsm_user("fsm:-1001:7:42:default") == "42"  # a forum topic in a group
    assert privacy.fsm_user("something:else") is None
    assert privacy.plain({"a": {1, 2}, 3: datetime(2026, 1, 2, tzinfo=UTC), "o": object}) == {
        "a": [1, 2],
        "3": "2026-01-02T00:00:00+00:00",
        "o": str(object),
    }
