"""Onboarding and settings through the sandbox, in Turkish and English, with the unhappy paths."""

from __future__ import annotations

import random

from aiogram.methods import EditMessageText
from sqlalchemy import func, select
from sqlalchemy.orm import joinedload

from bot.app import Meydan
from bot.middlewares.dedup import claim, entry, keep
from bot.services import residents
from storage.models import FsmRecord, Neighborhood, NotificationChoice, ProcessedUpdate, Resident
from tests.conftest import STAFF_ID, running_bot, statements_run
from tests.flows import fetch, onboard, post_update, post_webhook


async def _resident(meydan: Meydan, telegram_id: int) -> Resident | None:
    async with meydan.sessions() as session:
        resident = await residents.by_telegram_id(session, telegram_id)
        if resident is not None and resident.neighborhood_id is not None:
            resident.neighborhood = await session.get(Neighborhood, resident.neighborhood_id)
        return resident


async def test_onboarding_in_turkish(meydan: Meydan, sandbox) -> None:  # noqa: ANN001
    person = await sandbox.person("Ayşe", language_code="tr")
    first = await person.say("/start")
    assert "Meydan" in first.text and "Dilinizi seçin" in first.text
    assert "✓ 🇹🇷 Türkçe" in first.buttons[0]  # pre-selected from Telegram's language
    await person.press("Türkçe")
    notice = await person.last_message()
    assert "Gizlilik" in notice.text
    await person.press("Kabul ediyorum")
    districts = await person.last_message()
    assert "Hangi ilçede" in districts.text
    assert any("▶" in row for row in districts.buttons)  # 30 districts are paged
    reply = await person.say("karsiyaka")  # accent- and case-insensitive
    labels = [label for row in reply.buttons for label in row]
    # the district and the neighborhood of the same name in another district are told apart
    assert "🏙 Karşıyaka (ilçe)" in labels and "🏘 Karşıyaka (Torbalı)" in labels
    await person.press("🏙 Karşıyaka (ilçe)")
    hoods = await person.last_message()
    assert "Karşıyaka" in hoods.text
    found = await person.say("BOSTANLI")  # a lone match is taken without asking
    done = (await person.bot_messages())[-2:]
    assert "Her şey hazır" in done[0].text and "Bostanlı" in done[0].text
    assert "Ne yapmak istersiniz" in done[1].text
    resident = await _resident(meydan, person.id)
    assert resident.language == "tr" and resident.consent_at is not None
    assert resident.neighborhood.name == "Bostanlı" and resident.onboarded_at is not None
    assert found is not None


async def test_onboarding_in_english_with_paging_and_neighborhood_search_from_district_step(
    meydan: Meydan,
    sandbox,  # noqa: ANN001
) -> None:
    person = await sandbox.person("John", language_code="en-GB")
    first = await person.say("/start")
    assert "Choose your language" in first.text
    await person.press("English")
    await person.press("I accept")
    await person.press("▶")
    page2 = await person.last_message()
    assert "2/" in " ".join(label for row in page2.buttons for label in row)
    await person.press("◀")
    await person.say("alsancak")  # a neighborhood typed at the district step: the lone match is taken
    done = (await person.bot_messages())[-2]
    assert "All set" in done.text and "Alsancak, Konak" in done.text
    assert (await _resident(meydan, person.id)).language == "en"


async def test_unknown_name_sticker_and_command_keep_the_step(meydan: Meydan, sandbox) -> None:  # noqa: ANN001
    person = await sandbox.person("Zeynep", language_code="tr")
    await person.say("/start")
    await person.press("Türkçe")
    await person.press("Kabul ediyorum")
    reply = await person.say("Atlantis")
    assert "bulamadım" in reply.text and not reply.buttons
    await person.send_sticker("🙂")
    reply = await person.last_message()
    assert "listeden seçin" in reply.text
    await person.say("/help")
    # still at the district step: a district typed now works
    await person.say("konak")
    await person.press("🏙 Konak (ilçe)")
    reply = await person.say("x" * 300)
    assert "bulamadım" in reply.text
    await person.say("pazaryeri")  # the lone match is taken
    assert (await _resident(meydan, person.id)).neighborhood.name == "Pazaryeri"


