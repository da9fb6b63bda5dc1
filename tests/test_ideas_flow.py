"""Ideas through the sandbox, in Turkish and English: submit (and edit from the preview), browse and
support, my ideas, moderation and the author's notices in the author's language, the staff group and
processes, and the unhappy paths (bad input, stale and forged buttons, a command without the role, two
staff members at once, a closed phase, the limit and flood control, a restart mid-form, double presses,
two updates at once, the same update twice)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from bot.app import Meydan
from bot.config import Settings
from bot.features import throttling_rates
from bot.i18n import translate
from bot.services import budgets, geography, ideas, processes, residents, roles
from bot.ui.callbacks import HubCb, ProcessCb
from bot.ui.ideas.callbacks import BrowseAction, BrowseCb, IdeaAction, IdeaCb, ModAction, ModCb
from storage.models import (
    AuditEntry,
    District,
    FsmRecord,
    Idea,
    IdeaSupport,
    Neighborhood,
    Process,
    ProcessedUpdate,
    ProcessPhase,
    Resident,
    Theme,
    utcnow,
)
from tests.conftest import STAFF_ID, running_bot, statements_run
from tests.flows import onboard, post_update, post_webhook, press_again

DESCRIPTION = "Çocuk parkında oturacak hiç yer yok; ağaçların altına birkaç bank konulsun."
SECOND_STAFF_ID = 100_000_901
NAMES = {"tr": "Ayşe", "en": "John"}
# what a person presses and reads, in each language, for the tests that run in both
WORDS = {
    "tr": {
        "ideas": "Fikirler",
        "share": "Fikir paylaş",
        "green": "Yeşil alanlar ve parklar",
        "send": "Gönder",
        "mine": "Fikirlerim",
        "withdraw": "Geri çek",
        "withdraw_yes": "Evet, geri çek",
        "waiting": "incelenmeyi bekliyor",
        "withdrawn": "geri çekildi",
        "was_withdrawn": "numaralı fikir geri çekildi",
        "cancelled": "İptal edildi",
        "out_of_date": "süresi geçmiş",
        "not_understood": "Bunu anlayamadım",
        "opens": "tarihinde açılıyor",
        "closed": "tarihinde kapandı",
        "discarded": "gönderilemedi ve silindi",
    },
    "en": {
        "ideas": "Ideas",
        "share": "Share an idea",
        "green": "Green spaces and parks",
        "send": "Send",
        "mine": "My ideas",
        "withdraw": "Withdraw",
        "withdraw_yes": "Yes, withdraw it",
        "waiting": "waiting for review",
        "withdrawn": "withdrawn",
        "was_withdrawn": "was withdrawn",
        "cancelled": "Cancelled",
        "out_of_date": "out of date",
        "not_understood": "did not understand",
        "opens": "opens on",
        "closed": "closed on",
        "discarded": "could not be sent and was discarded",
    },
}


# --- helpers ---------------------------------------------------------------------------------------


async def _process(meydan: Meydan, *, key: str = "birlikte", limit: int = 3, days: int = 10, **extra) -> int:  # noqa: ANN003
    now = utcnow()
    async with meydan.sessions.begin() as session:
        process = await processes.create(
            session,
            key=key,
            names={"tr": "Birlikte Tasarlayalım", "en": "Design Together"},
            opens_at=extra.pop("opens_at", now - timedelta(days=1)),
            closes_at=extra.pop("closes_at", now + timedelta(days=days)),
            idea_limit=limit,
            **extra,
        )
        return process.id


async def _ideas(meydan: Meydan) -> list[Idea]:
    async with meydan.sessions() as session:
        return list(await session.scalars(select(Idea).order_by(Idea.id)))


async def _turn_into_project(meydan: Meydan, staff, idea_id: int) -> None:  # noqa: ANN001
    """Staff turn a published idea into a budget project: a pot in its process first, then the project
    form from the idea card, prefilled from the idea (the other language copied, a cost, no note)."""
    async with meydan.sessions.begin() as session:
        idea = await session.get(Idea, idea_id)
        process = await processes.get(session, idea.process_id)
        if not await budgets.pots_of(session, process.id):
            await budgets.create_pot(session, process, names={"tr": "Şehir bütçesi", "en": "City budget"},
                                     budget=5_000_000)  # fmt: skip
    await staff.say("/admin")
    await staff.press("Published ideas")
    await staff.press(f"#{idea_id}")
    await staff.press("Turn into a project")
    for _ in range(8):
        asked = await staff.last_message()
        labels = _labels(asked)
        if any("Send" in label for label in labels):
            await staff.press("Send")
            return
        if any(label.startswith("📋") for label in labels):
            await staff.press("📋")
        elif "cost" in asked.text:
            await staff.say("250.000")
        elif any("No note" in label for label in labels):
            await staff.press("No note")
        else:
            raise AssertionError(f"unexpected step: {asked.text!r}")
    raise AssertionError("the project form did not reach its preview")


async def _seed_idea(
    meydan: Meydan,
    process_id: int,
    title: str,
    *,
    author_tg: int,
    status: str = ideas.APPROVED,
    hood: tuple[str, str] = ("konak", "pazaryeri"),
    theme: str = "green",
    photo: str | None = None,
    supporters: tuple[int, ...] = (),
    scope: str = ideas.SCOPE_NEIGHBORHOOD,
    spot: tuple[str, str] | None = None,
) -> int:
    """An idea written straight into the database, by a resident who never talks to the bot (the
    author, like the `supporters`, is given by a Telegram id and made a resident when new); `spot`, a
    typed place it is about."""
    async with meydan.sessions.begin() as session:

        async def neighborhood(keys: tuple[str, str]) -> Neighborhood:
            return await session.scalar(
                select(Neighborhood)
                .join(District)
                .where(District.key == keys[0], Neighborhood.key == keys[1])
            )

        place = await neighborhood(hood)
        author = (await residents.get_or_create(session, author_tg)).resident
        if author.language is None:
            residents.set_language(author, "tr")
            await residents.accept_privacy(session, author)
            await residents.set_neighborhood(session, author, place.id)
        theme_row = await session.scalar(select(Theme).where(Theme.key == theme))
        idea = Idea(
            process_id=process_id,
            author_id=author.id,
            neighborhood_id=place.id,
            theme_id=theme_row.id,
            title=title,
            description=DESCRIPTION,
            photo_file_id=photo,
            status=status,
            scope=scope,
            place_id=(await neighborhood(spot)).id if spot else None,
        )
        session.add(idea)
        await session.flush()
        for telegram_id in supporters:
            fan = (await residents.get_or_create(session, telegram_id)).resident
            session.add(IdeaSupport(idea_id=idea.id, resident_id=fan.id))
        return idea.id


async def _fill_form(  # noqa: ANN001
    person,
    lang: str = "tr",
    *,
    title: str = "Parka gölgelik",
    photo: bool = False,
    location: tuple[float, float] | None = None,
) -> None:
    """From the main menu to the preview: theme, title, description, (photo), (location), the city."""
    labels = {
        "tr": ("Fikirler", "Fikir paylaş", "Yeşil alanlar", "Atla", "Bütün şehir"),
        "en": ("Ideas", "Share an idea", "Green spaces", "Skip", "The whole city"),
    }[lang]
    await person.say("/menu")
    await person.press(labels[0])
    await person.press(labels[1])
    await person.press(labels[2])
    await person.say(title)
    await person.say(DESCRIPTION)
    if photo:
        await person.send_photo()
    else:
        await person.press(labels[3])
    if location:
        await person.share_location(*location)
    else:
        await person.press(labels[3])
    await person.press(labels[4])


async def _message(person, message_id: int):  # noqa: ANN001, ANN202
    """A message of the chat as it is now (after edits)."""
    return next(m for m in await person.chat() if m.message_id == message_id)


def _labels(message) -> list[str]:  # noqa: ANN001
    return [label for row in message.buttons for label in row]


# --- submitting ------------------------------------------------------------------------------------


async def test_submit_in_turkish_with_photo_and_location(meydan: Meydan, sandbox) -> None:  # noqa: ANN001
    await _process(meydan)
    ayse = await onboard(sandbox, lang="tr")
    await ayse.say("/menu")
    await ayse.press("💡 Fikirler")
    home = await ayse.last_message()
    assert "Birlikte Tasarlayalım" in home.text and "tarihine kadar bekliyoruz" in home.text
    await ayse.press("Fikir paylaş")
    step = await ayse.last_message()
    assert "Adım 1/6" in step.text and "hangi temayla" in step.text
    await ayse.press("Yeşil alanlar ve parklar")
    assert "kısa bir başlık" in (await ayse.last_message()).text
    reply = await ayse.say("Pazaryeri parkına gölgelik")
    assert "Adım 3/6" in reply.text
    reply = await ayse.say(DESCRIPTION)
    assert "fotoğrafını gönderin" in reply.text
    reply = await ayse.send_photo()
    assert "konumunu paylaşın" in reply.text
    reply = await ayse.share_location(38.4125, 27.1382)
    assert "bütün şehir için mi" in reply.text
    await ayse.press("Bütün şehir")
    preview = await ayse.last_message()
    assert preview.photo is not None and "Önizleme" in preview.caption
    assert "Pazaryeri parkına gölgelik" in preview.caption and "Şehir geneli" in preview.caption
    assert "mlat=38.41250" in preview.html and "38.41250, 27.13820" not in preview.caption  # a map link
    await ayse.press("Gönder")
    receipt = await ayse.last_message()
    [idea] = await _ideas(meydan)
    assert f"#{idea.id}" in receipt.text and "Teşekkürler" in receipt.text
    assert idea.status == ideas.PENDING and idea.scope == ideas.SCOPE_CITY
    assert idea.photo_file_id == preview.photo["file_id"]
    assert (idea.latitude, idea.longitude) == (38.4125, 27.1382)
    assert idea.title == "Pazaryeri parkına gölgelik" and idea.description == DESCRIPTION
    assert (await ayse.bot_messages())[-2].reply_markup in (
        None,
        {},
        {"inline_keyboard": []},
    )  # no second Send


async def test_submit_in_english_skipping_and_editing(meydan: Meydan, sandbox) -> None:  # noqa: ANN001
    await _process(meydan)
    john = await onboard(sandbox, name="John", lang="en", district="Karşıyaka", neighborhood="Bostanlı")
    await _fill_form(john, "en", title="Benches in the park")
    preview = await john.last_message()
    assert "Preview" in preview.text and "No photo" in preview.text and "No location" in preview.text
    await john.press("Edit")
    await john.press("Title")
    prompt = await john.last_message()
    assert "Current: Benches in the park" in prompt.text
    assert "too long" in (await john.say("z" * 121)).text  # while editing, the same rules and answers
    assert "needs words" in (await john.say("👍 👍 👍")).text
    await john.send_sticker("🪑")
    assert "type the title as text" in (await john.last_message()).text
    reply = await john.say("More benches along the seaside")
    assert "Preview" in reply.text and "More benches along the seaside" in reply.text
    await john.press("Edit")
    await john.press("Neighborhood or city")
    await john.press("My neighborhood: Bostanlı")
    await john.press("Send")
    receipt = await john.last_message()
    [idea] = await _ideas(meydan)
    assert f"#{idea.id}" in receipt.text and "Thank you" in receipt.text
    assert idea.title == "More benches along the seaside" and idea.scope == ideas.SCOPE_NEIGHBORHOOD
    assert idea.photo_file_id is None and idea.latitude is None


async def test_edit_from_the_preview_returns_to_the_preview(meydan: Meydan, sandbox) -> None:  # noqa: ANN001
    process_id = await _process(meydan)
    existing = await _seed_idea(meydan, process_id, "Çocuk parkına bank konulsun", author_tg=100_000_988)
    ayse = await onboard(sandbox, lang="tr")
    await _fill_form(ayse, title="Parka gölgelik")
    preview = await ayse.last_message()
    assert "Fotoğraf yok" in preview.text and "Konum yok" in preview.text and "Şehir geneli" in preview.text
    await ayse.press("Düzenle")
    assert "Neyi değiştirmek istersiniz?" in (await ayse.last_message()).text
    await ayse.press("Önizlemeye dön")  # nothing changed: back to the same preview
    assert "Önizleme" in (await ayse.last_message()).text
    await ayse.press("Düzenle")
    await ayse.press("Tema")
    themes = await ayse.last_message()
    assert "✓ Yeşil alanlar ve parklar" in _labels(themes) and "Önizlemeye dön" in _labels(themes)[-1]
    await ayse.press("Çocuklar ve gençler")
    preview = await ayse.last_message()
    assert "Önizleme" in preview.text and "Çocuklar ve gençler" in preview.text
    await ayse.press("Düzenle")
    await ayse.press("Başlık")
    offer = await ayse.say("Parka banklar konulsun")  # like a published idea: offered, as on the way in
    assert f"#{existing}" in offer.text and "Önizlemeye dön" in _labels(offer)[-1]
    assert not any("Vazgeç" in label for label in _labels(offer))  # editing never discards the draft
    await ayse.press("Benimki farklı")
    assert "Parka banklar konulsun" in (await ayse.last_message()).text
    await ayse.press("Düzenle")
    await ayse.press("Açıklama")
    reply = await ayse.say("Parkın güney köşesine çocuklar için bir gölgelik yapılsın.")
    assert "Önizleme" in reply.text and "güney köşesine" in reply.text
    await ayse.press("Düzenle")
    await ayse.press("Konum")
    reply = await ayse.share_location(38.4189, 27.1287)
    assert "Önizleme" in reply.text and "mlat=38.41890" in reply.html
    await ayse.press("Düzenle")
    await ayse.press("Fotoğraf")
    preview = await ayse.send_photo()  # a photo added from the preview: the preview shows it
    assert preview.photo is not None and "Fotoğraflı" in preview.caption and "Önizleme" in preview.caption
    await ayse.press("Düzenle")
    await ayse.press("Konum")
    await ayse.press("Konumu kaldır")
    preview = await ayse.last_message()
    assert "Konum yok" in preview.caption and "Fotoğraflı" in preview.caption
    await ayse.press("Düzenle")
    await ayse.press("Mahalle ya da şehir")
    await ayse.press("Mahallem: Pazaryeri")
    preview = await ayse.last_message()
    assert "🏘 Pazaryeri, Konak" in preview.caption and "Adım" not in preview.caption
    assert [i.id for i in await _ideas(meydan)] == [existing]  # editing saves nothing
    await ayse.press("Gönder")
    *_, idea = await _ideas(meydan)
    assert idea.id != existing and len(await _ideas(meydan)) == 2
    assert idea.title == "Parka banklar konulsun" and idea.description.startswith("Parkın güney köşesine")
    assert idea.photo_file_id == preview.photo["file_id"] and idea.latitude is None
    assert idea.scope == ideas.SCOPE_NEIGHBORHOOD
    async with meydan.sessions() as session:
        assert (await session.get(Theme, idea.theme_id)).key == "children-youth"


async def test_bad_input_gets_a_clear_answer_and_the_form_stays(meydan: Meydan, sandbox) -> None:  # noqa: ANN001
    await _process(meydan)
    ayse = await onboard(sandbox, lang="tr")
    await ayse.say("/menu")
    await ayse.press("Fikirler")
    await ayse.press("Fikir paylaş")
    reply = await ayse.say("merhaba")  # text where a button is expected
    assert "düğmeleri kullanın" in reply.text and "Adım 1/6" in reply.text  # the hint, and the step again
    await ayse.press("Yeşil alanlar ve parklar")
    assert "çok uzun" in (await ayse.say("x" * 121)).text
    assert "çok kısa" in (await ayse.say("ab")).text
    assert "hiç kelime yok" in (await ayse.say("...")).text  # as good as empty
    await ayse.send_sticker("🌳")
    assert "metin olarak yazın" in (await ayse.last_message()).text
    await ayse.send_photo()
    assert "fotoğraf başlık olamaz" in (await ayse.last_message()).text
    assert "metin olarak yazın" in (await ayse.say("/bilinmeyen")).text
    assert "Adım 3/6" in (await ayse.say("  Parka   gölgelik  ")).text
    assert "çok uzun" in (await ayse.say("y" * 2001)).text
    assert "çok kısa" in (await ayse.say("kısa")).text
    assert "hiç kelime yok" in (await ayse.say("!!!!!!!!!!!!")).text
    await ayse.send_photo()
    assert "sonraki adımda fotoğraf" in (await ayse.last_message()).text
    await ayse.say(DESCRIPTION)
    assert "fotoğraf gönderin" in (await ayse.say("işte fotoğraf")).text  # text where a photo is allowed
    await ayse.send_document(b"%PDF-1.4", "plan.pdf")
    assert "görsel dosyası" in (await ayse.last_message()).text  # a PDF is not a picture
    await ayse.send_sticker("📷")
    assert "Atla" in _labels(await ayse.last_message())[0]
    await ayse.press("Atla")
    outside = await ayse.share_location(41.0082, 28.9784)  # Istanbul
    assert "İzmir sınırlarının dışında" in outside.text
    assert "konum paylaşın" in (await ayse.say("Konak meydanı")).text
    await ayse.share_location(38.4189, 27.1287)
    await ayse.press("Mahallem: Pazaryeri")
    preview = await ayse.last_message()
    assert "Parka gölgelik" in preview.text and "mlat=38.41890" in preview.html
    assert await _ideas(meydan) == []  # nothing saved before Send
    await ayse.press("Gönder")
    [idea] = await _ideas(meydan)
    assert idea.title == "Parka gölgelik" and idea.latitude == 38.4189


@pytest.mark.parametrize("lang", ["tr", "en"])
async def test_cancel_discards_the_draft_and_old_buttons_are_out_of_date(
    meydan: Meydan,
    sandbox,  # noqa: ANN001
    lang: str,
) -> None:
    words = WORDS[lang]
    await _process(meydan)
    person = await onboard(sandbox, name=NAMES[lang], lang=lang)
    await person.say("/menu")
    await person.press(words["ideas"])
    await person.press(words["share"])
    themes = await person.last_message()
    theme_data = themes.button_data(words["green"])
    await person.press(words["green"])
    await person.say("Parka bank")
    assert words["cancelled"] in (await person.say("/cancel")).text
    answer = await person.press_data(themes.message_id, theme_data)  # a button from the old form
    assert answer.show_alert and words["out_of_date"] in answer.text
    assert words["not_understood"] in (await person.say("Hiçbir yere gitmeyen bir açıklama")).text
    await _fill_form(person, lang)
    preview = await person.last_message()
    send_data = preview.button_data(words["send"])
    await person.press(words["send"])
    await asyncio.sleep(2.1)  # past the throttle: the old Send button is simply out of date now
    answer = await person.press_data(preview.message_id, send_data)
    assert answer.show_alert and words["out_of_date"] in answer.text
    assert len(await _ideas(meydan)) == 1


async def test_restart_in_the_middle_of_the_form(settings: Settings, sandbox) -> None:  # noqa: ANN001
    async with running_bot(settings, sandbox) as first:
        await _process(first)
        ayse = await onboard(sandbox, lang="tr")
        await ayse.say("/menu")
        await ayse.press("Fikirler")
        await ayse.press("Fikir paylaş")
        await ayse.press("Kültür ve sanat")
        await ayse.say("Mahalle kütüphanesi")
    # a new process on the same database and the same Telegram: the draft is still there
    async with running_bot(settings, sandbox) as second:
        reply = await ayse.say("Eski muhtarlık binası hafta sonları kütüphane olarak açılsın.")
        assert "Adım 4/6" in reply.text
        await ayse.press("Atla")
        await ayse.press("Atla")
        await ayse.press("Mahallem: Pazaryeri")
        preview = await ayse.last_message()
        assert "Mahalle kütüphanesi" in preview.text and "Kültür ve sanat" in preview.text
        await ayse.press("Gönder")
        [idea] = await _ideas(second)
        assert idea.title == "Mahalle kütüphanesi" and idea.status == ideas.PENDING


@pytest.mark.parametrize("lang", ["tr", "en"])
async def test_submission_only_while_the_phase_is_open(meydan: Meydan, sandbox, lang: str) -> None:  # noqa: ANN001
    words = WORDS[lang]
    now = utcnow()
    process_id = await _process(meydan, opens_at=now + timedelta(days=2), closes_at=now + timedelta(days=9))
    john = await onboard(sandbox, name=NAMES[lang], lang=lang)
    await john.say("/menu")
    await john.press(words["ideas"])
    await john.press(words["share"])
    assert words["opens"] in (await john.last_message()).text
    async with meydan.sessions.begin() as session:
        await session.execute(
            update(ProcessPhase)
            .where(ProcessPhase.process_id == process_id)
            .values(starts_at=now - timedelta(days=1))
        )
    await _fill_form(john, lang)
    # the phase closes while the preview is on screen
    async with meydan.sessions.begin() as session:
        await session.execute(
            update(ProcessPhase).where(ProcessPhase.process_id == process_id).values(ends_at=utcnow())
        )
    await john.press(words["send"])
    reply = await john.last_message()
    assert words["closed"] in reply.text and words["discarded"] in reply.text
    assert await _ideas(meydan) == []
    await john.say("/menu")
    await john.press(words["ideas"])
    assert words["closed"] in (await john.last_message()).text
    await john.press(words["share"])
    assert words["closed"] in (await john.last_message()).text
    # a forged button for the closed process starts nothing
    await john.press_data(
        (await john.last_message()).message_id, IdeaCb(action=IdeaAction.PROCESS, id=process_id).pack()
    )
    assert words["closed"] in (await john.last_message()).text


async def test_limit_per_resident(meydan: Meydan, sandbox) -> None:  # noqa: ANN001
    await _process(meydan, limit=1)
    ayse = await onboard(sandbox, lang="tr")
    await _fill_form(ayse)
    await ayse.press("Gönder")
    await ayse.say("/menu")
    await ayse.press("Fikirler")
    await ayse.press("Fikir paylaş")
    assert "zaten 1 fikir gönderdiniz" in (await ayse.last_message()).text
    assert len(await _ideas(meydan)) == 1


async def test_flood_control_keeps_the_draft_at_the_preview(meydan: Meydan, sandbox) -> None:  # noqa: ANN001
    process_id = await _process(meydan, limit=10)
    john = await onboard(sandbox, name="John", lang="en")
    await _fill_form(john, "en", title="Benches")
    for n in range(ideas.FLOOD_COUNT):  # sent just now, by other means
        await _seed_idea(meydan, process_id, f"Earlier idea {n}", author_tg=john.id, status=ideas.PENDING)
    answer = await john.press("Send")
    assert answer.show_alert and "wait 10 minutes" in answer.text
    preview = await john.last_message()
    assert "Preview" in preview.text and "Send" in " ".join(_labels(preview))  # the form stays
    assert len(await _ideas(meydan)) == ideas.FLOOD_COUNT
    async with meydan.sessions.begin() as session:  # ten minutes later
        await session.execute(update(Idea).values(created_at=utcnow() - timedelta(minutes=11)))
    await asyncio.sleep(2.1)  # past the Send throttle
    await john.press("Send")
    assert "Thank you" in (await john.last_message()).text
    assert (await _ideas(meydan))[-1].title == "Benches"


async def test_similar_ideas_are_offered_before_sending(meydan: Meydan, sandbox) -> None:  # noqa: ANN001
    process_id = await _process(meydan)
    existing = await _seed_idea(meydan, process_id, "Çocuk parkına bank konulsun", author_tg=100_000_960)
    ayse = await onboard(sandbox, lang="tr")
    await ayse.say("/menu")
    await ayse.press("Fikirler")
    await ayse.press("Fikir paylaş")
    await ayse.press("Yeşil alanlar ve parklar")
    offer = await ayse.say("PARKA BANKLAR, çocuklar için")
    assert "benzeyen fikirler" in offer.text and f"#{existing}" in offer.text
    await ayse.press(f"#{existing} numaralı fikri destekle")
    assert "artık" in (await ayse.last_message()).text
    assert await _ideas(meydan) and len(await _ideas(meydan)) == 1  # only the existing one
    async with meydan.sessions() as session:
        assert await ideas.support_count(session, existing) == 1
    # "mine is different" continues the form
    john = await onboard(sandbox, name="John", lang="en")
    await john.say("/menu")
    await john.press("Ideas")
    await john.press("Share an idea")
    await john.press("Green spaces and parks")
    await john.say("Parka bank konulsun")
    await john.press("Mine is different")
    assert "Step 3 of 6" in (await john.last_message()).text


# --- browsing and supporting -----------------------------------------------------------------------


@pytest.fixture
async def unscheduled(settings: Settings, sandbox) -> AsyncIterator[Meydan]:  # noqa: ANN001
    """The bot with no scheduler beside it, for a test that looks at the statements a press runs: the
    scheduler's phase sync (every minute) reads `process_phases` too."""
    async with running_bot(settings.model_copy(update={"scheduler": False}), sandbox) as app:
        yield app


