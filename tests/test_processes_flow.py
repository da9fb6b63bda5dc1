"""Processes (staff) through the sandbox: the declared creation form (back from each step, stale buttons,
typed numbers and dates refused with a clear answer, neighborhoods found by name, edits from the
preview), two staff members creating processes of the same name at once, the paged list that never
shows a key, and the service's free key under concurrency on both engines."""

from __future__ import annotations

import asyncio
import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from bot.app import Meydan
from bot.services import processes, residents, roles
from bot.ui.forms import FormCb
from storage.models import AuditEntry, Process, utcnow
from tests.conftest import STAFF_ID
from tests.flows import onboard

SECOND_STAFF_ID = 100_000_901


def _labels(message) -> list[str]:  # noqa: ANN001
    return [label for row in message.buttons for label in row]


def _date(meydan: Meydan, days: float) -> str:
    return (utcnow() + timedelta(days=days)).astimezone(meydan.city.zone).strftime("%Y-%m-%d %H:%M")


async def _start(sandbox, *, lang: str = "en", person_id: int = STAFF_ID, name: str = "Selin"):  # noqa: ANN001, ANN202
    staff = await onboard(sandbox, name=name, lang=lang, person_id=person_id)
    await staff.say("/admin")
    await staff.press("📅")
    await staff.press("➕")
    return staff


async def _fill(
    staff, meydan: Meydan, *, name: str = "Design Konak", hood: str | None = None, limit: str = "3"
):  # noqa: ANN001, ANN202
    await staff.say(f"{name} (tr)")
    await staff.say(name)
    if hood is None:
        await staff.press("🌆")
    else:
        await staff.press("🏘")
        await staff.say(hood)
    await staff.say(_date(meydan, 1))
    await staff.say(_date(meydan, 20))
    await staff.press(limit)
    return await staff.last_message()


async def _created(meydan: Meydan) -> list[Process]:
    async with meydan.sessions() as session:
        return [await processes.get(session, p.id) for p in await processes.all_processes(session)]


async def test_back_from_each_step_keeps_the_answers(meydan: Meydan, sandbox) -> None:  # noqa: ANN001
    staff = await _start(sandbox)
    first = await staff.last_message()
    assert "Step 1 of 6" in first.text and "Turkish" in first.text
    assert not any("Back" in label for label in _labels(first))  # nothing before the first step
    preview = await _fill(staff, meydan, hood="Bostanlı")
    assert "Bostanlı, Karşıyaka" in preview.text and "Design Konak (tr)" in preview.text
    expected = [
        ("How many ideas", "Step 7 of 7"),
        ("When should it close?", "Step 6 of 7"),
        ("When should idea submission open?", "Step 5 of 7"),
        ("Type the neighborhood's name.", "Step 4 of 7"),
        ("Who takes part?", "Step 3 of 7"),
        ("And its name in English?", "Step 2 of 7"),
        ("What is its name in Turkish?", "Step 1 of 7"),
    ]
    for prompt, step in expected:
        await staff.press("Back")
        shown = await staff.last_message()
        assert prompt in shown.text and step in shown.text, shown.text
    # forward again: the whole city leaves the neighborhood out, and back from the opening skips it too
    await staff.say("Konak'ı Tasarlayalım")
    await staff.say("Design Konak")
    scope = await staff.last_message()
    assert "✓ 🏘 One neighborhood" in _labels(scope)  # the earlier choice is marked
    await staff.press("🌆")
    assert "Step 4 of 6" in (await staff.last_message()).text
    await staff.press("Back")
    assert "Who takes part?" in (await staff.last_message()).text
    await staff.press("🌆")
    await staff.say(_date(meydan, 1))
    await staff.say(_date(meydan, 20))
    preview = await staff.press("5")
    preview = await staff.last_message()
    assert "Konak'ı Tasarlayalım" in preview.text and "the whole city" in preview.text
    assert "Ideas per person: 5" in preview.text
    await staff.press("Send")
    [process] = await _created(meydan)
    assert process.scope == processes.CITY and process.neighborhood_id is None and process.idea_limit == 5


async def test_a_stale_button_from_an_earlier_step_changes_nothing(meydan: Meydan, sandbox) -> None:  # noqa: ANN001
    staff = await _start(sandbox)
    first = await staff.last_message()
    await staff.say("Konak'ı Tasarlayalım")
    answer = await staff.press("Cancel", message=first)
    assert answer.show_alert and "out of date" in answer.text
    assert "Who takes part?" in (await staff.say("Design Konak")).text  # the form went on where it was
    await staff.press("🌆")
    opening = await staff.last_message()
    await staff.say(_date(meydan, 1))
    answer = await staff.press("Back", message=opening)  # the opening's Back, once the closing is asked
    assert answer.show_alert and "out of date" in answer.text
    assert "When should it close?" in (await staff.last_message()).text
    await staff.say(_date(meydan, 20))
    preview = await staff.press("3")
    preview = await staff.last_message()
    await staff.press("Send", message=preview)
    # Send pressed again on a form already sent (past the double-press throttle): out of date, one process
    await asyncio.sleep(2.1)
    again = FormCb(form="process", step="_preview", action="send").pack()
    answer = await staff.press_data(preview.message_id, again)
    assert answer.show_alert and "out of date" in answer.text
    assert len(await _created(meydan)) == 1


