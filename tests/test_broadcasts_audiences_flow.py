"""The broadcast composer's newer audiences and its place picker, through the sandbox in both languages:
a process's voters and idea authors (the counts shown leave out residents who turned City news off or
blocked the bot, and imported ballots; narrowed by language; described in the preview and the progress
report), a typed part of a place's name offering its matches as buttons, and a coordinator refused the
staff-only audiences, pressed with forged data."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import select

from bot.app import Meydan
from bot.i18n import translate
from bot.services import residents, roles
from bot.services.geography import by_keys
from bot.ui.forms import FormCb
from storage.models import BudgetBallot, Idea, OutboxDelivery, Resident, Theme
from tests import budget_fixtures
from tests.conftest import STAFF_ID
from tests.flows import onboard
from tests.test_broadcasts_flow import _labels, _resident_id, _settled, _texts, _turn_off, _wait_text

pytestmark = pytest.mark.timeout(120)

PROCESS = {"tr": "Katılımcı Bütçe", "en": "Participatory Budget"}


def _say(lang: str, message: str, **params: object) -> str:
    return translate(message, lang, **params)


def _counted(lang: str, label: str, count: int) -> str:
    return f"{label} · {_say(lang, '{count} recipients', count=count)}"


async def _town(meydan: Meydan, sandbox, lang: str):  # noqa: ANN001, ANN202
    """Staff, and four residents of Pazaryeri who voted and wrote ideas: Ayşe (tr; two pots, one idea),
    John (en; two ideas), Quiet (en; City news off) and Blocked (en; blocked the bot); Deniz (tr) of
    Bostanlı neither voted nor wrote. An imported ballot has no resident."""
    staff = await onboard(
        sandbox, name="Selin", lang=lang, person_id=STAFF_ID, district="Bornova", neighborhood="Kazımdirik"
    )
    people = {name: await onboard(sandbox, name=name, lang=code) for name, code in
              (("Ayşe", "tr"), ("John", "en"), ("Quiet", "en"), ("Blocked", "en"))}  # fmt: skip
    people["Deniz"] = await onboard(
        sandbox, name="Deniz", lang="tr", district="Karşıyaka", neighborhood="Bostanlı"
    )
    await _turn_off(meydan, people["Quiet"], "news")
    ids = {name: await _resident_id(meydan, person) for name, person in people.items()}
    async with meydan.sessions.begin() as session:
        seeded = await budget_fixtures.seed(session)
        theme = await session.scalar(select(Theme).limit(1))
        ballots = [(seeded.city, "Ayşe"), (seeded.hood, "Ayşe"), (seeded.city, "John"), (seeded.city, "Quiet"),
                   (seeded.city, "Blocked")]  # fmt: skip
        for number, (pot_id, name) in enumerate(ballots):
            person = await session.get(Resident, ids[name])
            session.add(BudgetBallot(pot_id=pot_id, identity=residents.person_key(person), resident_id=person.id,
                                     receipt=f"r{number}"))  # fmt: skip
            if pot_id == seeded.city:
                session.add(Idea(process_id=seeded.process_id, author_id=person.id, theme_id=theme.id,
                                 neighborhood_id=person.neighborhood_id, title="Bank", description="Bank olsun."))  # fmt: skip
        session.add(BudgetBallot(pot_id=seeded.city, identity="pb:1:1", receipt="imported", voter_label="1"))
        john = await session.get(Resident, ids["John"])
        session.add(Idea(process_id=seeded.process_id, author_id=john.id, theme_id=theme.id,
                         neighborhood_id=john.neighborhood_id, title="Işık", description="Işık olsun."))  # fmt: skip
        blocked = await session.get(Resident, ids["Blocked"])
        residents.mark_reachable(blocked, False)
    return staff, people


async def _begin(staff, lang: str) -> None:  # noqa: ANN001
    await staff.say("/broadcast")
    await staff.say("Merhaba komşular!")
    await staff.say("Hello neighbours!")
    await staff.press(_say(lang, "City news"))


async def _finish(staff, lang: str):  # noqa: ANN001, ANN202
    """From the audience's interlude to the preview: Continue → no photo → no button → now."""
    await staff.press(_say(lang, "Continue »"))
    await staff.press(_say(lang, "Skip ⏭"))
    await staff.press(_say(lang, "Skip ⏭"))
    await staff.press(_say(lang, "📨 Now"))
    return await staff.last_message()