async def test_stale_and_forged_buttons_change_nothing(meydan: Meydan, sandbox) -> None:  # noqa: ANN001
    person = await sandbox.person("Can", language_code="en")
    start = await person.say("/start")
    await person.press("English")
    await person.press("I accept")
    # a button from an old message (the language choice, now edited away) or forged data
    answer = await person.press_data(start.message_id, "lang:de")
    assert answer.text and "out of date" in answer.text
    answer = await person.press_data(start.message_id, "hood:999999")
    assert "out of date" in answer.text
    answer = await person.press_data(start.message_id, "garbage-data")
    assert "out of date" in answer.text
    for forged in ("hood:100000000000000000000", "hood:²", "dist:-1", "page:d:99999999999:0"):
        answer = await person.press_data(start.message_id, forged)  # beyond 32 bits, not ASCII digits
        assert "out of date" in answer.text, forged
    resident = await _resident(meydan, person.id)
    assert resident.neighborhood_id is None and resident.language == "en"


async def test_declining_the_notice_saves_nothing(meydan: Meydan, sandbox) -> None:  # noqa: ANN001
    person = await sandbox.person("Ece", language_code="en")
    await person.say("/start")
    await person.press("English")
    await person.press("No, thanks")
    assert "nothing was saved" in (await person.last_message()).text
    reply = await person.say("hello")
    assert "/start" in reply.text
    assert await _resident(meydan, person.id) is None  # no row with the Telegram id or the language
    async with meydan.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(FsmRecord)) == 0  # no conversation left
    # a refusal after going back from the districts also erases what was stored
    await person.say("/start")
    await person.press("English")
    await person.press("I accept")
    assert await _resident(meydan, person.id) is not None
    await person.press("« Privacy notice")
    await person.press("No, thanks")
    assert await _resident(meydan, person.id) is None
    async with meydan.sessions() as session:  # nor the answers kept while they had accepted it
        kept = select(func.count()).where(ProcessedUpdate.answer_to == person.id)
        assert await session.scalar(kept) == 0
        assert (
            await session.scalar(select(func.count()).where(ProcessedUpdate.answer.contains(str(person.id))))
            == 0
        )


async def test_start_again_keeps_the_data(meydan: Meydan, sandbox) -> None:  # noqa: ANN001
    person = await onboard(sandbox, lang="en", district="Bornova", neighborhood="Kazımdirik")
    reply = await person.say("/start")
    assert "Kazımdirik, Bornova" in reply.text and "What would you like to do?" in reply.text
    resident = await _resident(meydan, person.id)
    assert resident.neighborhood.name == "Kazımdirik"


async def test_restart_in_the_middle_of_onboarding(state_settings, sandbox) -> None:  # noqa: ANN001
    settings = state_settings
    person = await sandbox.person("Deniz", language_code="tr", id=random.randint(10**9, 2 * 10**9))
    async with running_bot(settings, sandbox):
        await person.say("/start")
        await person.press("Türkçe")
        await person.press("Kabul ediyorum")
        await person.say("çiğli")
        await person.press("🏙 Çiğli (ilçe)")
    # the bot restarts: a new process, same database (and Redis), same Telegram
    async with running_bot(settings, sandbox) as again:
        reply = await person.say("harmandalı")
        await person.press(reply.buttons[0][0])
        async with again.sessions() as session:
            resident = await residents.by_telegram_id(session, person.id)
            hood = await session.get(
                Neighborhood, resident.neighborhood_id, options=[joinedload(Neighborhood.district)]
            )
            assert hood.name.startswith("Harmandalı") and hood.district.name == "Çiğli"


def _start_update(update_id: int, person_id: int) -> dict:
    user = {"id": person_id, "is_bot": False, "first_name": "Ali", "language_code": "tr"}
    return {
        "update_id": update_id,
        "message": {
            "message_id": 10_000 + update_id,
            "date": 1_790_000_000,
            "chat": {"id": person_id, "type": "private", "first_name": "Ali"},
            "from": user,
            "text": "/start",
            "entities": [{"type": "bot_command", "offset": 0, "length": 6}],
        },
    }