@pytest.mark.parametrize("lang", ["tr", "en"])
async def test_a_typed_limit_takes_ascii_digits_within_the_limits(meydan: Meydan, sandbox, lang: str) -> None:  # noqa: ANN001
    staff = await _start(sandbox, lang=lang)
    await staff.say("Konak'ı Tasarlayalım")
    await staff.say("Design Konak")
    await staff.press("🌆")
    await staff.say(_date(meydan, 1))
    await staff.say(_date(meydan, 20))
    clear = {"tr": "1 ile 50 arasında bir tam sayı", "en": "whole number from 1 to 50"}[lang]
    for typed in ("²", "12345678901234567890", "٣", "0", "51", "3.5", "-2", "üç"):
        assert clear in (await staff.say(typed)).text, typed
    hint = await staff.send_sticker("🔢")
    # the question again, with its buttons
    assert {"tr": "Adım 6/6", "en": "Step 6 of 6"}[lang] in hint.text and "10" in _labels(hint)
    preview = await staff.say(" 12 ")
    assert {"tr": "Kişi başına fikir: 12", "en": "Ideas per person: 12"}[lang] in preview.text
    await staff.press({"tr": "Gönder", "en": "Send"}[lang])
    [process] = await _created(meydan)
    assert process.idea_limit == 12
    assert len(await _created(meydan)) == 1


async def test_dates_in_the_past_and_unreadable_dates_are_refused(meydan: Meydan, sandbox) -> None:  # noqa: ANN001
    staff = await _start(sandbox)
    await staff.say("Konak'ı Tasarlayalım")
    await staff.say("Design Konak")
    await staff.press("🌆")
    unreadable = (await staff.say("tomorrow")).text
    assert "could not read that date" in unreadable and "Europe/Istanbul" in unreadable
    assert "already passed" in (await staff.say("2020-01-01 10:00")).text
    assert "could not read that date" in (await staff.say("0001-01-01 00:00")).text  # beyond a date's range
    assert "already passed" in (await staff.say(_date(meydan, -1))).text
    assert "When should it close?" in (await staff.say(_date(meydan, 0.01))).text
    assert "already passed" in (await staff.say(_date(meydan, -0.5))).text
    assert "already passed" in (await staff.say("01.01.2021")).text
    assert "Ideas per person" not in (await staff.last_message()).text
    closes = (await staff.say(_date(meydan, 3))).text
    assert "How many ideas" in closes
    assert not await _created(meydan)


async def test_a_neighborhood_is_found_by_its_name(meydan: Meydan, sandbox) -> None:  # noqa: ANN001
    staff = await _start(sandbox)
    await staff.say("Kalabak'ı Tasarlayalım")
    await staff.say("Design Kalabak")
    await staff.press("🏘")
    assert "found no neighborhood called “Xyzzy”" in (await staff.say("Xyzzy")).text
    several = (await staff.say("kalabak")).text
    assert "Several neighborhoods match" in several
    assert "Kalabak (Aliağa)" in several and "Kalabak (Urla)" in several
    assert "found no neighborhood" in (await staff.say("Kalabak (Buca)")).text
    assert "Several neighborhoods match" in (await staff.say("Atatürk")).text  # in nineteen districts
    assert "When should idea submission open?" in (await staff.say("atatürk (urla)")).text
    await staff.press("Back")
    assert "When should idea submission open?" in (await staff.say("Kalabak (Urla)")).text
    await staff.say(_date(meydan, 1))
    await staff.say(_date(meydan, 20))
    await staff.press("2")
    assert "Kalabak, Urla" in (await staff.last_message()).text
    await staff.press("Send")
    [process] = await _created(meydan)
    assert process.neighborhood.name == "Kalabak" and process.neighborhood.district.name == "Urla"


async def test_edits_from_the_preview(meydan: Meydan, sandbox) -> None:  # noqa: ANN001
    staff = await _start(sandbox)
    await _fill(staff, meydan)
    # one neighborhood instead of the whole city: the neighborhood is asked before the preview
    await staff.press("Edit")
    await staff.press("Who takes part")
    await staff.press("🏘")
    asked = await staff.last_message()
    assert "Type the neighborhood's name." in asked.text and "« Back to the preview" in _labels(asked)
    preview = await staff.say("Bostanlı")
    assert "Bostanlı, Karşıyaka" in preview.text
    # an opening moved past the closing: Send says what to change, and the draft stays
    await staff.press("Edit")
    await staff.press("Opens")
    await staff.say(_date(meydan, 30))
    answer = await staff.press("Send")
    assert answer.show_alert and "must close after it opens" in answer.text and "Edit" in answer.text
    assert not await _created(meydan)
    await staff.press("Edit")
    await staff.press("Closes")
    await staff.say(_date(meydan, 40))
    await asyncio.sleep(2.1)  # past the double-press throttle of Send
    assert (await staff.press("Send")).text == "Created."
    created = (await staff.last_message()).text
    assert "Process created" in created and "Bostanlı, Karşıyaka" in created
    [process] = await _created(meydan)
    assert process.scope == processes.NEIGHBORHOOD