async def test_browse_page_sort_filter_and_support_once(unscheduled: Meydan, sandbox) -> None:  # noqa: ANN001
    meydan = unscheduled
    process_id = await _process(meydan)
    photographer = await sandbox.person("Foto", language_code="tr")
    await photographer.send_photo()  # a photo the emulator knows, to reuse by its file_id
    file_id = next(m for m in await photographer.chat() if m.photo).photo["file_id"]
    made = []
    for n in range(7):
        made.append(
            await _seed_idea(
                meydan,
                process_id,
                f"Fikir numara {n}",
                author_tg=100_000_970 + n,
                hood=("karsiyaka", "bostanli") if n == 3 else ("konak", "pazaryeri"),
                theme="culture" if n == 5 else "green",
                photo=file_id if n == 6 else None,
            )
        )
    await _seed_idea(meydan, process_id, "Bekleyen fikir", author_tg=100_000_980, status=ideas.PENDING)
    john = await onboard(sandbox, name="John", lang="en")
    await john.say("/menu")
    await john.press("Ideas")
    await john.press("Browse ideas")
    page = await john.last_message()
    assert "newest first" in page.text and "1/2" in _labels(page)
    assert f"#{made[6]}" in page.text and f"#{made[1]}" not in page.text and "Bekleyen" not in page.text
    statements = statements_run(meydan.sessions.kw["bind"])
    await john.press("▶")
    page = await john.last_message()
    assert f"#{made[0]}" in page.text and "2/2" in _labels(page)
    assert "Ideas · Design Together" in page.text  # a page names its process, and reads only that of it
    assert not [s for s in statements if "process_phases" in s or "FROM processes LEFT" in s]
    [read] = statements  # the page is read in the person's read (`ideas.list_beside`)
    assert "residents" in read and ("json_agg" in read or "json_group_array" in read), read
    await john.press("By theme")
    await john.press("Culture and the arts (1)")
    page = await john.last_message()
    assert f"#{made[5]}" in page.text and f"#{made[4]}" not in page.text
    await john.press("By neighborhood")
    await john.press("Bostanlı (1)")
    assert "No published ideas here yet." in (await john.last_message()).text  # theme and place together
    await john.press("By theme")
    await john.press("All themes")
    page = await john.last_message()
    assert f"#{made[3]}" in page.text and "Bostanlı" in page.text
    await john.press("By neighborhood")
    await john.press("All neighborhoods")
    opened = len(statements)
    await john.press(f"#{made[6]}")
    card = await john.last_message()
    assert card.photo is not None and "Fikir numara 6" in card.caption and "Supporters: 0" in card.caption
    [read] = statements[opened:]  # the card is read in the person's read (`ideas.CARD_BESIDE`)
    assert "FROM (SELECT" in read and "residents" in read and "themes" in read, read
    opened = len(statements)
    answer = await john.press("Support · 0")
    assert "You support this idea" in answer.text
    card = await john.last_message()
    assert "Supporters: 1" in card.caption and "You support this · 1" in _labels(card)[0]
    counts = [s for s in statements[opened:] if "count(*)" in s and "idea_supports" in s]
    if meydan.sessions.kw["bind"].dialect.name == "postgresql":  # the count in the insert's statement
        assert len(counts) == 1 and "INSERT INTO idea_supports" in counts[0], counts
    else:
        assert len(counts) == 1 and counts[0].startswith("SELECT count(*)"), counts
    await asyncio.sleep(0.8)
    await john.press("You support this")
    assert "Supporters: 0" in (await john.last_message()).caption
    await asyncio.sleep(0.8)
    await john.press("Support · 0")
    await john.press("Back to the list")
    opened = len(statements)
    await john.press("Most supported first")
    top = await john.last_message()
    assert top.text.index(f"#{made[6]}") < top.text.index(f"#{made[5]}")
    assert len(statements[opened:]) == 1  # the page, in the person's read
    async with meydan.sessions() as session:
        assert await ideas.support_count(session, made[6]) == 1
        total = await session.scalar(select(func.count()).select_from(IdeaSupport))
        assert total == 1