async def test_same_update_twice_is_handled_once(meydan: Meydan, sandbox) -> None:  # noqa: ANN001
    person = await sandbox.person("Ali", language_code="tr")
    await person.say("hello")  # the chat exists now
    before = len(await person.bot_messages())
    update = _start_update(900_001, person.id)
    assert await post_update(sandbox, update, meydan.webhook_secret) == 200
    assert len(await person.bot_messages()) == before + 1
    assert await post_update(sandbox, update, meydan.webhook_secret) == 200
    messages = await person.bot_messages()
    assert len(messages) == before + 2  # not handled again; they are told it came twice
    assert messages[-1].text.startswith("⚠️") and "/menu" in messages[-1].text
    async with meydan.sessions() as session:
        rows = list(
            await session.scalars(select(ProcessedUpdate).where(ProcessedUpdate.update_id == 900_001))
        )
        assert len(rows) == 1
        # nothing of a person is kept before they accept the privacy notice, not even the answer
        assert (rows[0].answer_to, rows[0].answer) == (None, None)


async def _speaks(meydan: Meydan, telegram_id: int, lang: str) -> None:
    """The person's language changed behind the bot's back: an update handled again would show it, an
    answer kept from before would not."""
    async with meydan.sessions.begin() as session:
        residents.set_language(await residents.by_telegram_id(session, telegram_id), lang)


async def test_an_answer_lost_with_its_instance_comes_on_the_second_delivery(meydan: Meydan, sandbox) -> None:  # noqa: ANN001
    """The instance committed the update and died before its answer (the webhook reply) went out:
    Telegram delivers the update again, which is not handled twice, and the person gets the answer they
    missed, once."""
    person = await onboard(sandbox, lang="en", name="Deniz")
    before = len(await person.bot_messages())
    update = _start_update(900_050, person.id)
    status, reply = await post_webhook(sandbox, update, meydan.webhook_secret)  # the reply never arrives
    assert status == 200 and reply is not None and reply["method"] == "sendMessage"
    assert len(await person.bot_messages()) == before  # lost
    await _speaks(meydan, person.id, "tr")  # handled again, /start would now answer in Turkish
    assert await post_update(sandbox, update, meydan.webhook_secret) == 200  # Telegram's retry
    messages = (await person.bot_messages())[before:]
    assert len(messages) == 1 and "Ideas" in " ".join(label for row in messages[0].buttons for label in row)
    assert await post_update(sandbox, update, meydan.webhook_secret) == 200  # and once more: the same
    assert (await person.bot_messages())[-1].text == messages[0].text
    async with meydan.sessions() as session:
        kept = await session.get(ProcessedUpdate, (meydan.bot.id, 900_050))
        assert kept.answer_to == person.id and kept.answer.startswith('[{"method":"SendMessage"')


async def test_an_answer_lost_before_a_restart_comes_from_the_restarted_bot(settings, sandbox) -> None:  # noqa: ANN001
    """The answers are kept in the database, not in the process: the whole bot restarts between the
    lost reply and Telegram's retry, and the retry still brings the answer, once."""
    async with running_bot(settings, sandbox) as first:
        person = await onboard(sandbox, lang="en", name="Mert")
        before = len(await person.bot_messages())
        update = _start_update(900_060, person.id)
        status, reply = await post_webhook(sandbox, update, first.webhook_secret)  # the reply never arrives
        assert status == 200 and reply is not None
        await _speaks(first, person.id, "tr")  # handled again, /start would now answer in Turkish
    async with running_bot(settings, sandbox) as again:  # a new process on the same database
        assert await post_update(sandbox, update, again.webhook_secret) == 200
        messages = (await person.bot_messages())[before:]
        assert len(messages) == 1 and "Ideas" in " ".join(
            label for row in messages[0].buttons for label in row
        )


async def test_a_kept_answer_telegram_refuses_is_followed_by_the_note(meydan: Meydan, sandbox) -> None:  # noqa: ANN001
    """A kept edit of a message that is gone (Telegram refuses it) leaves the person with the note, so
    that they know the update was taken and how to carry on (an edit already made brings none: see
    the ideas flow's support delivered again)."""
    person = await onboard(sandbox, lang="en", name="Ece")
    async with meydan.sessions.begin() as session:  # what the dead instance committed and kept
        await claim(session, meydan.bot.id, 900_070)
        edit = EditMessageText(chat_id=person.id, message_id=987_654, text="Gone")
        await keep(session, meydan.bot.id, 900_070, person.id, [entry(edit)])
    before = len(await person.bot_messages())
    assert await post_update(sandbox, _start_update(900_070, person.id), meydan.webhook_secret) == 200
    messages = (await person.bot_messages())[before:]
    assert len(messages) == 1 and "reached Meydan a second time" in messages[0].text


