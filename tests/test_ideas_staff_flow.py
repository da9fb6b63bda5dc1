"""The staff side of ideas through the sandbox, in English and Turkish: hiding with a reason and
unhiding (the author told, in the author's language), a typed reason confirmed before it goes, the
reasons under the idea's card, the queue position, editing the description, merging pending
duplicates, no internal keys in staff texts, stale presses that refresh the card, and every press
answered.

Labels and texts are looked up with `translate(msgid, lang)`, so the tests read the same words people
see in either language."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from bot.i18n import translate
from bot.services import ideas, residents, roles
from bot.services.ideas import rules
from bot.ui.ideas.callbacks import ModAction, ModCb
from storage.models import AuditEntry, Idea, IdeaSupport
from tests.conftest import STAFF_ID
from tests.flows import onboard
from tests.test_ideas_flow import DESCRIPTION, SECOND_STAFF_ID, _labels, _process, _seed_idea

HIDDEN_NOTICE = "🙈 Your idea #{number} “{title}” has been hidden by the municipal team.\nReason: {reason}"
UNHIDDEN_NOTICE = "👁 Your idea #{number} “{title}” can be seen again: the municipal team has unhidden it."
POSITION = "🗂 Waiting for review: {position} / {count}"


async def press(person, label: str, lang: str, **extra):  # noqa: ANN001, ANN003, ANN201
    """Press the button whose label is `label` in `lang`; every press must be answered."""
    answer = await person.press(translate(label, lang), **extra)
    assert answer.answered, f"{label!r} was not answered"
    return answer


async def _staff(sandbox, lang: str, person_id: int = STAFF_ID, name: str = "Selin"):  # noqa: ANN001, ANN202
    staff = await onboard(sandbox, name=name, lang=lang, person_id=person_id)
    await staff.say("/admin")
    return staff


async def _get(meydan, idea_id: int) -> Idea:  # noqa: ANN001
    async with meydan.sessions() as session:
        return await session.get(Idea, idea_id)


@pytest.mark.parametrize("lang", ["en", "tr"])
async def test_hide_with_a_typed_reason_confirmed_then_unhide(meydan, sandbox, lang: str) -> None:  # noqa: ANN001
    process_id = await _process(meydan)
    author_lang = "tr" if lang == "en" else "en"
    author = await onboard(sandbox, name="Ayşe", lang=author_lang)
    idea_id = await _seed_idea(meydan, process_id, "Parka bank", author_tg=author.id)
    staff = await _staff(sandbox, lang)
    await press(staff, "✅ Published ideas", lang)
    await staff.press(f"#{idea_id}")
    await press(staff, "🙈 Hide", lang)
    menu = await staff.last_message()
    assert "Parka bank" in menu.text and DESCRIPTION in menu.text  # the idea stays in view
    assert translate("Breaks the participation rules", lang) in _labels(menu)
    await press(staff, "✍️ Type a reason", lang)
    assert (
        translate("The reason is too short: please use at least {min} characters.", lang, min=3)
        in (await staff.say("x")).text
    )
    confirm = await staff.say("Telefon numarası var")
    assert "Telefon numarası var" in confirm.text and "Parka bank" in confirm.text
    assert (await _get(meydan, idea_id)).status == ideas.APPROVED  # nothing goes before Send
    await press(staff, "✏️ Edit the reason", lang, message=confirm)
    confirm = await staff.say("Bir kişinin ev adresi paylaşılmış.")
    assert "Bir kişinin ev adresi paylaşılmış." in confirm.text
    answer = await press(staff, "📨 Send", lang, message=confirm)
    assert answer.text == translate("Hidden.", lang)
    told = await author.last_message()
    reason = "Bir kişinin ev adresi paylaşılmış."
    assert told.text == translate(
        HIDDEN_NOTICE, author_lang, number=idea_id, title="Parka bank", reason=reason
    )
    row = await _get(meydan, idea_id)
    assert (row.status, row.reject_reason, row.reject_reason_key) == (ideas.HIDDEN, reason, None)
    # the published list shows it as hidden; its card offers Unhide, not Hide
    await staff.say("/admin")
    await press(staff, "✅ Published ideas", lang)
    await staff.press(f"🙈 #{idea_id}")
    card = await staff.last_message()
    assert translate("Reason: {reason}", lang, reason=reason) in card.text
    labels = " ".join(_labels(card))
    assert translate("👁 Unhide", lang) in labels and translate("🙈 Hide", lang) not in labels
    answer = await press(staff, "👁 Unhide", lang, message=card)
    assert answer.text == translate("Unhidden.", lang)
    told = await author.last_message()
    assert told.text.startswith(translate(UNHIDDEN_NOTICE, author_lang, number=idea_id, title="Parka bank"))
    row = await _get(meydan, idea_id)
    assert (row.status, row.reject_reason) == (ideas.APPROVED, None)
    async with meydan.sessions() as session:
        actions = list(await session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)))
        assert actions[-2:] == ["idea.hide", "idea.unhide"]


@pytest.mark.parametrize("lang", ["tr", "en"])
async def test_hide_a_pending_idea_with_a_common_reason_and_move_on(meydan, sandbox, lang: str) -> None:  # noqa: ANN001
    process_id = await _process(meydan)
    john = await onboard(sandbox, name="John", lang="en", district="Bornova", neighborhood="Kazımdirik")
    spam = await _seed_idea(meydan, process_id, "Reklam", author_tg=john.id, status=ideas.PENDING)
    later = await _seed_idea(meydan, process_id, "Kütüphane", author_tg=100_000_701, status=ideas.PENDING)
    staff = await _staff(sandbox, lang)
    await staff.press("🗂")
    await press(staff, "🙈 Hide", lang)
    answer = await press(staff, "Breaks the participation rules", lang)
    assert answer.text == translate("Hidden.", lang)
    told = await john.last_message()
    assert f"#{spam}" in told.text and "It breaks the participation rules" in told.text  # in his language
    outcome, card = (await staff.bot_messages())[-2:]
    assert f"#{spam}" in outcome.text and translate(rules.HIDE_REASONS["conduct"], lang) in outcome.text
    assert f"#{later}" in card.text  # on to the next idea waiting
    assert (await _get(meydan, spam)).reject_reason_key == "conduct"


@pytest.mark.parametrize("lang", ["tr", "en"])
async def test_reject_with_a_typed_reason_back_and_send(meydan, sandbox, lang: str) -> None:  # noqa: ANN001
    process_id = await _process(meydan)
    author = await onboard(sandbox, name="John", lang="en", district="Bornova", neighborhood="Kazımdirik")
    idea_id = await _seed_idea(meydan, process_id, "Aya metro", author_tg=author.id, status=ideas.PENDING)
    staff = await _staff(sandbox, lang)
    await staff.press("🗂")
    await press(staff, "✖️ Reject", lang)
    menu = await staff.last_message()
    assert "Aya metro" in menu.text and DESCRIPTION in menu.text  # the reasons under the card
    assert translate("Repeats another idea", lang) in _labels(menu)
    await press(staff, "✍️ Type a reason", lang)
    confirm = await staff.say("Bu bütçenin dışında.")
    assert "Bu bütçenin dışında." in confirm.text and f"#{idea_id}" in confirm.text
    await press(staff, "« Back", lang, message=confirm)  # back to the card: nothing sent
    assert "Aya metro" in (await staff.last_message()).text
    assert (await _get(meydan, idea_id)).status == ideas.PENDING
    answer = await staff.press(translate("📨 Send", lang), message=confirm)  # the form was left
    assert answer.show_alert and answer.text == translate("This button is out of date.", lang)
    await press(staff, "✖️ Reject", lang)
    await press(staff, "✍️ Type a reason", lang)
    confirm = await staff.say("Bu, belediyenin bütçesinin dışında.")
    answer = await press(staff, "📨 Send", lang, message=confirm)
    assert answer.text == translate("Rejected.", lang)
    told = await author.last_message()
    assert "was not accepted" in told.text and "Bu, belediyenin bütçesinin dışında." in told.text
    row = await _get(meydan, idea_id)
    assert (row.status, row.reject_reason) == (ideas.REJECTED, "Bu, belediyenin bütçesinin dışında.")


async def test_the_card_shows_its_place_in_the_queue(meydan, sandbox) -> None:  # noqa: ANN001
    process_id = await _process(meydan, key="lets-design-together")
    made = [
        await _seed_idea(meydan, process_id, title, author_tg=100_000_710 + n, status=ideas.PENDING)
        for n, title in enumerate(("Bir", "İki", "Üç"))
    ]
    staff = await _staff(sandbox, "en")
    await staff.press("🗂")
    card = await staff.last_message()
    assert translate(POSITION, "en", position=1, count=3) in card.text and f"#{made[0]}" in card.text
    assert "📅 Process: Design Together" in card.text and "lets-design-together" not in card.text
    await press(staff, "⏭ Next", "en")
    assert translate(POSITION, "en", position=2, count=3) in (await staff.last_message()).text
    await press(staff, "✅ Approve", "en")
    card = await staff.last_message()
    assert f"#{made[2]}" in card.text and translate(POSITION, "en", position=2, count=2) in card.text
    # the process list shows names only, never the key
    await staff.say("/admin")
    await staff.press("Processes")
    listing = await staff.last_message()
    assert "Design Together" in listing.text and "lets-design-together" not in listing.text


@pytest.mark.parametrize("lang", ["en", "tr"])
async def test_staff_edit_the_description(meydan, sandbox, lang: str) -> None:  # noqa: ANN001
    process_id = await _process(meydan)
    idea_id = await _seed_idea(meydan, process_id, "Parka bank", author_tg=100_000_720, status=ideas.PENDING)
    staff = await _staff(sandbox, lang)
    await staff.press("🗂")
    await press(staff, "📄 Edit description", lang)
    assert DESCRIPTION in (await staff.last_message()).text  # the text as it is now, to copy
    assert (
        translate(
            "The description is too short: please use at least {min} characters.",
            lang,
            min=ideas.DESCRIPTION_MIN,
        )
        in (await staff.say("kısa")).text
    )
    await staff.say("Çocuk parkına gölgeli iki bank konulsun.")
    card = await staff.last_message()
    assert "Çocuk parkına gölgeli iki bank konulsun." in card.text and DESCRIPTION not in card.text
    assert translate("📄 Description changed.", lang) in (await staff.bot_messages())[-2].text
    async with meydan.sessions() as session:
        entry = await session.scalar(select(AuditEntry).where(AuditEntry.action == "idea.edit_description"))
        assert entry.object_id == idea_id and entry.details["before"] == DESCRIPTION


async def test_a_pending_duplicate_merges_into_a_pending_idea(meydan, sandbox) -> None:  # noqa: ANN001
    process_id = await _process(meydan)
    author = await onboard(sandbox, name="Ayşe", lang="tr")
    first = await _seed_idea(
        meydan, process_id, "Sahile gölgelik", author_tg=100_000_730, status=ideas.PENDING
    )
    dup = await _seed_idea(meydan, process_id, "Sahil gölgeliği", author_tg=author.id, status=ideas.PENDING)
    gone = await _seed_idea(meydan, process_id, "Sahile gölge", author_tg=100_000_731, status=ideas.REJECTED)
    hidden = await _seed_idea(
        meydan, process_id, "Gölgelik sahil", author_tg=100_000_732, status=ideas.HIDDEN
    )
    staff = await _staff(sandbox, "tr")
    await staff.press("🗂")
    await press(staff, "⏭ Next", "tr")
    await press(staff, "🔀 Merge into…", "tr")
    targets = _labels(await staff.last_message())
    assert targets[0].startswith(f"⏳ #{first}")  # waiting, and the most alike first
    assert not any(f"#{n} " in label for label in targets for n in (gone, hidden, dup))
    await staff.press(f"#{first}")
    confirm = await staff.last_message()
    assert translate("⏳ #{target} is still waiting for review.", "tr", target=first) in confirm.text
    answer = await press(staff, "🔀 Yes, merge", "tr")
    assert answer.text == translate("Merged.", "tr")
    told = await author.last_message()
    assert "birleştirildi" in told.text and f"#{first}" in told.text
    assert len(told.buttons) == 1  # a button to her idea, none to one residents cannot read yet
    assert (await _get(meydan, dup)).status == ideas.MERGED
    async with meydan.sessions() as session:
        supporters = list(
            await session.scalars(select(IdeaSupport.resident_id).where(IdeaSupport.idea_id == first))
        )
        assert supporters == [(await residents.by_telegram_id(session, author.id)).id]
    # a typed number of a rejected idea is refused, and the form stays
    await staff.say("/admin")
    await staff.press("🗂")
    await press(staff, "🔀 Merge into…", "tr")
    wrong = translate("Choose another published or waiting idea of the same process.", "tr")
    assert wrong in (await staff.say(f"#{gone}")).text
    assert wrong in (await staff.say(f"#{first}")).text  # nor into itself


async def test_stale_presses_refresh_the_card_and_strangers_are_refused(meydan, sandbox) -> None:  # noqa: ANN001
    process_id = await _process(meydan)
    idea_id = await _seed_idea(meydan, process_id, "Tek karar", author_tg=100_000_740, status=ideas.PENDING)
    first = await _staff(sandbox, "en")
    second = await _staff(sandbox, "tr", SECOND_STAFF_ID, "Murat")
    async with meydan.sessions.begin() as session:
        await roles.grant(session, await residents.by_telegram_id(session, SECOND_STAFF_ID), roles.STAFF)
    await second.say("/admin")
    await second.press("🗂")
    await press(second, "✖️ Reject", "tr")
    await press(second, "✍️ Type a reason", "tr")
    confirm = await second.say("Bütçenin dışında kalıyor.")
    await first.press("🗂")
    await press(first, "✅ Approve", "en")
    late = await second.press(translate("📨 Send", "tr"), message=confirm)
    assert late.show_alert and "Geç kaldınız" in late.text
    refreshed = await second.last_message()
    assert "Durum: yayımlandı" in refreshed.text and "Reddet" not in " ".join(_labels(refreshed))
    row = await _get(meydan, idea_id)
    assert (row.status, row.reject_reason) == (ideas.APPROVED, None)
    stranger = await onboard(sandbox, name="Ali", lang="tr", person_id=100_000_741)
    menu = await stranger.last_message()
    for action in (
        ModAction.HIDE_CONFIRM,
        ModAction.UNHIDE,
        ModAction.EDIT_DESCRIPTION,
        ModAction.HIDE_REASON,
    ):
        answer = await stranger.press_data(
            menu.message_id, ModCb(action=action, id=idea_id, value="spam").pack()
        )
        assert answer.show_alert and "yalnızca belediye ekibi" in answer.text
    assert (await _get(meydan, idea_id)).status == ideas.APPROVED


def test_every_common_reason_has_a_button_label() -> None:
    from bot.ui.ideas.moderation import HIDE_LABELS, REJECT_LABELS

    assert (
        REJECT_LABELS.keys() == rules.REJECT_REASONS.keys()
        and HIDE_LABELS.keys() == rules.HIDE_REASONS.keys()
    )


@pytest.mark.parametrize("lang", ["en", "tr"])
async def test_a_reason_typed_for_an_idea_decided_meanwhile_closes_the_form(meydan, sandbox, lang) -> None:  # noqa: ANN001
    """Another staff member approves the idea while this one types a reason: the reason is refused with
    why, and the form is closed for good (on SQLite too, where the form's state lives in the update's
    transaction), so the next message is not taken as a reason."""
    process_id = await _process(meydan)
    idea_id = await _seed_idea(meydan, process_id, "Aya metro", author_tg=100_000_711, status=ideas.PENDING)
    staff = await _staff(sandbox, lang)
    await staff.press("🗂")
    await press(staff, "✖️ Reject", lang)
    await press(staff, "✍️ Type a reason", lang)
    async with meydan.sessions.begin() as session:  # another staff member decides meanwhile
        await ideas.approve(session, idea_id, (await residents.by_telegram_id(session, STAFF_ID)).id)
    answer = await staff.say("Bu bütçenin dışında.")
    assert "#" not in answer.text or "Bu bütçenin dışında." not in answer.text  # no confirmation offered
    assert (await _get(meydan, idea_id)).status == ideas.APPROVED
    from aiogram.fsm.storage.base import StorageKey

    key = StorageKey(bot_id=meydan.bot.id, chat_id=staff.id, user_id=staff.id)
    assert await meydan.storage.get_state(key) is None  # the closing was kept, not rolled back
    again = await staff.say("Bir gerekçe daha.")
    assert "Bir gerekçe daha." not in again.text  # not taken as a reason: the form is gone
