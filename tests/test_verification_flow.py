"""Verification before the ballot, through the sandbox, in Turkish and English: a phone process asks
for one's own contact with a request_contact button (someone else's contact, one without a user, a
typed number and a sticker are refused with a sentence; one's own opens the ballot), one phone number
for one person (a second account sharing it is refused, also when it forges Confirm), the verification
outliving the account; a code process takes a one-time code once (two people typing the same code at
once: one wins), refuses wrong codes and throttles them; forged buttons cannot skip the gate; nothing
is kept in clear.

The new sentences are not in the catalogs yet (listed for translation separately), so the Turkish runs
check what does not depend on them: the buttons, the state of the database, the ballot opening."""

from __future__ import annotations

import asyncio

from sqlalchemy import func, select, text

from bot.app import Meydan
from bot.config import Settings
from bot.i18n import translate
from bot.services.budgets import rules, verification
from bot.ui.budgets.callbacks import BallotAction, BallotCb
from storage.models import Base, BudgetBallot, Process, Verification, VerificationCode, VerificationFailure
from tests.budget_fixtures import Seeded, seed
from tests.conftest import running_bot
from tests.flows import ACCEPT, LANGUAGE, onboard

MENU = {"en": "🗳 Budget vote", "tr": "🗳 Bütçe oylaması"}
ADD = {"en": "Add to my ballot", "tr": "Oy pusulama ekle"}
BACK = {"en": "Back to the projects", "tr": "Projelere dön"}
REVIEW = {"en": "Review and confirm (1)", "tr": "Gözden geçir ve onayla (1)"}
CONFIRM = {"en": "Confirm my ballot", "tr": "Oy pusulamı onayla"}
SHARE = "📱 Share my phone number"  # (English; the Turkish runs read the catalog: `_t`)
OWN_ONLY = (
    "Only your own contact can verify you: please press “📱 Share my phone number” below. "
    "Someone else's contact or a typed number cannot be accepted."
)
USE_BUTTON = (
    "Please press “📱 Share my phone number” below: a typed number or someone else's contact "
    "cannot verify you."
)


def _t(message: str, lang: str, **params: object) -> str:
    """A sentence as the bot says it in `lang` (the catalog's, or the English until it is translated)."""
    return translate(message, lang, **params)


CANCEL = {"en": "✖️ Cancel", "tr": "✖️ Vazgeç"}
PHONE = "+905551112233"


async def _seed(meydan: Meydan, level: str) -> Seeded:
    async with meydan.sessions.begin() as session:
        seeded = await seed(session)
        process = await session.get(Process, seeded.process_id)
        process.verification = level
        return seeded


async def _codes(meydan: Meydan, seeded: Seeded, count: int) -> list[str]:
    async with meydan.sessions.begin() as session:
        process = await session.get(Process, seeded.process_id)
        return [verification.printed(c) for c in await verification.make_codes(session, process, count)]


async def _count(meydan: Meydan, model) -> int:  # noqa: ANN001
    async with meydan.sessions() as session:
        return await session.scalar(select(func.count()).select_from(model)) or 0


async def _every_value(meydan: Meydan) -> str:
    async with meydan.sessions() as session:
        found = []
        for table in Base.metadata.sorted_tables:
            for row in (await session.execute(text(f'SELECT * FROM "{table.name}"'))).all():
                found.extend(str(v) for v in row)
        return "\n".join(found)


def _labels(message) -> list[str]:  # noqa: ANN001
    return [label for row in message.buttons for label in row]


def _lang(person) -> str:  # noqa: ANN001
    return "tr" if person.language_code == "tr" else "en"


async def _open(person, pot: str):  # noqa: ANN001, ANN202
    await person.say("/menu")
    await person.press(MENU[_lang(person)])
    await person.press(pot)
    return await person.last_message()


async def _vote(person, project: str = "Library garden") -> None:  # noqa: ANN001
    lang = _lang(person)
    await person.press(project)
    await person.press(ADD[lang])
    await person.press(BACK[lang])
    await person.press(REVIEW[lang])
    await person.press(CONFIRM[lang])