async def test_browse_and_support_in_turkish(meydan: Meydan, sandbox) -> None:  # noqa: ANN001
    process_id = await _process(meydan)
    photographer = await sandbox.person("Foto", language_code="tr")
    await photographer.send_photo()  # a photo the emulator knows, to reuse by its file_id
    file_id = next(m for m in await photographer.chat() if m.photo).photo["file_id"]
    made = [
        await _seed_idea(
            meydan,
            process_id,
            f"Sahil fikri {n}",
            author_tg=100_000_970 + n,
            theme="culture" if n == 1 else "green",
            photo=file_id if n == 0 else None,
            supporters=(100_000_990, 100_000_991) if n == 2 else (),
            scope=ideas.SCOPE_CITY if n == 0 else ideas.SCOPE_NEIGHBORHOOD,
            spot=("buca", "kozagac") if n == 0 else None,
        )
        for n in range(6)
    ]
    ayse = await onboard(sandbox, lang="tr")
    await ayse.say("/menu")
    await ayse.press("Fikirler")
    await ayse.press("Fikirlere göz at")
    page = await ayse.last_message()
    assert "önce en yeniler · tüm mahalleler · tüm temalar" in page.text and "1/2" in _labels(page)
    assert f"#{made[5]}" in page.text and f"#{made[0]}" not in page.text
    await ayse.press("▶")
    page = await ayse.last_message()
    assert f"#{made[0]}" in page.text and "2/2" in _labels(page)
    await ayse.press(f"#{made[0]}")
    card = await ayse.last_message()
    assert card.photo is not None and "Sahil fikri 0" in card.caption and "Destek: 0" in card.caption
    # the theme in her language, the city-wide scope with the author's neighborhood, the typed place
    shown = [
        "🏷 Yeşil alanlar",
        "🌆 Şehir geneli (gönderildiği yer: Pazaryeri, Konak)",
        "📌 Yer: Kozağaç, Buca",
    ]
    assert all(line in card.caption for line in shown) and DESCRIPTION in card.caption
    assert "Bu fikri destekliyorsunuz" in (await ayse.press("Destekle · 0")).text
    card = await ayse.last_message()
    assert "Destek: 1" in card.caption and "Destekliyorsunuz · 1" in _labels(card)[0]
    assert all(line in card.caption for line in shown)  # the card after a support, read as it was
    await asyncio.sleep(0.8)
    assert "artık desteklemiyorsunuz" in (await ayse.press("Destekliyorsunuz")).text
    assert "Destek: 0" in (await ayse.last_message()).caption
    await asyncio.sleep(0.8)
    await ayse.press("Destekle · 0")
    await ayse.press("Listeye dön")
    await ayse.press("Önce en çok desteklenenler")
    top = await ayse.last_message()
    assert "önce en çok desteklenenler" in top.text
    assert top.text.index(f"#{made[2]}") < top.text.index(f"#{made[0]}") < top.text.index(f"#{made[5]}")
    await ayse.press("Temaya göre")
    await ayse.press("Kültür ve sanat (1)")
    page = await ayse.last_message()
    assert f"#{made[1]}" in page.text and f"#{made[2]}" not in page.text and "Kültür ve sanat" in page.text
    await ayse.press("Mahalleye göre")
    await ayse.press("Mahallem")
    assert f"#{made[1]}" in (await ayse.last_message()).text  # her neighborhood and the theme together
    async with meydan.sessions() as session:
        assert await ideas.support_count(session, made[0]) == 1
        assert await ideas.support_count(session, made[2]) == 2