async def test_an_update_recorded_by_an_instance_that_died_before_answering(meydan: Meydan, sandbox) -> None:  # noqa: ANN001
    """An instance committed what an update did, with no answer kept (one that uploads a file, or kept
    longer than an hour ago), and died: Telegram delivers the update again, which is not handled twice,
    and the person hears, in their language, that it was taken and how to carry on, instead of
    nothing."""
    for lang, expected in (("en", "reached Meydan a second time"), ("tr", "Meydan'a ikinci kez")):
        person = await onboard(sandbox, lang=lang, name=f"Kişi {lang}")
        before = len(await person.bot_messages())
        update = _start_update(900_100 + len(lang) + before, person.id)
        async with meydan.sessions.begin() as session:  # what the dead instance committed
            await claim(session, meydan.bot.id, update["update_id"])
        assert await post_update(sandbox, update, meydan.webhook_secret) == 200
        messages = await person.bot_messages()
        assert len(messages) == before + 1
        assert expected in messages[-1].text and "/menu" in messages[-1].text


async def test_webhook_rejects_a_wrong_secret(meydan: Meydan, sandbox) -> None:  # noqa: ANN001
    person = await sandbox.person("Veli", language_code="tr")
    assert await post_update(sandbox, _start_update(900_002, person.id), "wrong-secret") == 403
    assert await post_update(sandbox, _start_update(900_003, person.id), None) == 403
    assert await post_update(sandbox, _start_update(900_004, person.id), "sécret-ñ") == 403  # not ASCII
    assert await person.bot_messages() == []


async def test_webhook_answers_400_to_a_body_that_is_not_an_update(meydan: Meydan, sandbox) -> None:  # noqa: ANN001
    import aiohttp

    async with aiohttp.ClientSession() as http:
        async with http.get(f"{sandbox.url}/sandbox/api/bot") as resp:
            url = (await resp.json())["webhook_url"]
        headers = {"X-Telegram-Bot-Api-Secret-Token": meydan.webhook_secret}
        for body in (b"{not json", b"[1, 2]", b'{"update_id": "x"}'):
            async with http.post(
                url, data=body, headers={**headers, "Content-Type": "application/json"}
            ) as resp:
                assert resp.status == 400, body


async def test_the_settings_screen_is_read_with_the_person(meydan: Meydan, sandbox) -> None:  # noqa: ANN001
    """/settings, "« Settings" and a notification turned read the screen in the statement that reads the
    person, the update's first, and no statement of their own; what they show is what is stored, in
    the person's language."""
    person = await onboard(sandbox, lang="tr")
    statements = statements_run(meydan.sessions.kw["bind"])
    view = await person.say("/settings")
    assert "Mahalle: Pazaryeri, Konak" in view.text and "🔔 Fikirlerimle ilgili kararlar" in view.text
    [read] = statements
    assert "settings_hood" in read and "residents.telegram_id" in read
    statements.clear()
    assert (await person.press("Kapat: Fikirlerimle ilgili kararlar")).text == "Bildirimler kapatıldı."
    shown = await person.last_message()
    assert "🔕 Fikirlerimle ilgili kararlar" in shown.text and "Mahalle: Pazaryeri, Konak" in shown.text
    [read, *others] = statements  # the person's read first, with the screen beside it
    assert "settings_hood" in read
    assert not [s for s in others if s.lstrip().startswith("SELECT") and "notification_choices" in s]
    assert len([s for s in others if "INTO notification_choices" in s]) == 1
    await person.press("Gizlilik bildirimi")
    statements.clear()
    await person.press("« Ayarlar")
    assert "🔕 Fikirlerimle ilgili kararlar" in (await person.last_message()).text
    [read] = statements
    assert "settings_hood" in read
    resident = await _resident(meydan, person.id)
    async with meydan.sessions() as session:
        chosen = await session.execute(
            select(NotificationChoice.category, NotificationChoice.enabled).where(
                NotificationChoice.resident_id == resident.id
            )
        )
        assert [tuple(row) for row in chosen] == [("ideas", False)]