async def test_phone_only_ones_own_contact_opens_the_ballot_in_turkish(meydan: Meydan, sandbox) -> None:  # noqa: ANN001
    seeded = await _seed(meydan, rules.PHONE)
    ayse = await onboard(sandbox, lang="tr")
    await ayse.say("/menu")
    await ayse.press(MENU["tr"])
    assert "🔐 Şehir bütçesi" in _labels(await ayse.last_message())  # verify first
    await ayse.press("Şehir bütçesi")
    share = _t(SHARE, "tr")
    assert await ayse.keyboard() == [[share], [CANCEL["tr"]]]
    view = await ayse.view()
    [[button], _cancel] = view.keyboard["keyboard"]
    assert button.get("request_contact") is True
    john = await sandbox.person("John", language_code="en")
    for attempt in (
        ayse.share_contact("+905559998877", user_id=john.id, first_name="John"),  # someone else's
        ayse.share_contact(PHONE, user_id=0, first_name="Ayşe"),  # a contact without a user
    ):
        answer = await attempt
        assert answer.text == _t(OWN_ONLY, "tr")
    answer = await ayse.say(PHONE)  # a typed number
    assert answer.text == _t(USE_BUTTON, "tr")
    answer = await ayse.send_sticker()
    assert answer.text == _t(USE_BUTTON, "tr")
    assert await _count(meydan, Verification) == 0
    assert await ayse.keyboard() == [[share], [CANCEL["tr"]]]  # still asked
    page = await ayse.tap(share, phone=PHONE)
    assert await ayse.keyboard() == []  # the contact button is gone
    assert "₺0 / ₺5.000.000" in page.text  # the ballot is open
    assert "▫️ 3 · Library garden (tr) · ₺900.000" in _labels(page)
    await _vote(ayse)
    async with meydan.sessions() as session:
        assert (await session.scalars(select(BudgetBallot.pot_id))).all() == [seeded.city]
        [row] = (await session.scalars(select(Verification))).all()
        assert row.method == "phone" and row.key == await verification.phone_key(session, "905551112233")
    dump = await _every_value(meydan)
    assert "5551112233" not in dump and "5559998877" not in dump


async def test_one_phone_two_accounts_the_second_is_refused_in_english(meydan: Meydan, sandbox) -> None:  # noqa: ANN001
    seeded = await _seed(meydan, rules.PHONE)
    john = await onboard(sandbox, name="John", lang="en", district="Karşıyaka", neighborhood="Bostanlı")
    await _open(john, "City budget")
    await john.tap(SHARE, phone=PHONE)
    await _vote(john)
    second = await onboard(sandbox, name="John2", lang="en", district="Karşıyaka", neighborhood="Bostanlı")
    prompt = await _open(second, "City budget")
    assert "checked by their phone number" in prompt.text
    answer = await second.tap(SHARE, phone="+90 555 111 22 33")  # the same number, written otherwise
    assert "already verified another account in this vote" in answer.text
    assert await second.keyboard() == [[SHARE], [CANCEL[_lang(second)]]]
    p = seeded.projects
    for forged in (  # forged buttons cannot skip the gate
        BallotCb(action=BallotAction.ADD, pot=seeded.city, project=p["3"]),
        BallotCb(action=BallotAction.CARD, pot=seeded.city, project=p["3"]),
        BallotCb(action=BallotAction.REVIEW, pot=seeded.city),
        BallotCb(action=BallotAction.CONFIRM, pot=seeded.city),
        BallotCb(action=BallotAction.RESET, pot=seeded.city),
    ):
        answer = await second.press_data(prompt.message_id, forged.pack())
        assert answer.show_alert and "verify your phone number first" in answer.text, forged
    assert await _count(meydan, BudgetBallot) == 1 and await _count(meydan, Verification) == 1
    await second.tap(CANCEL["en"])
    assert "Verification cancelled" in (await second.last_message()).text and await second.keyboard() == []


async def test_deleting_the_account_and_coming_back_gives_no_second_ballot(meydan: Meydan, sandbox) -> None:  # noqa: ANN001
    await _seed(meydan, rules.PHONE)
    john = await onboard(sandbox, name="John", lang="en", district="Karşıyaka", neighborhood="Bostanlı")
    await _open(john, "City budget")
    await john.tap(SHARE, phone=PHONE)
    await _vote(john)
    [(receipt,)] = await _receipts(meydan)
    await john.say("/settings")
    await john.press("Delete my account")
    await john.press("Yes, delete my account")
    await john.say("/start")
    await john.press(LANGUAGE["en"])
    await john.press(ACCEPT["en"])
    await john.say("Karşıyaka")
    await john.say("Bostanlı")
    await john.say("/menu")
    await john.press(MENU["en"])
    assert "✅ City budget" in _labels(await john.last_message())  # already voted, still verified
    await john.press("City budget")
    page = await john.last_message()
    assert f"You have voted (receipt {receipt})" in page.text and await john.keyboard() == []
    await john.press("Review and confirm (1)")
    await john.press("Confirm my ballot")
    assert len(await _receipts(meydan)) == 1 and await _count(meydan, Verification) == 1
    other = await onboard(sandbox, name="Other", lang="en", district="Karşıyaka", neighborhood="Bostanlı")
    await _open(other, "City budget")
    answer = await other.tap(SHARE, phone=PHONE)
    assert "already verified another account" in answer.text