async def test_forged_buttons_change_nothing(meydan: Meydan, sandbox) -> None:  # noqa: ANN001
    process_id = await _process(meydan)
    rejected = await _seed_idea(
        meydan, process_id, "Reddedilen", author_tg=100_000_961, status=ideas.REJECTED
    )
    pending = await _seed_idea(meydan, process_id, "Bekleyen", author_tg=100_000_962, status=ideas.PENDING)
    ayse = await onboard(sandbox, lang="tr")
    menu = await ayse.last_message()
    support = BrowseCb(action=BrowseAction.SUPPORT, process=process_id, idea=rejected).pack()
    answer = await ayse.press_data(menu.message_id, support)
    assert answer.show_alert and "desteklenemez" in answer.text
    take_back = BrowseCb(action=BrowseAction.UNSUPPORT, process=process_id, idea=rejected).pack()
    answer = await ayse.press_data(menu.message_id, take_back)  # taking back is checked as giving is
    assert answer.show_alert and "desteklenemez" in answer.text
    answer = await ayse.press_data(
        menu.message_id, BrowseCb(action=BrowseAction.VIEW, process=process_id, idea=pending).pack()
    )
    assert answer.show_alert and "yayımlanmamış" in answer.text
    gone = BrowseCb(action=BrowseAction.LIST, process=process_id + 99).pack()  # a list of no process
    answer = await ayse.press_data(menu.message_id, gone)
    assert answer.show_alert and "süreci artık yok" in answer.text
    for action in ("approve", "hide", "author", "queue"):
        answer = await ayse.press_data(menu.message_id, ModCb(action=action, id=pending).pack())
        assert answer.show_alert and "yalnızca belediye ekibi" in answer.text
    answer = await ayse.press_data(
        menu.message_id, ModCb(action=ModAction.REJECT_REASON, id=pending, value="vague").pack()
    )
    assert "yalnızca belediye ekibi" in answer.text
    answer = await ayse.press_data(
        menu.message_id, IdeaCb(action=IdeaAction.WITHDRAW_CONFIRM, id=pending).pack()
    )
    assert answer.show_alert and "kendi fikirlerinizi" in answer.text
    for data in (ProcessCb(action="new"), ProcessCb(action="create"), HubCb(section="ideas-queue")):
        answer = await ayse.press_data(menu.message_id, data.pack())
        assert answer.show_alert and "yalnızca belediye ekibi" in answer.text
    assert "yalnızca belediye ekibi" in (await ayse.say("/admin")).text
    async with meydan.sessions() as session:
        statuses = dict((await session.execute(select(Idea.id, Idea.status))).all())
        assert statuses == {rejected: ideas.REJECTED, pending: ideas.PENDING}
        assert await session.scalar(select(func.count()).select_from(IdeaSupport)) == 0
        assert await session.scalar(select(func.count()).where(AuditEntry.object_type == "idea")) == 0


