"""Implementation updates through the sandbox, in Turkish and English: staff post an update on a
selected project from its staff screen (stage, text in each language, optional photo, preview, send);
a voter and the idea's author receive it in their languages with a button to the project's results
page (which shows it), a resident who voted for other projects and a voter who turned the
implementation notices off do not; audited once. A resident's forged staff buttons and an update on a
project the results did not select are refused.

The new sentences are not in the catalogs yet: texts are looked up with `translate(msgid, lang)`, the
words people read today and after the catalogs are filled."""

from __future__ import annotations

import pytest
from sqlalchemy import select, update

from bot.app import Meydan
from bot.i18n import translate
from bot.services import budgets, ideas, residents
from bot.services.budgets import implementation
from bot.services.errors import NotAllowed
from bot.ui.budgets.staff import StaffAction, StaffCb
from bot.ui.forms import FormCb
from storage.models import AuditEntry, BudgetProject, BudgetProjectUpdate
from tests.budget_fixtures import Seeded, seed
from tests.conftest import STAFF_ID
from tests.flows import onboard
from tests.results_fixtures import close_voting
from tests.test_ideas_flow import _seed_idea

OTHER = {"tr": "en", "en": "tr"}
TEXTS = {
    "tr": "Gece otobüsleri için ihale yapıldı, ilk hat martta başlıyor.",
    "en": "The night bus tender is done; the first line starts in March.",
}


async def _vote(meydan: Meydan, seeded: Seeded, person, codes: tuple[str, ...]) -> None:  # noqa: ANN001
    async with meydan.sessions.begin() as session:
        me = await residents.by_telegram_id(session, person.id)
        await budgets.confirm(session, me, seeded.city, [seeded.projects[c] for c in codes])


async def _setting_up(meydan: Meydan, sandbox, lang: str):  # noqa: ANN001, ANN202
    """The city pot voted on (Night buses "6" and Library garden "3" win; Shade over the bazaar "1"
    does not fit after them), voting closed; Night buses comes from the author's idea."""
    async with meydan.sessions.begin() as session:
        seeded = await seed(session)
    other = OTHER[lang]
    voter = await onboard(sandbox, name="Deniz", lang=lang)
    quiet = await onboard(sandbox, name="Ece", lang=other, district="Karşıyaka", neighborhood="Bostanlı")
    stranger = await onboard(sandbox, name="Fatma", lang=lang, district="Karşıyaka", neighborhood="Bostanlı")
    author = await onboard(sandbox, name="Gül", lang=other)
    for person, codes in ((voter, ("6", "3")), (quiet, ("6", "3")), (stranger, ("1", "2"))):
        await _vote(meydan, seeded, person, codes)
    idea_id = await _seed_idea(
        meydan, seeded.process_id, "Gece otobüsü", author_tg=author.id, status=ideas.PROJECT
    )
    async with meydan.sessions.begin() as session:
        await session.execute(
            update(BudgetProject).where(BudgetProject.id == seeded.projects["6"]).values(idea_id=idea_id)
        )
        quiet_row = await residents.by_telegram_id(session, quiet.id)
        await residents.set_notification(session, quiet_row.id, implementation.CATEGORY, False)
        await close_voting(session, seeded.process_id)
    return seeded, voter, quiet, stranger, author


async def _staff_at_project(sandbox, lang: str, title: str):  # noqa: ANN001, ANN202
    staff = await onboard(sandbox, name="Selin", lang=lang, person_id=STAFF_ID)
    await staff.say("/admin")
    await staff.press(translate("💰 Budgets", lang))
    await staff.press("📅 " + ("Katılımcı Bütçe" if lang == "tr" else "Participatory Budget"))
    await staff.press("Şehir bütçesi" if lang == "tr" else "City budget")
    await staff.press(title if lang == "en" else f"{title} (tr)")
    return staff


def _notice(lang: str, stage: str) -> str:
    title = "Night buses (tr)" if lang == "tr" else "Night buses"
    return translate(
        implementation.UPDATE_NOTICE, lang, title=title, stage=translate(stage, lang), text=TEXTS[lang]
    )