async def _receipts(meydan: Meydan) -> list[tuple[str]]:
    async with meydan.sessions() as session:
        return [tuple(r) for r in (await session.execute(select(BudgetBallot.receipt))).all()]


async def test_a_code_works_once_in_both_languages(meydan: Meydan, sandbox) -> None:  # noqa: ANN001
    seeded = await _seed(meydan, rules.CODE)
    first, second = await _codes(meydan, seeded, 2)
    ayse = await onboard(sandbox, lang="tr")
    prompt = await _open(ayse, "Şehir bütçesi")
    assert "ABCDE-FGHJK" in prompt.text and await ayse.keyboard() == [[CANCEL["tr"]]]
    forged = BallotCb(action=BallotAction.CONFIRM, pot=seeded.city).pack()
    answer = await ayse.press_data(prompt.message_id, forged)
    code_first = "This vote asks for your one-time code first: open the ballot from /budget."
    assert answer.show_alert and answer.text == _t(code_first, "tr")
    answer = await ayse.say("NOPE")
    tries = _t("Check it and type it again (tries left: {left}).", "tr", left=4)
    assert answer.text == f"{_t('This code is not valid.', 'tr')} {tries}"
    answer = await ayse.send_sticker()
    assert answer.text == _t(
        "Please type the one-time code you received from the municipality (for example ABCDE-FGHJK).", "tr"
    )
    page = await ayse.say(first.lower().replace("-", " "))
    assert "₺0 / ₺5.000.000" in page.text and await ayse.keyboard() == []
    await _vote(ayse)
    john = await onboard(sandbox, name="John", lang="en", district="Karşıyaka", neighborhood="Bostanlı")
    await _open(john, "City budget")
    answer = await john.say(first)
    assert "This code has already been used" in answer.text and "tries left: 4" in answer.text
    page = await john.say(second)
    assert "Thank you, your code is accepted" in (await john.bot_messages())[-2].text
    assert "₺0 / ₺5,000,000" in page.text
    async with meydan.sessions() as session:
        assert (
            len(
                (
                    await session.scalars(
                        select(VerificationCode).where(VerificationCode.used_at.is_not(None))
                    )
                ).all()
            )
            == 2
        )
    dump = await _every_value(meydan)
    assert not any(code in dump or code.replace("-", "") in dump for code in (first, second))


async def test_two_people_typing_the_same_code_at_once_one_wins(meydan: Meydan, sandbox) -> None:  # noqa: ANN001
    seeded = await _seed(meydan, rules.CODE)
    [code] = await _codes(meydan, seeded, 1)
    people = [
        await onboard(sandbox, name=name, lang=lang, district="Karşıyaka", neighborhood="Bostanlı")
        for name, lang in (("A", "en"), ("B", "tr"), ("C", "en"))
    ]
    for person in people:
        await _open(person, "City budget" if person.language_code == "en" else "Şehir bütçesi")
    await asyncio.gather(*(person.say(code) for person in people))
    async with meydan.sessions() as session:
        assert len((await session.scalars(select(Verification))).all()) == 1
    texts = [(await person.last_message()).text for person in people]

    def used(lang: str) -> str:
        tries = _t("Check it and type it again (tries left: {left}).", lang, left=4)
        return f"{_t('This code has already been used.', lang)} {tries}"

    assert sum(t == used(_lang(p)) for t, p in zip(texts, people, strict=True)) == 2
    assert sum("5,000,000" in t or "5.000.000" in t for t in texts) == 1


async def test_wrong_codes_are_throttled(meydan: Meydan, sandbox) -> None:  # noqa: ANN001
    seeded = await _seed(meydan, rules.CODE)
    [code] = await _codes(meydan, seeded, 1)
    john = await onboard(sandbox, name="John", lang="en", district="Karşıyaka", neighborhood="Bostanlı")
    await _open(john, "City budget")
    for n in range(4):
        answer = await john.say(f"WRONG-{n}")
        assert f"tries left: {3 - n + 1}" in answer.text
    answer = await john.say("ZZZZZ-ZZZZZ")
    assert "Too many wrong codes: please try again in 10 min" in answer.text
    answer = await john.say(code)  # the right code too, for now
    assert "Too many wrong codes: please try again in" in answer.text
    assert await _count(meydan, Verification) == 0
    async with meydan.sessions() as session:
        assert (await session.scalars(select(VerificationCode.used_at))).one() is None