@pytest.mark.parametrize("lang", ["tr", "en"])
async def test_my_ideas_and_withdraw(meydan: Meydan, sandbox, lang: str) -> None:  # noqa: ANN001
    words = WORDS[lang]
    await _process(meydan)
    person = await onboard(sandbox, name=NAMES[lang], lang=lang)
    await _fill_form(person, lang, title="Merdivenlere ışık")
    await person.press(words["send"])
    await person.press(words["mine"])
    mine = await person.last_message()
    assert f"Merdivenlere ışık: {words['waiting']}" in mine.text
    [idea] = await _ideas(meydan)
    await person.press(f"#{idea.id}")
    card = await person.last_message()
    assert "Merdivenlere ışık" in card.text and words["waiting"] in card.text
    await person.press(words["withdraw"])
    await person.press(words["withdraw_yes"])
    assert words["was_withdrawn"] in (await person.last_message()).text
    answer = await person.press_data(
        card.message_id, IdeaCb(action=IdeaAction.WITHDRAW_CONFIRM, id=idea.id).pack()
    )
    assert answer.show_alert  # an old Withdraw button: already withdrawn
    await person.press(words["mine"])
    assert f"Merdivenlere ışık: {words['withdrawn']}" in (await person.last_message()).text
    assert (await _ideas(meydan))[0].status == ideas.WITHDRAWN


# --- staff -----------------------------------------------------------------------------------------


async def test_moderation_approve_then_project_and_the_author_is_told(meydan: Meydan, sandbox) -> None:  # noqa: ANN001
    await _process(meydan)
    ayse = await onboard(sandbox, name="Ayşe", lang="tr")
    await _fill_form(ayse, title="Pazaryeri'ne gölgelik", photo=True, location=(38.4189, 27.1287))
    await ayse.press("Gönder")
    [idea] = await _ideas(meydan)
    staff = await onboard(sandbox, name="Selin", lang="en", person_id=STAFF_ID)
    await staff.say("/menu")
    await staff.press("Staff tools")
    hub = await staff.last_message()
    assert "🗂 Ideas to review (1)" in [label for row in hub.buttons for label in row]
    await staff.press("Ideas to review (1)")
    card = await staff.last_message()
    assert card.photo is not None
    assert (
        "Pazaryeri'ne gölgelik" in card.caption and "Author's neighborhood: Pazaryeri, Konak" in card.caption
    )
    assert "📌 Location: see it on the map" in card.caption
    assert "Ayşe" not in card.caption and str(ayse.id) not in card.caption  # never the author's identity
    assert str(ayse.id) not in str(card.entities)  # not even as a hidden link
    await staff.press("Approve")
    told = await ayse.last_message()
    assert f"#{idea.id}" in told.text and "yayımlandı" in told.text  # in her language, not the staff's
    assert "Nothing is waiting for review" in (await staff.last_message()).text
    # from Published ideas, the idea becomes a project, and the author hears of it in Turkish
    await _turn_into_project(meydan, staff, idea.id)
    told = await ayse.last_message()
    assert f"#{idea.id}" in told.text and "belediye projesine dönüştü" in told.text
    assert "The project is saved" in (await staff.last_message()).text
    async with meydan.sessions() as session:
        row = await session.get(Idea, idea.id)
        staff_row = await residents.by_telegram_id(session, STAFF_ID)
        assert row.status == ideas.PROJECT and row.decided_by == staff_row.id
        logged = list(
            await session.scalars(
                select(AuditEntry.action)
                .where(AuditEntry.object_id == idea.id, AuditEntry.actor_id == staff_row.id)
                .order_by(AuditEntry.id)
            )
        )
        # and no look-up of the author was made; the project is audited once, by the budgets feature
        assert logged == ["idea.approve", "budget.project"]


async def test_reject_with_a_common_and_a_typed_reason(meydan: Meydan, sandbox) -> None:  # noqa: ANN001
    await _process(meydan)
    ayse = await onboard(sandbox, name="Ayşe", lang="tr")
    john = await onboard(sandbox, name="John", lang="en", district="Bornova", neighborhood="Kazımdirik")
    await _fill_form(ayse, title="Parka gölgelik")
    await ayse.press("Gönder")
    await _fill_form(john, "en", title="A metro line to the moon")
    await john.press("Send")
    first, second = await _ideas(meydan)
    staff = await onboard(sandbox, name="Selin", lang="tr", person_id=STAFF_ID)
    await staff.say("/admin")
    await staff.press("İncelenecek fikirler (2)")
    assert f"#{first.id}" in (await staff.last_message()).text
    await staff.press("Reddet")
    await staff.press("Belediyenin yetki alanı dışında")
    told = await ayse.last_message()
    assert "kabul edilmedi" in told.text and "Belediyenin yetki alanının dışında." in told.text
    card = await staff.last_message()
    assert f"#{second.id}" in card.text
    await asyncio.sleep(0.8)
    await staff.press("Reddet")
    await staff.press("Gerekçe yaz")
    assert "çok kısa" in (await staff.say("no")).text
    confirm = await staff.say("Please write to the <metro> company.")  # shown back before it goes
    assert f"#{second.id} “A metro line to the moon”" in confirm.text
    assert (
        "Please write to the <metro> company." in confirm.text
        and "was not accepted" not in (await john.last_message()).text
    )
    await staff.press("Gönder", message=confirm)
    told = await john.last_message()  # "<metro>" reached him only because it was escaped
    assert "was not accepted" in told.text and "Please write to the <metro> company." in told.text
    outcome = (await staff.bot_messages())[-2]
    assert (
        f"#{second.id}" in outcome.text and "reddedildi: Please write to the <metro> company." in outcome.text
    )
    async with meydan.sessions() as session:
        a, b = await session.get(Idea, first.id), await session.get(Idea, second.id)
        assert (a.status, a.reject_reason_key) == (ideas.REJECTED, "remit")
        assert (b.status, b.reject_reason) == (ideas.REJECTED, "Please write to the <metro> company.")


async def test_merge_edit_hide_project_and_show_author(meydan: Meydan, sandbox) -> None:  # noqa: ANN001
    process_id = await _process(meydan)
    target = await _seed_idea(meydan, process_id, "Çocuk parkına bank", author_tg=100_000_963)
    ayse = await onboard(sandbox, name="Ayşe", lang="tr")
    fan = await onboard(sandbox, name="Fan", lang="en")
    await ayse.say("/menu")
    await ayse.press("Fikirler")
    await ayse.press("Fikir paylaş")
    await ayse.press("Yeşil alanlar ve parklar")
    await ayse.say("Banklar parka konulsun")
    await ayse.press("Benimki farklı")
    await ayse.say(DESCRIPTION)
    await ayse.press("Atla")
    await ayse.press("Atla")
    await ayse.press("Bütün şehir")
    await ayse.press("Gönder")
    dup = [i for i in await _ideas(meydan) if i.id != target][0]
    async with meydan.sessions.begin() as session:
        fan_row = await residents.by_telegram_id(session, fan.id)
        session.add(IdeaSupport(idea_id=target, resident_id=fan_row.id))
    staff = await onboard(sandbox, name="Selin", lang="en", person_id=STAFF_ID)
    await staff.say("/admin")
    await staff.press("Ideas to review")
    await staff.press("Edit title")
    await staff.say("Benches for the park")
    assert "Benches for the park" in (await staff.last_message()).text
    await staff.press("Edit theme")
    await staff.press("Children and young people")
    assert "Children and young people" in (await staff.last_message()).text
    card_text = (await staff.last_message()).text
    assert str(ayse.id) not in card_text and "Ayşe" not in card_text
    await staff.press("Show the author")
    revealed = await staff.last_message()
    assert str(ayse.id) in revealed.text and "audit log" in revealed.text
    async with meydan.sessions() as session:
        staff_row = await residents.by_telegram_id(session, STAFF_ID)
        lookups = (
            await session.execute(
                select(AuditEntry.actor_id, AuditEntry.object_id).where(
                    AuditEntry.action == "idea.reveal_author"
                )
            )
        ).all()
        assert lookups == [(staff_row.id, dup.id)]  # who asked, about which idea
        # the answer naming the author is not kept to be sent again (it would outlive their account)
        named = select(func.count()).where(ProcessedUpdate.answer.contains(f"user?id={ayse.id}"))
        assert await session.scalar(named) == 0
        assert await session.scalar(select(func.count()).where(ProcessedUpdate.answer_to == STAFF_ID)) > 0
    card = (await staff.bot_messages())[-2]
    await staff.press("Merge into", message=card)
    merge_menu = await _message(staff, card.message_id)
    assert f"#{target}" in _labels(merge_menu)[0]  # the most alike first
    await staff.press(f"#{target}")
    await staff.press("Yes, merge")
    told = await ayse.last_message()
    assert "birleştirildi" in told.text and f"#{target}" in told.text
    async with meydan.sessions() as session:
        merged = await session.get(Idea, dup.id)
        assert merged.status == ideas.MERGED and merged.title == "Benches for the park"
        assert await ideas.support_count(session, target) == 2  # the fan, and the merged idea's author
    # published ideas: turn one into a project, hide another
    other = await _seed_idea(meydan, process_id, "Sahil yolu", author_tg=100_000_964)
    await _turn_into_project(meydan, staff, target)
    await staff.say("/admin")
    await staff.press("Published ideas")
    await staff.press(f"#{other}")
    await staff.press("Hide")
    await staff.press("Advertising or spam")
    async with meydan.sessions() as session:
        assert (await session.get(Idea, target)).status == ideas.PROJECT
        assert (await session.get(Idea, other)).status == ideas.HIDDEN
        actions = set(
            await session.scalars(select(AuditEntry.action).where(AuditEntry.object_type == "idea"))
        )
        assert {
            "idea.edit_title",
            "idea.edit_theme",
            "idea.reveal_author",
            "idea.merge",
            "idea.hide",
        } <= actions