async def test_two_staff_members_create_processes_of_the_same_name_at_once(meydan: Meydan, sandbox) -> None:  # noqa: ANN001
    first = await _start(sandbox)
    second = await onboard(sandbox, name="Murat", lang="tr", person_id=SECOND_STAFF_ID)
    async with meydan.sessions.begin() as session:
        await roles.grant(session, await residents.by_telegram_id(session, SECOND_STAFF_ID), roles.STAFF)
    await second.say("/admin")
    await second.press("📅")
    await second.press("➕")
    one = await _fill(first, meydan, name="Design Together")
    other = await _fill(second, meydan, name="Design Together")
    answers = await asyncio.gather(first.press("Send", message=one), second.press("Gönder", message=other))
    assert [a.text for a in answers] == ["Created.", "Oluşturuldu."]
    assert "Process created" in (await first.last_message()).text
    assert "Süreç oluşturuldu" in (await second.last_message()).text
    keys = sorted(p.key for p in await _created(meydan))
    assert keys == ["design-together", "design-together-2"]
    async with meydan.sessions() as session:
        assert await session.scalar(select(func.count()).where(AuditEntry.action == "process.create")) == 2


async def test_the_form_and_the_list_are_for_staff_only(meydan: Meydan, sandbox) -> None:  # noqa: ANN001
    ayse = await onboard(sandbox, name="Ayşe", lang="tr")
    menu = await ayse.say("/menu")
    for step, action in (("name_tr", "cancel"), ("_preview", "send"), ("limit", "pick")):
        data = FormCb(form="process", step=step, action=action, value="3").pack()
        answer = await ayse.press_data(menu.message_id, data)
        assert answer.show_alert and "yalnızca belediye ekibi" in answer.text
    assert not await _created(meydan)


async def test_the_list_goes_page_by_page_and_never_shows_a_key(meydan: Meydan, sandbox) -> None:  # noqa: ANN001
    now = utcnow()
    async with meydan.sessions.begin() as session:
        for n in range(7):
            await processes.create(
                session,
                key=f"internal-key-{n}",
                names={"tr": f"Süreç {n}", "en": f"Process {n}"},
                opens_at=now + timedelta(days=1),
                closes_at=now + timedelta(days=9, seconds=37),
            )
    staff = await onboard(sandbox, name="Selin", lang="en", person_id=STAFF_ID)
    await staff.say("/admin")
    await staff.press("📅")
    page = await staff.last_message()
    assert "1/2" in _labels(page) and page.text.count("Ideas per person") == 5
    assert "internal-key" not in page.text
    assert not re.search(r"\d:\d\d:\d\d", page.text), "times are shown to the minute"
    await staff.press("▶")
    page = await staff.last_message()
    assert page.text.count("Ideas per person") == 2 and "Process 0" in page.text
    assert "internal-key" not in page.text
    await staff.press("New process")
    assert "Step 1 of 6" in (await staff.last_message()).text


async def test_the_service_gives_the_next_free_key_to_processes_created_at_once(
    sessions, monkeypatch
) -> None:  # noqa: ANN001
    now = utcnow()
    clashes = []
    inserted = processes._inserted

    async def counted(session, process) -> bool:  # noqa: ANN001
        done = await inserted(session, process)
        clashes.extend([process.key] if not done else [])
        return done

    monkeypatch.setattr(processes, "_inserted", counted)

    async def create() -> str:
        async with sessions.begin() as session:
            process = await processes.create(
                session,
                names={"tr": "Birlikte", "en": "Together"},
                opens_at=now + timedelta(days=1),
                closes_at=now + timedelta(days=2),
            )
            await asyncio.sleep(0.05)  # the first transaction still open while the others insert
            return process.key

    keys = await asyncio.gather(*(create() for _ in range(3)))
    assert sorted(keys) == ["together", "together-2", "together-3"]
    if sessions.kw["bind"].dialect.name != "sqlite":  # SQLite runs them one after another (BEGIN IMMEDIATE)
        assert clashes  # they did meet on the same key, and moved on
    with pytest.raises(processes.KeyTaken):
        async with sessions.begin() as session:
            await processes.create(
                session,
                key="together",
                names={"tr": "Birlikte", "en": "Together"},
                opens_at=now + timedelta(days=1),
                closes_at=now + timedelta(days=2),
            )