async def test_settings_language_neighborhood_notifications(meydan: Meydan, sandbox) -> None:  # noqa: ANN001
    person = await onboard(sandbox, lang="tr")
    view = await person.say("/settings")
    assert "Ayarlar" in view.text and "Pazaryeri, Konak" in view.text
    await person.press("Dili değiştir")
    await person.press("English")
    view = await person.last_message()
    assert "Settings" in view.text and "Language: 🇬🇧 English" in view.text
    # only the notification categories of features that exist are offered
    assert "Events near me" not in (await person.last_message()).text
    turn_off = view.button_data("Turn off: Decisions on my ideas")
    assert (await person.press("Turn off: Decisions on my ideas")).text == "Notifications off."
    assert "🔕 Decisions on my ideas" in (await person.last_message()).text
    # the same button pressed again (a double tap, or before the edit arrived) says off: it stays off
    assert (await person.press_data(view.message_id, turn_off)).text == "Notifications off."
    assert "🔕 Decisions on my ideas" in (await person.last_message()).text
    # a category that does not exist, and a button from before buttons said which way they turn
    for forged in ("set:notify-on:no-such-category", "set:notify:ideas"):
        assert "out of date" in (await person.press_data(view.message_id, forged)).text, forged
    assert "🔕 Decisions on my ideas" in (await person.last_message()).text
    # on again and off again: the one choice is written over, not added beside
    assert (await person.press("Turn on: Decisions on my ideas")).text == "Notifications on."
    assert "🔔 Decisions on my ideas" in (await person.last_message()).text
    await person.press("Turn off: Decisions on my ideas")
    assert "🔕 Decisions on my ideas" in (await person.last_message()).text
    await person.press("Change neighborhood")
    assert "« Settings" in [label for row in (await person.last_message()).buttons for label in row]
    await person.say("buca")  # the lone district match opens its neighborhoods
    await person.say("kozağaç")  # the lone neighborhood match is taken
    msgs = await person.bot_messages()
    assert "Your neighborhood is now Kozağaç, Buca" in msgs[-2].text
    assert "Neighborhood: Kozağaç, Buca" in msgs[-1].text and "🔕 Decisions on my ideas" in msgs[-1].text
    resident = await _resident(meydan, person.id)
    assert resident.language == "en" and resident.neighborhood.name == "Kozağaç"
    async with meydan.sessions() as session:
        assert await residents.notifications(session, resident.id) == {
            "ideas": False,
            "phases": True,
            "implementation": True,
            "news": True,
        }
        chosen = await session.scalars(
            select(NotificationChoice.category).where(NotificationChoice.resident_id == resident.id)
        )
        assert chosen.all() == ["ideas"]


async def test_cancel_and_help(meydan: Meydan, sandbox) -> None:  # noqa: ANN001
    person = await sandbox.person("Efe", language_code="en")
    assert "nothing to cancel" in (await person.say("/cancel")).text
    await person.say("/start")
    assert "Cancelled" in (await person.say("/cancel")).text
    assert "/settings" in (await person.say("/help")).text


async def test_staff_ids_get_the_staff_menu(meydan: Meydan, sandbox) -> None:  # noqa: ANN001
    staff = await onboard(sandbox, lang="en", person_id=STAFF_ID)
    assert any("Staff tools" in label for row in (await staff.last_message()).buttons for label in row)
    resident = await onboard(sandbox, lang="en", name="Bob")
    assert not any("Staff tools" in label for row in (await resident.last_message()).buttons for label in row)


async def test_export_and_delete_my_data(meydan: Meydan, sandbox) -> None:  # noqa: ANN001
    import json

    person = await onboard(sandbox, lang="en", district="Buca", neighborhood="Kozağaç")
    await person.say("/settings")
    await person.press("Export my data")
    document = await person.last_message()
    assert document.document is not None and document.document["file_name"] == "meydan-my-data.json"
    data = json.loads(await fetch(sandbox, document.document["url"]))
    assert data["account"]["telegram_id"] == person.id
    assert data["account"]["place"] == {"neighborhood": "Kozağaç", "district": "Buca"}

    await person.say("/settings")
    await person.press("Delete my account")
    await person.press("No, keep it")
    assert await _resident(meydan, person.id) is not None
    await person.press("Delete my account")
    await person.press("Yes, delete my account")
    assert "deleted" in (await person.last_message()).text
    assert await _resident(meydan, person.id) is None
    async with meydan.sessions() as session:
        kept = select(func.count()).where(ProcessedUpdate.answer_to == person.id)
        assert await session.scalar(kept) == 0  # no answer kept for them, the deletion's own included
        assert (
            await session.scalar(select(func.count()).where(ProcessedUpdate.answer.contains(str(person.id))))
            == 0
        )
        gone = await session.scalar(select(Resident).where(Resident.deleted_at.is_not(None)))
        assert gone.telegram_id is None and gone.language is None and gone.neighborhood_id is None
        assert await residents.notifications(session, gone.id) == {  # no choices kept
            "ideas": True,
            "phases": True,
            "implementation": True,
            "news": True,
        }
    # coming back starts afresh
    reply = await person.say("/start")
    assert "language" in reply.text