async def test_cancel_leaves_the_prompt_and_later_texts_are_no_codes(meydan: Meydan, sandbox) -> None:  # noqa: ANN001
    seeded = await _seed(meydan, rules.CODE)
    [code] = await _codes(meydan, seeded, 1)
    ayse = await onboard(sandbox, lang="tr")
    await _open(ayse, "Şehir bütçesi")
    answer = await ayse.tap(CANCEL["tr"])
    assert answer.text == _t("Verification cancelled. You can verify later from /budget.", "tr")
    assert await ayse.keyboard() == []
    await ayse.say(code)  # no longer read as a code: nothing verified, no try counted
    assert await _count(meydan, Verification) == 0 and await _count(meydan, VerificationFailure) == 0
    await _open(ayse, "Şehir bütçesi")  # asked again
    page = await ayse.say(code)
    assert "₺0 / ₺5.000.000" in page.text
    assert await _count(meydan, Verification) == 1


LEFT = {
    "tr": "Doğrulama iptal edildi. Daha sonra /budget üzerinden doğrulayabilirsiniz.",
    "en": "Verification cancelled. You can verify later from /budget.",
}


async def _said(person, text: str) -> bool:  # noqa: ANN001
    return any(m.from_bot and m.text == text for m in await person.chat())


async def test_leaving_the_code_prompt_ends_it_in_turkish(meydan: Meydan, sandbox) -> None:  # noqa: ANN001
    """Another command or any button ends the code step: later texts are not code attempts."""
    seeded = await _seed(meydan, rules.CODE)
    [code] = await _codes(meydan, seeded, 1)
    ayse = await onboard(sandbox, lang="tr")
    await _open(ayse, "Şehir bütçesi")
    assert await ayse.keyboard() == [[CANCEL["tr"]]]
    left = await ayse.say("/budget")  # a command leaves the prompt: its own answer, then the note
    assert left.text == LEFT["tr"] and await ayse.keyboard() == []
    assert any("Şehir bütçesi" in str(m.buttons) for m in await ayse.bot_messages())  # the list of pots
    await ayse.say(code)  # no longer read as a code
    await ayse.say("WRONG-1")
    assert await _count(meydan, Verification) == 0 and await _count(meydan, VerificationFailure) == 0
    prompt = await _open(ayse, "Şehir bütçesi")  # asked again
    forged = BallotCb(action=BallotAction.CONFIRM, pot=seeded.city).pack()
    answer = await ayse.press_data(prompt.message_id, forged)  # refused: the prompt stays
    assert answer.show_alert and await ayse.keyboard() == [[CANCEL["tr"]]]
    await ayse.press("« Menü")  # a button that leads elsewhere leaves it (the list of pots, above it)
    assert (await ayse.last_message()).text == LEFT["tr"] and await ayse.keyboard() == []
    await ayse.say("WRONG-2")
    assert await _count(meydan, VerificationFailure) == 0
    await _open(ayse, "Şehir bütçesi")
    answer = await ayse.say("/cancel")  # the note is the whole answer: the prompt was what there was
    assert answer.text == LEFT["tr"] and not await _said(ayse, "İptal edilecek bir şey yok.")
    await _open(ayse, "Şehir bütçesi")
    page = await ayse.say(code)  # while the prompt is there, the code is taken
    assert "₺0 / ₺5.000.000" in page.text
    assert await _count(meydan, Verification) == 1


async def test_leaving_the_phone_prompt_removes_its_keyboard_in_english(meydan: Meydan, sandbox) -> None:  # noqa: ANN001
    await _seed(meydan, rules.PHONE)
    john = await onboard(sandbox, name="John", lang="en", district="Karşıyaka", neighborhood="Bostanlı")
    await _open(john, "City budget")
    assert SHARE in str(await john.keyboard())
    answer = await john.say("/help")
    assert answer.text == LEFT["en"] and await john.keyboard() == []
    assert any((m.text or "").startswith("❓ How Meydan works") for m in await john.bot_messages())
    answer = await john.say("+90 555 111 22 33")  # a typed number is no longer answered as a phone try
    assert USE_BUTTON not in (answer.text or "")
    assert await _count(meydan, Verification) == 0


async def test_the_prompt_survives_a_restart(settings: Settings, sandbox) -> None:  # noqa: ANN001
    async with running_bot(settings, sandbox) as first:
        await _seed(first, rules.PHONE)
        john = await onboard(sandbox, name="John", lang="en", district="Karşıyaka", neighborhood="Bostanlı")
        await _open(john, "City budget")
    async with running_bot(settings, sandbox) as second:  # a new process on the same database
        page = await john.tap(SHARE, phone=PHONE)
        assert "₺0 / ₺5,000,000" in page.text
        assert await _count(second, Verification) == 1
