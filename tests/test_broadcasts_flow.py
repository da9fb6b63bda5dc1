"""Composing broadcasts through the sandbox, in both languages: to a neighborhood (only its residents get
it, each in their language; the count shown is the deliveries made; an opted-out resident is left out;
the progress message ends in a final report; the stop button turns the category off), a coordinator
kept to their own neighborhood (typed and forged), a scheduled broadcast cancelled before its time never
sent, and one sent at its time by the scheduler's job with the opt-outs made meanwhile."""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from bot.app import Meydan
from bot.i18n import translate
from bot.services import broadcasts, outbox, residents, roles
from bot.services.geography import by_keys
from bot.ui.forms import FormCb
from scheduler import broadcasts as broadcast_jobs
from storage.models import AuditEntry, Broadcast, OutboxDelivery, OutboxMessage, utcnow
from tests.conftest import STAFF_ID
from tests.flows import onboard

pytestmark = pytest.mark.timeout(120)

STOP = "🔕 Stop these messages"


def tr(message: str, **params: object) -> str:
    return translate(message, "tr", **params)


def _say(lang: str, message: str, **params: object) -> str:
    return translate(message, lang, **params)


def _labels(message) -> list[str]:  # noqa: ANN001
    return [label for row in message.buttons for label in row]


async def _resident_id(meydan: Meydan, person) -> int:  # noqa: ANN001
    async with meydan.sessions() as session:
        return (await residents.by_telegram_id(session, person.id)).id


async def _turn_off(meydan: Meydan, person, category: str) -> None:  # noqa: ANN001
    async with meydan.sessions.begin() as session:
        await residents.set_notification(session, await _resident_id(meydan, person), category, False)


async def _texts(person) -> list[str]:  # noqa: ANN001
    return [m.body for m in await person.bot_messages()]


async def _wait_text(person, text: str, timeout: float = 10.0):  # noqa: ANN001, ANN202
    deadline = time.monotonic() + timeout
    while True:
        for message in await person.bot_messages():
            if text in message.body:
                return message
        assert time.monotonic() < deadline, f"{text!r} never came; got {await _texts(person)}"
        await asyncio.sleep(0.1)


async def _compose(
    staff,
    lang: str,
    *,
    same: bool = False,
    place: str | None = "Pazaryeri",
    when: str | None = None,
    photo: bool = False,
):  # noqa: ANN001, ANN202
    """/broadcast → texts → City news → a neighborhood (typed) → no photo → the ideas button → now or `when`."""
    await staff.say("/broadcast")
    await staff.say("Merhaba komşular!")
    if same:
        await staff.press(_say(lang, "🔁 Same text for both"))
    else:
        await staff.say("Hello neighbours!")
    await staff.press(_say(lang, "City news"))
    if place is None:
        await staff.press(_say(lang, "🌆 Everyone"))
    else:
        await staff.press(_say(lang, "🏘 A neighborhood…"))
        await staff.say(place)
    await staff.press(_say(lang, "Continue »"))
    if photo:
        await staff.send_photo()
    else:
        await staff.press(_say(lang, "Skip ⏭"))
    await staff.press(_say(lang, "💡 Share an idea"))
    if when is None:
        await staff.press(_say(lang, "📨 Now"))
    else:
        await staff.say(when)
    return await staff.last_message()