async def test_a_failure_gets_a_polite_answer_and_a_log_line(
    meydan: Meydan,
    sandbox,
    monkeypatch,
    caplog,  # noqa: ANN001
) -> None:
    from bot.services import geography

    async def broken(*_args: object, **_kwargs: object) -> list:
        raise RuntimeError("database went away")

    person = await sandbox.person("Nur", language_code="en")
    await person.say("/start")
    await person.press("English")
    await person.press("I accept")
    monkeypatch.setattr(geography, "search_districts", broken)
    with caplog.at_level("ERROR", logger="meydan.errors"):
        reply = await person.say("konak")
    assert "something went wrong" in reply.text
    record = next(r for r in caplog.records if r.name == "meydan.errors")
    assert "update_id=" in record.getMessage() and "RuntimeError" in record.getMessage()
    assert "konak" not in record.getMessage()
    monkeypatch.undo()
    await person.say("konak")  # the step is where it was
    await person.press("🏙 Konak (district)")
    assert "Konak" in (await person.last_message()).text


async def test_double_press_and_two_messages_at_once(meydan: Meydan, sandbox) -> None:  # noqa: ANN001
    import asyncio

    person = await sandbox.person("Ozan", language_code="en")
    start = await person.say("/start")
    first, second = await asyncio.gather(person.press("English", start), person.press("English", start))
    answers = sorted((first.text or "", second.text or ""))
    assert answers[0] == "" and ("out of date" in answers[1] or "already received" in answers[1])
    assert "Privacy" in (await person.last_message()).text
    await person.press("I accept")
    # two messages at once are handled one after the other, neither lost
    await asyncio.gather(person.say("konak", check=True), person.say("buca", check=True))
    results = (await person.bot_messages())[-2:]
    assert sum("search:" in m.text for m in results) == 2
    konak = next(m for m in results if "konak" in m.text)
    await person.press("🏙 Konak (district)", konak)
    edited = next(m for m in await person.chat() if m.message_id == konak.message_id)
    assert "Which neighborhood of Konak" in edited.text


async def test_another_city_file(empty_database_url: str, settings, sandbox) -> None:  # noqa: ANN001
    from bot.config import PROJECT_ROOT

    liege = settings.model_copy(
        update={"database_url": empty_database_url, "city_file": PROJECT_ROOT / "cities" / "liege.toml"}
    )
    async with running_bot(liege, sandbox):
        person = await sandbox.person("Marie", language_code="fr")  # not spoken: the city's default, English
        first = await person.say("/start")
        assert "Choose your language" in first.text
        await person.press("English")
        await person.press("I accept")
        await person.say("saint leonard")  # the lone match is taken
        assert "Saint-Léonard, Liège" in (await person.bot_messages())[-2].text


async def test_logs_carry_no_personal_data_even_at_debug(meydan: Meydan, sandbox, caplog) -> None:  # noqa: ANN001
    import logging

    from bot.__main__ import setup_logging

    setup_logging("DEBUG")  # what LOG_LEVEL=DEBUG does
    caplog.set_level(logging.DEBUG)
    try:
        await onboard(sandbox, lang="en", district="Buca", neighborhood="Kozağaç")
        person = await sandbox.person("Zed", language_code="en")
        await person.say("/start")
        await person.say("My secret 0532 000 00 00")
    finally:
        logging.getLogger("sqlalchemy.engine").setLevel(logging.WARNING)
    ours = ("meydan", "bot", "handlers", "storage", "sqlalchemy", "aiogram")  # not the emulator's access log
    logged = "\n".join(r.getMessage() for r in caplog.records if r.name.startswith(ours))
    assert "SELECT" in logged  # the queries are logged at DEBUG…
    # …not their data (the typed number in full: SQLAlchemy's "cached since 0.0532…s ago" may hold its digits)
    assert "0532 000" not in logged and "My secret" not in logged
    assert "Kozağaç" not in logged and "Kozagac" not in logged