async def test_the_queue_moves_on_after_hide_and_merge_and_supports_move_once(
    meydan: Meydan, sandbox
) -> None:  # noqa: ANN001
    process_id = await _process(meydan)
    both, only_dup = 100_000_981, 100_000_982
    target = await _seed_idea(
        meydan, process_id, "Sahile gölgelik", author_tg=100_000_983, supporters=(both,)
    )
    spam = await _seed_idea(meydan, process_id, "Reklam", author_tg=100_000_984, status=ideas.PENDING)
    dup = await _seed_idea(meydan, process_id, "Sahil gölgeliği", author_tg=100_000_985, status=ideas.PENDING)
    last = await _seed_idea(meydan, process_id, "Kütüphane", author_tg=100_000_986, status=ideas.PENDING)
    twin = await _seed_idea(
        meydan, process_id, "Gölgelik sahile", author_tg=100_000_987, supporters=(both, only_dup)
    )
    staff = await onboard(sandbox, name="Selin", lang="tr", person_id=STAFF_ID)
    await staff.say("/admin")
    await staff.press("İncelenecek fikirler (3)")
    assert f"#{spam}" in (await staff.last_message()).text
    await staff.press("Gizle")
    await staff.press("Katılım kurallarına aykırı")
    assert f"#{dup}" in (await staff.last_message()).text  # the next idea waiting, not a dead end
    await staff.press("Birleştir")
    wrong = translate("Choose another published or waiting idea of the same process.", "tr")
    assert wrong in (await staff.say("#999999")).text
    confirm = await staff.say(f"#{target}")  # the other idea's number, typed
    assert f"#{target} “Sahile gölgelik”" in confirm.text
    await staff.press("Evet, birleştir")
    assert f"#{last}" in (await staff.last_message()).text  # and on to the next
    # an approved idea merged from Published ideas: a person who supported both counts once
    await staff.say("/admin")
    await staff.press("Yayımlanan fikirler")
    await staff.press(f"#{twin}")
    await staff.press("Birleştir")
    await staff.press(f"#{target}")
    await staff.press("Evet, birleştir")
    async with meydan.sessions() as session:
        statuses = dict((await session.execute(select(Idea.id, Idea.status))).all())
        assert statuses == {
            target: ideas.APPROVED,
            spam: ideas.HIDDEN,
            dup: ideas.MERGED,
            last: ideas.PENDING,
            twin: ideas.MERGED,
        }
        supporters = set(
            await session.scalars(
                select(Resident.telegram_id)
                .join(IdeaSupport, IdeaSupport.resident_id == Resident.id)
                .where(IdeaSupport.idea_id == target)
            )
        )
        # both once, only_dup moved, and the two merged ideas' authors; the target's own author not
        assert supporters == {both, only_dup, 100_000_985, 100_000_987}
        assert await ideas.support_count(session, twin) == 0
        actions = list(await session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)))
        assert actions[-3:] == ["idea.hide", "idea.merge", "idea.merge"]


async def test_a_card_already_decided_by_another_staff_member(meydan: Meydan, sandbox) -> None:  # noqa: ANN001
    process_id = await _process(meydan)
    idea_id = await _seed_idea(meydan, process_id, "Tek karar", author_tg=100_000_965, status=ideas.PENDING)
    first = await onboard(sandbox, name="Selin", lang="en", person_id=STAFF_ID)
    second = await onboard(sandbox, name="Murat", lang="tr", person_id=SECOND_STAFF_ID)
    async with meydan.sessions.begin() as session:
        await roles.grant(session, await residents.by_telegram_id(session, SECOND_STAFF_ID), roles.STAFF)
    for person in (first, second):
        await person.say("/admin")
        await person.press("🗂")
    stale = await second.last_message()
    await first.press("Approve")
    late = await second.press("Reddet", message=stale)
    assert late.show_alert and "Geç kaldınız" in late.text and "yayımlandı" in late.text
    refreshed = await second.last_message()
    assert "Durum: yayımlandı" in refreshed.text and "Reddet" not in " ".join(_labels(refreshed))
    late = await second.press_data(
        stale.message_id, ModCb(action=ModAction.REJECT_REASON, id=idea_id, value="duplicate").pack()
    )
    assert late.show_alert and "Geç kaldınız" in late.text
    async with meydan.sessions() as session:
        assert (await session.get(Idea, idea_id)).status == ideas.APPROVED
        decisions = await session.scalar(
            select(func.count()).where(AuditEntry.action.in_(["idea.approve", "idea.reject"]))
        )
        assert decisions == 1


async def test_two_staff_members_press_approve_and_reject_reason_together(meydan: Meydan, sandbox) -> None:  # noqa: ANN001
    process_id = await _process(meydan)
    idea_id = await _seed_idea(meydan, process_id, "Yarış", author_tg=100_000_966, status=ideas.PENDING)
    first = await onboard(sandbox, name="Selin", lang="en", person_id=STAFF_ID)
    second = await onboard(sandbox, name="Murat", lang="en", person_id=SECOND_STAFF_ID)
    async with meydan.sessions.begin() as session:
        await roles.grant(session, await residents.by_telegram_id(session, SECOND_STAFF_ID), roles.STAFF)
    await first.say("/admin")
    await first.press("Ideas to review")
    await second.say("/admin")
    await second.press("Ideas to review")
    await second.press("Reject")
    card, reasons = await first.last_message(), await second.last_message()
    answers = await asyncio.gather(
        first.press("Approve", message=card), second.press("Not specific enough", message=reasons)
    )
    texts = sorted(a.text or "" for a in answers)
    assert sum("Too late" in t for t in texts) == 1 and any(t in ("Approved.", "Rejected.") for t in texts)
    async with meydan.sessions() as session:
        status = (await session.get(Idea, idea_id)).status
        assert status in (ideas.APPROVED, ideas.REJECTED)
        decisions = await session.scalar(
            select(func.count()).where(AuditEntry.action.in_(["idea.approve", "idea.reject"]))
        )
        assert decisions == 1


async def test_a_blocked_author_never_fails_the_decision(meydan: Meydan, sandbox) -> None:  # noqa: ANN001
    await _process(meydan)
    ayse = await onboard(sandbox, name="Ayşe", lang="tr")
    await _fill_form(ayse)
    await ayse.press("Gönder")
    await ayse.block()
    staff = await onboard(sandbox, name="Selin", lang="en", person_id=STAFF_ID)
    await staff.say("/admin")
    await staff.press("Ideas to review")
    await staff.press("Approve")
    assert "Nothing is waiting for review" in (await staff.last_message()).text
    async with meydan.sessions() as session:
        author = await residents.by_telegram_id(session, ayse.id)
        assert author.reachable is False
    assert (await _ideas(meydan))[0].status == ideas.APPROVED


async def test_new_ideas_are_announced_in_the_staff_group(settings: Settings, sandbox) -> None:  # noqa: ANN001
    group_member = await sandbox.person("Selin", language_code="tr", id=STAFF_ID)
    group = await sandbox.group("Meydan staff", members=[group_member])
    async with running_bot(settings.model_copy(update={"staff_group_id": group.id}), sandbox) as app:
        await _process(app)
        ayse = await onboard(sandbox, name="Ayşe", lang="tr")
        await _fill_form(ayse, title="Gölgelik")
        post, _ = await asyncio.gather(group.wait_for(lambda m: "Gölgelik" in m.body), ayse.press("Gönder"))
        [idea] = await _ideas(app)
        assert f"#{idea.id}" in post.text and "Pazaryeri, Konak" in post.text
        assert "Yeni fikir" in post.text and "Ayşe" not in post.text and str(ayse.id) not in post.html
        # an English speaker's idea is announced in the city's language, once
        john = await onboard(sandbox, name="John", lang="en", district="Karşıyaka", neighborhood="Bostanlı")
        await _fill_form(john, "en", title="Benches by the sea")
        await john.press("Send")
        post = await group.last_message()
        assert "Yeni fikir" in post.text and "Benches by the sea" in post.text and "Bostanlı" in post.text
        assert [m.body for m in await group.messages() if m.from_bot].count(post.body) == 1
        # the staff tools answer in a private chat only, never in the group
        assert await group.say(group_member, "/admin") is None
    # a staff group the bot cannot post to: the idea is still received
    async with running_bot(settings.model_copy(update={"staff_group_id": -100999}), sandbox) as app:
        await asyncio.sleep(2.1)  # past the Send throttle
        await _fill_form(john, "en", title="Benches")
        await john.press("Send")
        assert "Thank you" in (await john.last_message()).text
        assert len(await _ideas(app)) == 3