@pytest.mark.parametrize("lang", ["en", "tr"])
async def test_a_process_voters_and_idea_authors(meydan: Meydan, sandbox, lang: str) -> None:  # noqa: ANN001
    staff, people = await _town(meydan, sandbox, lang)
    await _begin(staff, lang)
    await staff.press(_say(lang, "🗳 The voters of a process…"))
    step = await staff.last_message()
    assert _counted(lang, PROCESS[lang], 2) in _labels(step)  # Ayşe once, John; not Quiet, Blocked, imported
    await staff.press(_counted(lang, PROCESS[lang], 2))
    step = await staff.last_message()
    english = "🇬🇧 " + _say(lang, "Residents who read {language}", language=_say(lang, "English"))
    turkish = "🇹🇷 " + _say(lang, "Residents who read {language}", language=_say(lang, "Turkish"))
    assert _labels(step)[:3] == [
        _counted(lang, _say(lang, "👥 All of them"), 2),
        _counted(lang, turkish, 1),
        _counted(lang, english, 1),
    ]
    await staff.press(_counted(lang, english, 1))
    who = _say(
        lang,
        "{audience} (reading {language})",
        audience=_say(lang, "Voters of {process}", process=PROCESS[lang]),
        language=_say(lang, "English"),
    )
    assert (await staff.last_message()).body == _counted(lang, f"👥 {who}", 1)
    preview = await _finish(staff, lang)
    assert (
        _say(
            lang, "👥 To: {audience} · {count}", audience=who, count=_say(lang, "{count} recipients", count=1)
        )
        in preview.body
    )
    await staff.press(_say(lang, "📨 Send"))
    await _wait_text(people["John"], "Hello neighbours!")
    await _settled(meydan)
    report = _say(lang, "📣 Broadcast #{id} is finished: {total} recipients.", id=1, total=1)
    final = await _wait_text(staff, report, timeout=20.0)
    assert _say(lang, "👥 To: {audience}", audience=who) in final.body
    assert "Merhaba komşular!" not in await _texts(people["Ayşe"])

    # the authors of every idea: Ayşe and John (two ideas, once); Quiet opted out, Blocked unreachable
    await asyncio.sleep(2.1)  # two Sends within 2 s are one double press (throttling "broadcast_send")
    await _begin(staff, lang)
    await staff.press(_say(lang, "💡 The authors of ideas…"))
    step = await staff.last_message()
    assert _labels(step)[:2] == [
        _counted(lang, _say(lang, "All ideas"), 2),
        _counted(lang, PROCESS[lang], 2),
    ]
    await staff.press(_counted(lang, _say(lang, "All ideas"), 2))
    await staff.press(_counted(lang, _say(lang, "👥 All of them"), 2))
    preview = await _finish(staff, lang)
    assert _say(lang, "👥 To: {audience} · {count}", audience=_say(lang, "Authors of ideas"),
                count=_say(lang, "{count} recipients", count=2)) in preview.body  # fmt: skip
    await staff.press(_say(lang, "📨 Send"))
    await _wait_text(people["Ayşe"], "Merhaba komşular!")
    await _settled(meydan)
    async with meydan.sessions() as session:
        chats = (
            await session.scalars(select(OutboxDelivery.chat_id).where(OutboxDelivery.message_id == 2))
        ).all()
    assert sorted(chats) == sorted([people["Ayşe"].id, people["John"].id])
    for name in ("Quiet", "Blocked", "Deniz"):
        assert "Hello neighbours!" not in await _texts(people[name])