@pytest.mark.parametrize("lang", ["tr", "en"])
async def test_an_update_reaches_the_voters_and_the_author_in_their_language(
    meydan: Meydan,
    sandbox,
    lang: str,  # noqa: ANN001
) -> None:
    seeded, voter, quiet, stranger, author = await _setting_up(meydan, sandbox, lang)
    before = {p.id: len(await p.chat()) for p in (quiet, stranger)}
    staff = await _staff_at_project(sandbox, lang, "Night buses")
    screen = await staff.last_message()
    assert translate("🏆 Selected in the results. Updates posted: {count}", lang, count=0) in screen.text
    await staff.press(translate("📣 Post an update", lang))
    stage = implementation.STAGES[implementation.TENDER if lang == "tr" else implementation.STARTED]
    await staff.press(translate(stage, lang))
    refused = await staff.say("ok")
    assert refused.text == translate("Please type a text of {min} to {max} characters.", lang, min=3, max=600)
    await staff.say(TEXTS["tr"])
    await staff.say(TEXTS["en"])
    if lang == "tr":
        preview = await staff.send_photo()
        assert preview.photo is not None
    else:
        await staff.press(translate("Skip ⏭", lang))
        preview = await staff.last_message()
    assert TEXTS["tr"] in preview.body and TEXTS["en"] in preview.body  # both languages
    assert translate(stage, "tr") in preview.body and translate(stage, "en") in preview.body
    assert "2" in preview.body  # the voter and the author; the opted-out voter is not counted
    async with meydan.sessions() as session:
        assert await session.scalar(select(BudgetProjectUpdate.id)) is None  # nothing before Send
    await staff.press(translate("📨 Send", lang))
    assert (
        translate("📣 The update is posted and sent to {count} people.", lang, count=2)
        in (await staff.last_message()).body
    )
    told = await voter.last_message()
    assert told.body == _notice(lang, stage) and (told.photo is not None) == (lang == "tr")
    told_author = await author.last_message()
    assert told_author.body == _notice(OTHER[lang], stage)
    for person in (quiet, stranger):  # opted out; voted for other projects
        assert len(await person.chat()) == before[person.id]
    async with meydan.sessions() as session:
        actions = list(await session.scalars(select(AuditEntry.action)))
        stored = await session.scalar(select(BudgetProjectUpdate))
    assert actions.count("budget.project.update") == 1
    assert (stored.project_id, stored.texts, stored.author_id is not None) == (
        seeded.projects["6"],
        TEXTS,
        True,
    )
    await voter.press(translate(implementation.OPEN_PROJECT, lang), told)  # the notice's button
    page = await voter.last_message()
    assert translate("🏗 <b>Implementation</b>", lang).replace("<b>", "").replace("</b>", "") in page.text
    assert TEXTS[lang] in page.text and translate(stage, lang) in page.text
    assert page.message_id != told.message_id  # the notice stays


@pytest.mark.parametrize("lang", ["en", "tr"])
async def test_forged_presses_and_a_project_not_selected_are_refused(
    meydan: Meydan,
    sandbox,
    lang: str,  # noqa: ANN001
) -> None:
    seeded, voter, *_rest = await _setting_up(meydan, sandbox, lang)
    message = await voter.last_message()
    only_staff = translate("This is for the municipality's staff only.", lang)
    for data in (
        StaffCb(action=StaffAction.UPDATE, id=seeded.projects["6"]).pack(),
        FormCb(form="pjup", step="_preview", action="send").pack(),
    ):
        answer = await voter.press_data(message.message_id, data)
        assert answer.show_alert and answer.text == only_staff, data
    staff = await _staff_at_project(sandbox, lang, "Shade over the bazaar")  # not selected
    screen = await staff.last_message()
    labels = [label for row in screen.buttons for label in row]
    assert translate("📣 Post an update", lang) not in labels
    forged = StaffCb(action=StaffAction.UPDATE, id=seeded.projects["1"]).pack()
    answer = await staff.press_data(screen.message_id, forged)
    assert answer.show_alert and answer.text == translate(
        "Updates can be posted only on a project selected in the published results.", lang
    )
    async with meydan.sessions() as session:
        assert await session.scalar(select(BudgetProjectUpdate.id)) is None
        assert "budget.project.update" not in list(await session.scalars(select(AuditEntry.action)))


async def test_the_service_refuses_residents_and_projects_not_selected(meydan: Meydan) -> None:
    async with meydan.sessions.begin() as session:
        seeded = await seed(session)
    async with meydan.sessions.begin() as session:
        staff = (await residents.get_or_create(session, STAFF_ID, staff_ids=frozenset({STAFF_ID}))).resident
        # voting still open: no results yet, so nothing is selected
        with pytest.raises(implementation.NotSelected):
            await implementation.post(session, seeded.projects["6"], staff.id, implementation.DONE, TEXTS)
        nobody = (await residents.get_or_create(session, 4242)).resident
        with pytest.raises(NotAllowed):
            await implementation.post(session, seeded.projects["6"], nobody.id, implementation.DONE, TEXTS)