async def test_staff_create_a_process_in_chat(meydan: Meydan, sandbox) -> None:  # noqa: ANN001
    zone = meydan.city.zone
    opens = (utcnow() + timedelta(days=1)).astimezone(zone)
    closes = (utcnow() + timedelta(days=20)).astimezone(zone)
    staff = await onboard(sandbox, name="Selin", lang="tr", person_id=STAFF_ID)
    await staff.say("/admin")
    await staff.press("Süreçler")
    await staff.press("Yeni süreç")
    await staff.send_sticker("📅")
    assert "metin olarak yazın" in (await staff.last_message()).text
    await staff.say("Bostanlı'yı Birlikte Tasarlayalım")
    await staff.say("Let's Design Bostanlı Together")
    await staff.press("Tek bir mahalle")
    assert "Tarihi ve saati" in (await staff.say("bostanli")).text  # the one match is taken
    assert "Bu tarihi anlayamadım" in (await staff.say("yarın")).text
    assert "geçmişte kaldı" in (await staff.say("2020-01-01 10:00")).text
    await staff.say(opens.strftime("%Y-%m-%d %H:%M"))
    assert "geçmişte kaldı" in (await staff.say("2020-01-01 10:00")).text
    before = (opens - timedelta(hours=2)).strftime("%Y-%m-%d %H:%M")
    assert "açılış tarihinden" in (await staff.say(before)).text
    await staff.say(closes.strftime("%d.%m.%Y %H:%M"))
    assert "tam sayı" in (await staff.say("0")).text
    summary = await staff.say("4")
    assert "Bostanlı, Karşıyaka" in summary.text and "Kişi başına fikir: 4" in summary.text
    await staff.press("Gönder")
    created = (await staff.last_message()).text
    assert "Süreç oluşturuldu" in created and "Bostanlı'yı Birlikte Tasarlayalım" in created
    assert "lets-design" not in created  # the key is an internal id
    async with meydan.sessions() as session:
        process = await session.scalar(select(Process).where(Process.key == "lets-design-bostanli-together"))
        process = await processes.get(session, process.id)
        span = processes.window(process)
        assert process.scope == processes.NEIGHBORHOOD and process.idea_limit == 4
        assert span.starts_at == opens.replace(second=0, microsecond=0)
        assert span.ends_at == closes.replace(second=0, microsecond=0)
        assert await session.scalar(select(func.count()).where(AuditEntry.action == "process.create")) == 1
    # a resident of another neighborhood is not part of it
    john = await onboard(sandbox, name="John", lang="en")
    await john.say("/menu")
    await john.press("Ideas")
    assert "No idea collection is running" in (await john.last_message()).text


# --- the same person twice or at once --------------------------------------------------------------


async def test_double_presses_send_once_and_support_once(meydan: Meydan, sandbox) -> None:  # noqa: ANN001
    process_id = await _process(meydan)
    target = await _seed_idea(meydan, process_id, "Sahil yoluna çeşme", author_tg=100_000_967)
    john = await onboard(sandbox, name="John", lang="en")
    await _fill_form(john, "en", title="Benches")
    preview = await john.last_message()
    await asyncio.gather(john.press("Send", message=preview), john.press("Send", message=preview))
    assert len(await _ideas(meydan)) == 2  # the seeded idea and one new
    await john.say("/menu")
    await john.press("Ideas")
    await john.press("Browse ideas")
    await john.press(f"#{target}")
    card = await john.last_message()
    answers = await asyncio.gather(john.press("Support", message=card), john.press("Support", message=card))
    assert any(a.text and "You support" in a.text for a in answers)
    async with meydan.sessions() as session:
        assert await ideas.support_count(session, target) == 1
    # the same card's button pressed once more, after the double-press window (a slow chat, an edit that
    # had not arrived): the button says Support, so it supports, and the support is not taken back
    await asyncio.sleep(throttling_rates()["idea_support"])
    answer = await john.press_data(card.message_id, card.button_data("Support"))
    assert answer.text and "You support" in answer.text
    async with meydan.sessions() as session:
        assert await ideas.support_count(session, target) == 1
    shown = await john.last_message()
    take_back = shown.button_data("You support this")
    for _ in range(2):  # and taking it back, twice, takes it back once
        await asyncio.sleep(throttling_rates()["idea_support"])
        answer = await john.press_data(shown.message_id, take_back)
        assert answer.text == "You no longer support this idea."
    async with meydan.sessions() as session:
        assert await ideas.support_count(session, target) == 0


async def test_send_and_cancel_at_once_never_half_save(meydan: Meydan, sandbox) -> None:  # noqa: ANN001
    await _process(meydan)
    john = await onboard(sandbox, name="John", lang="en")
    await _fill_form(john, "en", title="Benches")
    preview = await john.last_message()
    answer, _ = await asyncio.gather(john.press("Send", message=preview), john.say("/cancel"))
    texts = [m.body for m in await john.bot_messages()]
    if await _ideas(meydan):  # Send came first: sent, and nothing was left to cancel
        assert answer.text == "Sent!" and any("Thank you" in t for t in texts)
        assert any("There is nothing to cancel" in t for t in texts)
    else:  # /cancel came first: the old Send button is out of date
        assert answer.show_alert and "out of date" in answer.text
        assert any("Cancelled" in t for t in texts)
    assert "nothing to cancel" in (await john.say("/cancel")).text  # no form left behind either way


async def test_the_same_update_twice_moves_the_form_once(meydan: Meydan, sandbox) -> None:  # noqa: ANN001
    await _process(meydan)
    john = await onboard(sandbox, name="John", lang="en")
    await john.say("/menu")
    await john.press("Ideas")
    await john.press("Share an idea")
    await john.press("Green spaces and parks")
    user = {"id": john.id, "is_bot": False, "first_name": "John", "language_code": "en"}
    title = {
        "update_id": 900_100,
        "message": {
            "message_id": 50_000,
            "date": 1_790_000_000,
            "chat": {"id": john.id, "type": "private", "first_name": "John"},
            "from": user,
            "text": "Benches in the park",
        },
    }
    before = len(await john.bot_messages())
    assert await post_update(sandbox, title, meydan.webhook_secret) == 200
    assert await post_update(sandbox, title, meydan.webhook_secret) == 200  # Telegram retries it
    answers = (await john.bot_messages())[before:]
    assert len(answers) == 2 and "Step 3 of 6" in answers[0].text  # not taken as the description too
    assert answers[1].text == answers[0].text  # its first answer sent again
    assert "photo" in (await john.say(DESCRIPTION)).text
    await john.press("Skip")
    await john.press("Skip")
    await john.press("The whole city")
    preview = await john.last_message()
    assert "Benches in the park" in preview.text and DESCRIPTION in preview.text


async def _johns_card(sandbox, idea: int):  # noqa: ANN001, ANN202
    """John, onboarded, and the card of idea `idea` as he opened it from the list."""
    john = await onboard(sandbox, name="John", lang="en")
    await john.say("/menu")
    await john.press("Ideas")
    await john.press("Browse ideas")
    await john.press(f"#{idea}")
    return john, await john.last_message()


async def test_supporting_two_ideas_quickly_counts_both(meydan: Meydan, sandbox) -> None:  # noqa: ANN001

    process_id = await _process(meydan)
    first = await _seed_idea(meydan, process_id, "Sahil yoluna çeşme", author_tg=100_000_965)
    second = await _seed_idea(meydan, process_id, "Parka gölgelik", author_tg=100_000_966)
    john, card = await _johns_card(sandbox, first)
    support = BrowseCb.unpack(card.button_data(next(label for label in _labels(card) if "Support" in label)))
    other = support.model_copy(update={"idea": second}).pack()
    # one press each on two different ideas, at once: both are taken (only repeats of one button are dropped)
    await asyncio.gather(
        john.press_data(card.message_id, support.pack()), john.press_data(card.message_id, other)
    )
    async with meydan.sessions() as session:
        assert await ideas.support_count(session, first) == 1
        assert await ideas.support_count(session, second) == 1


async def test_a_support_delivered_again_counts_once_and_its_edit_is_made_again(
    meydan: Meydan,
    sandbox,  # noqa: ANN001
) -> None:
    process_id = await _process(meydan)
    idea = await _seed_idea(meydan, process_id, "Sahil yoluna çeşme", author_tg=100_000_967)
    john, card = await _johns_card(sandbox, idea)
    data = card.button_data(next(label for label in _labels(card) if "Support" in label))
    pressed = await sandbox.client.press(john.id, card.message_id, data)
    supported = await john.last_message()
    before = len(await john.bot_messages())
    again = press_again(john, pressed, card.message_id, data)
    status, reply = await post_webhook(sandbox, again, meydan.webhook_secret)  # Telegram retries it
    assert status == 200 and len(await john.bot_messages()) == before  # no note, no new message
    assert reply == {"method": "answerCallbackQuery", "callback_query_id": pressed.callback_query_id}
    assert (await john.last_message()).text == supported.text
    async with meydan.sessions() as session:
        assert await ideas.support_count(session, idea) == 1  # not taken back
        kept = await session.get(ProcessedUpdate, (meydan.bot.id, pressed.update_id))
        assert kept.answer is not None and kept.answer.startswith('[{"method":"Edit')