async def _settled(meydan: Meydan, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        async with meydan.sessions() as session:
            pending = await session.scalar(
                select(func.count())
                .select_from(OutboxDelivery)
                .where(OutboxDelivery.status == outbox.PENDING)
            )
        if not pending:
            return
        assert time.monotonic() < deadline, "deliveries still pending"
        await asyncio.sleep(0.1)


async def _deliveries(meydan: Meydan) -> list[tuple[int, str]]:
    async with meydan.sessions() as session:
        rows = await session.execute(
            select(OutboxDelivery.chat_id, OutboxDelivery.lang).order_by(OutboxDelivery.chat_id)
        )
        return [tuple(row) for row in rows.all()]


@pytest.mark.parametrize("lang", ["en", "tr"])
async def test_a_broadcast_to_a_neighborhood_reaches_only_its_residents(
    meydan: Meydan, sandbox, lang: str
) -> None:  # noqa: ANN001
    staff = await onboard(
        sandbox, name="Selin", lang=lang, person_id=STAFF_ID, district="Bornova", neighborhood="Kazımdirik"
    )
    ayse = await onboard(sandbox, name="Ayşe", lang="tr")
    john = await onboard(sandbox, name="John", lang="en")
    quiet = await onboard(sandbox, name="Quiet", lang="en")
    far = await onboard(sandbox, name="Far", lang="tr", district="Karşıyaka", neighborhood="Bostanlı")
    await _turn_off(meydan, quiet, "news")

    preview = await _compose(staff, lang)
    recipients = _say(lang, "{count} recipients", count=2)
    assert recipients in preview.body  # opted-out Quiet and far-away Far are not counted
    assert "Merhaba komşular!" in preview.body and "Hello neighbours!" in preview.body
    await staff.press(_say(lang, "📨 Send"))
    closing = await staff.last_message()
    assert recipients in closing.body

    got_tr = await _wait_text(ayse, "Merhaba komşular!")
    got_en = await _wait_text(john, "Hello neighbours!")
    assert _labels(got_tr) == [tr("💡 Share an idea"), tr(STOP)]
    assert _labels(got_en) == ["💡 Share an idea", STOP]
    await _settled(meydan)
    assert sorted(await _deliveries(meydan)) == sorted([(ayse.id, "tr"), (john.id, "en")])  # the count shown
    assert "Hello neighbours!" not in await _texts(quiet)
    assert "Merhaba komşular!" not in await _texts(far)

    # the progress message in the composer's chat ends in the final report
    report = _say(lang, "📣 Broadcast #{id} is finished: {total} recipients.", id=1, total=2)
    await _wait_text(staff, report, timeout=20.0)

    # audited once, with audience and count, never recipients
    async with meydan.sessions() as session:
        entries = (
            await session.scalars(select(AuditEntry).where(AuditEntry.action == "broadcast.send"))
        ).all()
    assert len(entries) == 1 and entries[0].details["count"] == 2
    assert entries[0].details["audience"]["scope"] == "neighborhood"
    assert str(ayse.id) not in str(entries[0].details) and str(john.id) not in str(entries[0].details)

    # the stop button turns City news off for Ayşe, with a toast
    answer = await ayse.press(tr(STOP), got_tr)
    assert answer.text == tr(
        "🔕 Turned off: {category}. You can turn it on again in /settings.", category=tr("City news")
    )
    async with meydan.sessions() as session:
        assert (await residents.notifications(session, await _resident_id(meydan, ayse)))["news"] is False


async def test_same_text_for_both_to_everyone_with_a_photo(meydan: Meydan, sandbox) -> None:  # noqa: ANN001
    staff = await onboard(sandbox, name="Selin", lang="en", person_id=STAFF_ID)
    john = await onboard(sandbox, name="John", lang="en", district="Karşıyaka", neighborhood="Bostanlı")
    preview = await _compose(staff, "en", same=True, place=None, photo=True)
    assert "2 recipients" in preview.body  # Selin and John
    assert preview.photo is not None  # the preview is the photo with its caption
    await staff.press("📨 Send")
    got = await _wait_text(john, "Merhaba komşular!")
    assert got.photo is not None and got.caption.startswith("Merhaba komşular!")


async def test_a_coordinator_reaches_only_their_own_neighborhood(meydan: Meydan, sandbox) -> None:  # noqa: ANN001
    coordinator = await onboard(sandbox, name="Kemal", lang="tr")
    resident = await onboard(sandbox, name="Plain", lang="tr")
    async with meydan.sessions.begin() as session:
        own = await by_keys(session, "konak", "pazaryeri")
        other = await by_keys(session, "karsiyaka", "bostanli")
        who = await residents.by_telegram_id(session, coordinator.id)
        await roles.grant(session, who, roles.COORDINATOR, neighborhood_id=own.id)
        own_id, other_id = own.id, other.id

    refused = await resident.say("/broadcast")
    assert refused.body == tr("This is for the municipality's staff only.")

    await coordinator.say("/broadcast")
    await coordinator.say("Sokak şenliği cumartesi!")
    await coordinator.press(tr("🔁 Same text for both"))
    asked = await coordinator.press(tr("City news"))
    step = await coordinator.last_message()
    choices = [label for label in _labels(step) if label not in {tr("« Back"), tr("✖️ Cancel")}]
    assert len(choices) == 1 and "Pazaryeri" in choices[0]  # only their own neighborhood is offered
    del asked
    # typed: another neighborhood is refused by the same predicate
    typed = await coordinator.say("Bostanlı")
    assert typed.body == tr("You can only write to the residents of your own neighborhood.")
    # forged: a press for another neighborhood is refused, nothing kept
    forged = FormCb(form="broadcast", step="audience", action="pick", value=f"hood-{other_id}").pack()
    answer = await coordinator.press_data(step.message_id, forged)
    assert answer.show_alert
    # and at Send, the service checks again
    async with meydan.sessions.begin() as session:
        who = await residents.by_telegram_id(session, coordinator.id)
        grants = frozenset({(roles.COORDINATOR, own_id)})
        draft = broadcasts.Draft({"tr": "x", "en": "x"}, outbox.Audience("neighborhood", other_id), "news")
        with pytest.raises(broadcasts.OutsideScope):
            await broadcasts.compose(session, grants, who.id, draft)

    await coordinator.press(choices[0])
    await coordinator.press(tr("Continue »"))
    await coordinator.press(tr("Skip ⏭"))
    await coordinator.press(tr("Skip ⏭"))
    await coordinator.press(tr("📨 Now"))
    await coordinator.press(tr("📨 Send"))
    await _wait_text(resident, "Sokak şenliği cumartesi!")
    async with meydan.sessions() as session:
        sent = (await session.scalars(select(Broadcast))).all()
    assert [b.audience["neighborhood_id"] for b in sent] == [own_id]


def _later(meydan: Meydan, days: float) -> str:
    return (utcnow() + timedelta(days=days)).astimezone(meydan.city.zone).strftime("%Y-%m-%d %H:%M")


@pytest.mark.parametrize("lang", ["tr", "en"])
async def test_scheduled_broadcasts_cancelled_never_sent_and_sent_at_their_time(
    meydan: Meydan, sandbox, lang: str
) -> None:  # noqa: ANN001
    staff = await onboard(
        sandbox, name="Selin", lang=lang, person_id=STAFF_ID, district="Bornova", neighborhood="Kazımdirik"
    )
    ayse = await onboard(sandbox, name="Ayşe", lang="tr")
    john = await onboard(sandbox, name="John", lang="en")

    preview = await _compose(staff, lang, when=_later(meydan, 2))
    assert _say(lang, "{count} recipients", count=2) in preview.body
    await staff.press(_say(lang, "📨 Send"))
    await staff.press(_say(lang, "📣 Broadcasts"))
    screen = await staff.last_message()
    assert "#1" in screen.body
    answer = await staff.press(_say(lang, "✖️ Cancel #{id}", id=1))
    assert answer.text == _say(lang, "Cancelled: broadcast #{id} will not be sent.", id=1)
    assert _say(lang, "No broadcast is scheduled.") in (await staff.last_message()).body

    # a second one, for tomorrow; John turns City news off meanwhile
    await _compose(staff, lang, when=_later(meydan, 1))
    await asyncio.sleep(2.1)  # two Sends within 2 s are one double press (throttling "broadcast_send")
    await staff.press(_say(lang, "📨 Send"))
    await _turn_off(meydan, john, "news")
    assert await broadcast_jobs.release(meydan.sessions, meydan.signal, utcnow()) == []  # not yet
    released = await broadcast_jobs.release(meydan.sessions, meydan.signal, utcnow() + timedelta(days=3))
    assert released == [2]  # the cancelled one stays cancelled, past its time
    await _wait_text(ayse, "Merhaba komşular!")
    await _settled(meydan)
    async with meydan.sessions() as session:
        statuses = dict((await session.execute(select(Broadcast.id, Broadcast.status))).all())
        messages = (
            await session.scalars(select(OutboxMessage.key).where(OutboxMessage.kind == outbox.BROADCAST))
        ).all()
    assert statuses[1] == broadcasts.CANCELLED and messages == ["broadcast:2"]
    assert await _deliveries(meydan) == [(ayse.id, "tr")]  # John opted out before its time
    assert "Hello neighbours!" not in await _texts(john)