@pytest.mark.parametrize("lang", ["tr", "en"])
async def test_part_of_a_place_name_offers_its_matches(meydan: Meydan, sandbox, lang: str) -> None:  # noqa: ANN001
    staff = await onboard(
        sandbox, name="Selin", lang=lang, person_id=STAFF_ID, district="Bornova", neighborhood="Kazımdirik"
    )
    await onboard(sandbox, name="Deniz", lang="tr", district="Karşıyaka", neighborhood="Bostanlı")
    await _begin(staff, lang)
    await staff.press(_say(lang, "🏘 A neighborhood…"))
    offered = await staff.say("kazım")
    assert offered.body == _say(lang, "Is it one of these? (search: “{query}”)", query="kazım")
    mine = _say(lang, "🏘 {name} ({district})", name="Kazımdirik", district="Bornova")
    assert mine in _labels(offered)
    assert _say(lang, "🏘 {name} ({district})", name="Kazım Dirik", district="Aliağa") in _labels(offered)
    # a value that was not offered is refused, nothing kept
    async with meydan.sessions() as session:
        bostanli = (await by_keys(session, "karsiyaka", "bostanli")).id
    forged = FormCb(form="broadcast", step="neighborhood", action="pick", value=f"hood-{bostanli}").pack()
    assert (await staff.press_data(offered.message_id, forged)).show_alert
    await staff.press(mine, offered)
    place = _say(lang, "The neighborhood of {name}", name="Kazımdirik")
    assert (await staff.last_message()).body == _counted(lang, f"👥 {place}", 1)  # Selin herself

    # a district: part of its name, then picked; the exact name of a neighborhood is taken at once
    await staff.press(_say(lang, "« Back"))  # to the audience
    await staff.press(_say(lang, "🏙 A district…"))
    offered = await staff.say("Kar")
    karsiyaka = _say(lang, "🏙 {name} (district)", name="Karşıyaka")
    assert karsiyaka in _labels(offered) and _say(lang, "🏙 {name} (district)", name="Karabağlar") in _labels(
        offered
    )
    await staff.press(karsiyaka, offered)
    district = _say(lang, "The district of {name}", name="Karşıyaka")
    assert (await staff.last_message()).body == _counted(lang, f"👥 {district}", 1)  # Deniz
    preview = await _finish(staff, lang)
    assert district in preview.body
    # back to a neighborhood: the one chosen for that step before, never the district taken for one
    await staff.press(_say(lang, "✏️ Edit"))
    await staff.press(_say(lang, "👥 Audience"))
    await staff.press(_say(lang, "🏘 A neighborhood…"))
    preview = await staff.last_message()
    assert place in preview.body and district not in preview.body
    await staff.press(_say(lang, "✏️ Edit"))
    await staff.press(_say(lang, "🏘 Neighborhood"))
    assert _say(lang, "Type the neighborhood's name, or a part of it.") in (await staff.last_message()).body
    taken = await staff.say("Bostanlı")  # the exact name is taken at once
    assert taken.body == _counted(lang, "👥 " + _say(lang, "The neighborhood of {name}", name="Bostanlı"), 1)


async def test_a_coordinator_is_refused_the_staff_only_audiences(meydan: Meydan, sandbox) -> None:  # noqa: ANN001
    coordinator = await onboard(sandbox, name="Kemal", lang="tr")
    async with meydan.sessions.begin() as session:
        await budget_fixtures.seed(session)
        own = await by_keys(session, "konak", "pazaryeri")
        who = await residents.by_telegram_id(session, coordinator.id)
        await roles.grant(session, who, roles.COORDINATOR, neighborhood_id=own.id)
    await _begin(coordinator, "tr")
    step = await coordinator.last_message()
    choices = [
        label for label in _labels(step) if label not in {_say("tr", "« Back"), _say("tr", "✖️ Cancel")}
    ]
    assert len(choices) == 1 and "Pazaryeri" in choices[0]
    for value in ("voters", "authors", "lang-tr", "city", "district", f"district-{own.district_id}"):
        forged = FormCb(form="broadcast", step="audience", action="pick", value=value).pack()
        answer = await coordinator.press_data(step.message_id, forged)
        assert answer.show_alert, value
    forged = FormCb(form="broadcast", step="voted_in", action="pick", value="p-1").pack()
    assert (await coordinator.press_data(step.message_id, forged)).show_alert  # not at that step
    assert (await coordinator.last_message()).message_id == step.message_id  # still the audience step
    # typed: a place they do not coordinate, whole or in part
    typed = await coordinator.say("Bostanlı")
    assert typed.body == _say("tr", "You can only write to the residents of your own neighborhood.")