async def test_restart_in_the_middle_of_the_staff_process_form(settings: Settings, sandbox) -> None:  # noqa: ANN001
    async with running_bot(settings, sandbox):
        staff = await onboard(sandbox, name="Selin", lang="en", person_id=STAFF_ID)
        await staff.say("/admin")
        await staff.press("Processes")
        await staff.press("New process")
        await staff.say("Karşıyaka'yı Birlikte Tasarlayalım")
        await staff.say("Let's Design Karsiyaka")
        await staff.press("One neighborhood")
    async with running_bot(settings, sandbox) as again:
        # the form goes on where it was: its buttons from before the restart still work
        await staff.press("Back")
        assert "Who takes part?" in (await staff.last_message()).text
        await staff.press("Back")
        assert "Step 2 of 7" in (await staff.last_message()).text
        await staff.say("Let's Design Karşıyaka Together")
        await staff.press("The whole city")
        opens = (utcnow() + timedelta(days=1)).astimezone(again.city.zone)
        await staff.say(opens.strftime("%Y-%m-%d %H:%M"))
        await staff.say((opens + timedelta(days=30)).strftime("%Y-%m-%d %H:%M"))
        summary = await staff.say("2")
        assert "Karşıyaka'yı Birlikte Tasarlayalım" in summary.text
        await staff.press("Send")
        async with again.sessions() as session:
            created = await session.scalar(
                select(Process).where(Process.key == "lets-design-karsiyaka-together")
            )
            assert created is not None and created.idea_limit == 2 and created.names["en"].startswith("Let's")


async def test_a_notice_opens_the_idea_and_the_author_can_turn_them_off(meydan: Meydan, sandbox) -> None:  # noqa: ANN001
    await _process(meydan)
    ayse = await onboard(sandbox, name="Ayşe", lang="tr")
    await _fill_form(ayse, title="Pazaryeri'ne gölgelik")
    await ayse.press("Gönder")
    staff = await onboard(sandbox, name="Selin", lang="en", person_id=STAFF_ID)
    await staff.say("/admin")
    await staff.press("Ideas to review (1)")
    await staff.press("Approve")
    [idea] = await _ideas(meydan)
    told = await ayse.last_message()
    assert "yayımlandı" in told.text and f"#{idea.id}" in " ".join(_labels(told))  # a button to the idea
    await ayse.press(f"#{idea.id}", told)
    card = await ayse.last_message()
    assert "Pazaryeri'ne gölgelik" in card.text and "yayımlandı" in card.text  # her own idea, with its status
    # "Decisions on my ideas" turned off: the next decision is made, and not sent
    await ayse.say("/settings")
    await ayse.press("Kapat: Fikirlerimle ilgili kararlar")
    before = len(await ayse.bot_messages())
    await _turn_into_project(meydan, staff, idea.id)
    assert len(await ayse.bot_messages()) == before
    async with meydan.sessions() as session:
        assert (await session.get(Idea, idea.id)).status == ideas.PROJECT


async def test_a_picture_as_a_file_a_typed_place_and_a_too_long_text(meydan: Meydan, sandbox) -> None:  # noqa: ANN001
    from bot.sandbox.testing import tiny_png

    await _process(meydan)
    john = await onboard(sandbox, name="John", lang="en")
    await john.say("/menu")
    await john.press("Ideas")
    await john.press("Share an idea")
    await john.press("Green spaces")
    await john.say("Benches in the park")
    long = "word " * 500  # 2,500 characters
    answer = await john.say(long)
    assert "too long" in answer.text and "2500 characters; the limit is 2000" in answer.text
    assert "<code>word word" in answer.html  # the text offered back to copy and shorten
    await john.say(DESCRIPTION)
    # a picture sent as a file (a phone's "send without compression") is taken as the photo
    await john.send_document(tiny_png(), "bench.png", mime_type="image/png")
    location_step = await john.last_message()
    assert "Step 5 of 6" in location_step.text and "type the neighborhood's name" in location_step.text
    answer = await john.say("yeni")  # many neighborhoods: the person is asked for the full name
    assert "Several neighborhoods match" in answer.text
    assert "no neighborhood" in (await john.say("Atlantis")).text
    await john.say("alsancak")  # one neighborhood: taken
    await john.press("The whole city")
    preview = await john.last_message()
    assert preview.photo is not None and "📌 Place: Alsancak, Konak" in preview.caption
    await john.press("Send")
    [idea] = await _ideas(meydan)
    async with meydan.sessions() as session:
        hood = await geography.by_keys(session, "konak", "alsancak")
    assert idea.photo_file_id and idea.place_id == hood.id and idea.latitude is None


async def test_a_typed_skip_passes_the_photo_and_the_place(meydan: Meydan, sandbox) -> None:  # noqa: ANN001
    await _process(meydan)
    ayse = await onboard(sandbox, name="Ayşe", lang="tr")
    await ayse.say("/menu")
    await ayse.press("Fikirler")
    await ayse.press("Fikir paylaş")
    await ayse.press("Yeşil alanlar")
    await ayse.say("Parka gölgelik")
    await ayse.say(DESCRIPTION)
    assert "Adım 5/6" in (await ayse.say("atla")).text
    assert "Adım 6/6" in (await ayse.say("Atla")).text


async def test_a_slow_staff_group_holds_no_one_else_up(settings: Settings) -> None:
    """Issue 9, point 5: the staff group answers 429 (its 20-a-minute limit, here 5) and the bot waits
    `retry_after` (12 s) before posting again. The post goes out after the idea is committed, so the
    wait holds no database lock: someone else's update meanwhile is answered as usual, never with the
    apology that a locked SQLite database used to cause."""
    from bot.sandbox.emulator import Limits
    from bot.sandbox.testing import Sandbox

    limits = Limits(
        per_chat_rate=1000.0,
        per_chat_burst=1000,
        global_rate=100_000.0,
        global_burst=100_000,
        group_per_minute=5,
    )
    async with Sandbox(limits=limits) as sandbox:
        member = await sandbox.person("Selin", language_code="tr", id=STAFF_ID)
        group = await sandbox.group("Meydan staff", members=[member])
        async with running_bot(settings.model_copy(update={"staff_group_id": group.id}), sandbox) as app:
            await _process(app)
            ayse = await onboard(sandbox, name="Ayşe", lang="tr")
            await _fill_form(ayse, title="Gölgelik")
            for n in range(5):  # the group's five messages a minute are used up
                await app.bot.send_message(group.id, f"warm-up {n}")
            zed = await sandbox.person("Zed", language_code="en")

            async def meanwhile() -> object:
                await asyncio.sleep(1.0)  # while the bot waits to post the new idea to the group
                return await zed.say("/start")

            # the press is handled for as long as the bot waits on the group (12 s): not waited on here
            _sent, answer = await asyncio.gather(ayse.press("Gönder", check=False), meanwhile())
            assert "Choose your language" in answer.text and "went wrong" not in answer.text
            for _ in range(60):  # the post goes out once the wait is over
                if any("Gölgelik" in m.body for m in await group.messages() if m.from_bot):
                    break
                await asyncio.sleep(0.5)
            assert any("Gölgelik" in m.body for m in await group.messages() if m.from_bot)
            [idea] = await _ideas(app)
            assert idea.title == "Gölgelik"


async def test_a_slow_reply_to_the_person_holds_no_one_else_up(settings: Settings) -> None:
    """Issue 9, point 5: Telegram asks the bot to wait 12 s before writing to Ayşe again, just as she
    types her idea's title. The title is saved before the bot speaks to her, so while it waits no
    database lock is held (SQLite's busy timeout is 10 s): Zed, meanwhile, is answered as usual. Ayşe
    gets the next question once the wait is over."""
    from bot.sandbox.testing import Sandbox

    async with Sandbox() as sandbox, running_bot(settings, sandbox) as app:
        await _process(app)
        ayse = await onboard(sandbox, name="Ayşe", lang="tr")
        await ayse.say("/menu")
        for label in ("Fikirler", "Fikir paylaş", "Yeşil alanlar"):
            await ayse.press(label)
        zed = await sandbox.person("Zed", language_code="en")
        sandbox.emulator.limiter.hold(ayse.id, 12)

        async def meanwhile() -> object:
            await asyncio.sleep(1.0)  # while the bot waits to answer Ayşe
            return await zed.say("/start")

        ayse.timeout = 30.0
        started = asyncio.get_running_loop().time()
        asked, answer = await asyncio.gather(ayse.say("Gölgelik"), meanwhile())
        assert asyncio.get_running_loop().time() - started >= 11, "the wait was not asked for"
        assert "Choose your language" in answer.text and "went wrong" not in answer.text
        assert "ters gitti" not in asked.text
        async with app.sessions() as session:
            states = (await session.scalars(select(FsmRecord))).all()
        assert any("Gölgelik" in str(state.data) for state in states)
